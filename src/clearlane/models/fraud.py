"""The fraud model: LightGBM on leakage-safe features, calibrated, with revenue at stake.

Training uses the inspected declarations (``inspected`` true, ``fraud`` known). Hyper-parameters
are chosen on a **time-ordered** validation window (the latest ``validation_fraction`` of the
labelled rows by date), and the final model is refitted on all labelled rows with the chosen
number of trees scaled to the larger data. The probability is the refitted model's own
(binary log-loss) probability. Only when the chosen candidate weights the classes, whose
odds are then distorted by design, is it mapped back with Platt scaling (a logistic curve on
the log-odds, strictly increasing, so rankings are unchanged) fitted on the window. A curve
learned on the window's model does not otherwise transfer to the refitted one: on KCS it
made the refitted model under-confident (docs/risk-scoring.md).

Expected revenue at stake = calibrated fraud probability × predicted revenue if fraudulent.
The revenue regressor learns ``log1p(revenue_recovered)`` on frauds when at least
``min_revenue_rows`` frauds carry a revenue; otherwise the documented proxy *duty at stake* =
``customs_value × tax_rate / 100`` is used (``revenue_basis_`` says which).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.evaluate.calibration import reliability
from clearlane.evaluate.metrics import auc_score, targeting_metrics
from clearlane.features.batch import BatchFeatures
from clearlane.features.pipeline import FeaturePipeline, FittedFeatures
from clearlane.models.attribution import LeafTables, TablesTooLargeError
from clearlane.models.reasons import reasons_from_contributions
from clearlane.schema.reasons import Reason

if TYPE_CHECKING:
    from clearlane.artifacts.native import CompiledCache

Progress = Callable[[float, float | None], None]

_TABLE_BLOCK = 4_096
"""Rows per block when a batch is explained from the per-leaf tables on several threads."""

DEFAULT_GRID: tuple[dict[str, Any], ...] = (
    {"num_leaves": 31, "max_depth": 8, "min_child_samples": 20, "balanced": False,
     "learning_rate": 0.08},
    {"num_leaves": 63, "max_depth": 10, "min_child_samples": 20, "balanced": False},
    {"num_leaves": 15, "max_depth": 6, "min_child_samples": 50, "balanced": False},
    {"num_leaves": 31, "max_depth": 8, "min_child_samples": 20, "balanced": True},
)
"""Candidate hyper-parameters; ``balanced`` weights classes inversely to their frequency and
a candidate's ``learning_rate`` overrides :class:`FraudModel`'s. The first candidate (the one
``train --no-search`` uses) learns faster and so needs fewer trees, which keeps batch scoring
fast; the search keeps whichever candidate is best on the validation window."""


class FraudModel:
    """Calibrated fraud probability and expected revenue at stake (higher = riskier).

    Parameters
    ----------
    grid:
        Candidate LightGBM settings tried on the validation window (``None`` = :data:`DEFAULT_GRID`).
    learning_rate, max_rounds, early_stopping_rounds:
        Boosting schedule; the number of trees is chosen by early stopping on the window.
    validation_fraction:
        Share of the labelled rows (the latest by date) used to choose the setting (and to
        map back the probability of a class-weighted one).
    select_metric:
        ``"auc"`` or ``"precision@5"`` — what the validation window maximises.
    random_state, n_jobs:
        Seed of bagging and column sampling; threads for LightGBM.
    feature_params:
        Keyword arguments of :class:`~clearlane.features.pipeline.FeaturePipeline`.
    """

    def __init__(
        self,
        grid: Sequence[Mapping[str, Any]] | None = None,
        learning_rate: float = 0.03,
        max_rounds: int = 1500,
        early_stopping_rounds: int = 100,
        validation_fraction: float = 0.2,
        select_metric: str = "auc",
        random_state: int = 0,
        n_jobs: int = 2,
        feature_params: Mapping[str, Any] | None = None,
        min_revenue_rows: int = 30,
    ) -> None:
        self.grid = grid
        self.learning_rate = learning_rate
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.select_metric = select_metric
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.feature_params = feature_params
        self.min_revenue_rows = min_revenue_rows

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, declarations: pl.DataFrame, progress: Progress | None = None, *,
            features: FittedFeatures | None = None) -> FraudModel:
        """Fit features on all rows and the model on the inspected ones (labels: ``fraud``).

        ``features``: a pipeline already fitted on ``declarations`` with this model's
        ``feature_params`` and its features of them (shared with the anomaly detector, so the
        history is aggregated and the matrix materialised once); the result is the same as
        fitting them here.
        """
        if "fraud" not in declarations.columns:
            raise ValidationError("training needs the outcome column 'fraud'; none was given")
        params = dict(self.feature_params or {})
        if features is not None:
            features.check(declarations, params)
        shared = features if features is not None else FittedFeatures.fit(declarations, **params)
        frame = shared.frame
        mask = labelled_mask(declarations)
        X = frame.filter(pl.Series(mask)).to_numpy()
        y = declarations["fraud"].cast(pl.Boolean).fill_null(False).to_numpy()[mask]
        days = declarations["declared_at"].cast(pl.Date).to_numpy()[mask]
        revenue = (declarations["revenue_recovered"].cast(pl.Float64).to_numpy()[mask]
                   if "revenue_recovered" in declarations.columns else None)
        return self.fit_labelled(shared.pipeline, X, y, days, revenue, progress)

    def fit_labelled(self, pipeline: FeaturePipeline, X: np.ndarray, y: np.ndarray,
                     days: np.ndarray, revenue: np.ndarray | None,
                     progress: Progress | None = None) -> FraudModel:
        """Fit the trees, calibration and revenue model on the labelled rows only: ``X`` their
        features from the fitted ``pipeline`` (in-sample, rows × its features), ``y`` their
        outcome (fraud found), ``days`` their declaration dates and ``revenue`` the revenue
        recovered (national currency; ``None`` when the data has no such column).

        :meth:`fit` calls it with the rows of :func:`labelled_mask`; training out of core
        (:mod:`clearlane.scale.fitting`) calls it with the same rows gathered month by month.
        The model is the same either way.
        """
        report = progress or (lambda done, total: None)
        y = np.asarray(y, dtype=bool)
        if len(y) < 50 or y.sum() < 5 or (~y).sum() < 5:
            raise ValidationError(
                f"training needs at least 50 inspected declarations with 5 frauds and 5 non-frauds; "
                f"got {len(y)} inspected, {int(y.sum())} frauds"
            )
        self.pipeline_ = pipeline
        frauds = y.copy()
        y = y.astype(int)
        self.feature_names_ = list(self.pipeline_.feature_names_)
        cats = [self.feature_names_.index(c) for c in self.pipeline_.categorical_features_]
        self.categorical_indices_ = cats
        fit_idx, val_idx = time_split(days, self.validation_fraction)
        grid = list(self.grid or DEFAULT_GRID)
        trials: list[dict[str, Any]] = []
        best: tuple[float, int, Mapping[str, Any], int, tuple[float, float]] | None = None
        for i, candidate in enumerate(grid):
            params = self._params(candidate, y[fit_idx])
            train_set = lgb.Dataset(X[fit_idx], y[fit_idx], categorical_feature=cats,
                                    free_raw_data=False)
            valid_set = lgb.Dataset(X[val_idx], y[val_idx], categorical_feature=cats,
                                    reference=train_set)
            booster = lgb.train(
                params, train_set, num_boost_round=self.max_rounds, valid_sets=[valid_set],
                callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
            )
            rounds = max(1, booster.best_iteration or self.max_rounds)
            raw = np.asarray(booster.predict(X[val_idx], raw_score=True, num_iteration=rounds))
            metrics = targeting_metrics(y[val_idx], raw, ks=(5.0, 10.0))
            value = (metrics.auc or 0.0) if self.select_metric == "auc" else metrics.precision[5.0]
            curve = _platt(raw, y[val_idx]) if candidate.get("balanced") else (1.0, 0.0)
            stated = _logistic(raw, curve)
            trials.append({**candidate, "rounds": rounds, "val_auc": metrics.auc,
                           "val_precision@5%": metrics.precision[5.0],
                           "val_precision@10%": metrics.precision[10.0],
                           "val_ece": reliability(stated, y[val_idx]).ece})
            if best is None or value > best[0]:
                best = (value, i, candidate, rounds, curve)
            report(i + 1, len(grid) + 2)
        assert best is not None
        _, best_i, best_candidate, rounds, self.calibration_ = best
        self.trials_ = trials
        self.best_params_ = dict(best_candidate)
        self.n_rounds_ = max(1, round(rounds * len(y) / max(1, len(fit_idx))))
        self.validation_metrics_ = {
            k: v for k, v in trials[best_i].items() if k.startswith("val_")
        }
        self.validation_window_ = (str(days[val_idx].min()), str(days[val_idx].max()))
        params = self._params(best_candidate, y)
        self.__dict__.pop("_leaf_tables", None)  # built from the trees this replaces
        self.booster_ = lgb.train(
            params, lgb.Dataset(X, y, categorical_feature=cats), num_boost_round=self.n_rounds_
        )
        report(len(grid) + 1, len(grid) + 2)
        self._fit_revenue(X, frauds, revenue)
        report(len(grid) + 2, len(grid) + 2)
        self.base_rate_ = float(y.mean())
        self.training_window_ = (str(days.min()), str(days.max()))
        self.n_train_ = len(y)
        return self

    def _params(self, candidate: Mapping[str, Any], y: np.ndarray) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "feature_fraction": 0.7,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": self.random_state,
            "deterministic": True,
            "num_threads": self.n_jobs,
            "verbose": -1,
        }
        for key, value in candidate.items():
            if key != "balanced":
                params[key] = value
        if candidate.get("balanced"):
            positives = max(1, int(y.sum()))
            params["scale_pos_weight"] = (len(y) - positives) / positives
        return params

    def _fit_revenue(self, X: np.ndarray, frauds: np.ndarray,
                     revenue: np.ndarray | None) -> None:
        self.revenue_booster_: lgb.Booster | None = None
        self.revenue_basis_ = "proxy:duty_at_stake"
        if revenue is None:
            return
        rows = frauds & np.isfinite(revenue) & (np.nan_to_num(revenue) > 0)
        if rows.sum() < self.min_revenue_rows:
            return
        target = np.log1p(revenue[rows])
        params = {"objective": "regression", "learning_rate": 0.1, "num_leaves": 15,
                  "min_data_in_leaf": 10, "seed": self.random_state, "deterministic": True,
                  "num_threads": self.n_jobs, "verbose": -1}
        self.revenue_booster_ = lgb.train(
            params, lgb.Dataset(X[rows], target, categorical_feature=self.categorical_indices_),
            num_boost_round=100,
        )
        self.revenue_basis_ = "model:revenue_recovered"

    # -- scoring ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise ValidationError("FraudModel is not fitted; call fit() first")

    def features(self, declarations: pl.DataFrame) -> pl.DataFrame:
        """Feature matrix of ``declarations`` (history as of the fitted training data)."""
        self._check_fitted()
        return self.pipeline_.transform(declarations)

    def compile(self, cache_dir: Path, cache: CompiledCache | None = None) -> bool:
        """Compile the trees to native code (``lleaves``, extra ``fast``) for batch scoring.

        The compiled library gives the same raw scores as LightGBM (to ~1e-12) several times
        faster. It is cached in ``cache_dir`` under the SHA-256 of the trees, and a cached file
        is loaded only when its SHA-256 matches the one the workspace database recorded when it
        was compiled (``cache``; a model loaded from the registry carries its workspace's), so
        a file planted in the folder is never run (:mod:`clearlane.artifacts.native`). Without
        a record the trees are compiled afresh. Returns false (and keeps LightGBM) when lleaves
        is missing.
        """
        self._check_fitted()
        try:
            import lleaves  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: F401
        except ImportError:
            return False
        from clearlane.artifacts.native import compile_forest

        ledger = cache if cache is not None else getattr(self, "_compiled_cache", None)
        self._compiled = compile_forest(self.booster_.model_to_string(), cache_dir, ledger)
        if self.revenue_booster_ is not None:
            self._compiled_revenue = compile_forest(
                self.revenue_booster_.model_to_string(), cache_dir, ledger)
        return True

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_compiled", None)  # native code stays in its cache, never in the artifact
        state.pop("_compiled_revenue", None)
        state.pop("_compiled_cache", None)  # the workspace it was loaded from
        state.pop("_leaf_tables", None)  # rebuilt from the trees on first use
        return state

    @property
    def compiled(self) -> bool:
        """Whether batch scores come from the compiled trees (see :meth:`compile`)."""
        return getattr(self, "_compiled", None) is not None

    def raw_score(self, features: pl.DataFrame | np.ndarray) -> np.ndarray:
        """Uncalibrated log-odds (higher = riskier)."""
        matrix = features.to_numpy() if isinstance(features, pl.DataFrame) else features
        compiled = getattr(self, "_compiled", None)
        if compiled is not None and len(matrix) > 1:
            return np.asarray(compiled.predict(np.ascontiguousarray(matrix, dtype=np.float64),
                                               n_jobs=self.n_jobs))
        return np.asarray(self.booster_.predict(matrix, raw_score=True,
                                                num_threads=self.n_jobs))

    def predict_proba(self, declarations: pl.DataFrame) -> np.ndarray:
        """Calibrated fraud probability per row, in [0, 1] (higher = riskier)."""
        self._check_fitted()
        return self.calibrate(self.raw_score(self.pipeline_.transform_matrix(declarations)))

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        return _logistic(raw, self.calibration_)

    def revenue_if_fraud(self, declarations: pl.DataFrame,
                         features: pl.DataFrame | np.ndarray) -> np.ndarray:
        """Predicted revenue recovered if the declaration is fraudulent (national currency)."""
        if self.revenue_booster_ is not None:
            matrix = features.to_numpy() if isinstance(features, pl.DataFrame) else features
            compiled = getattr(self, "_compiled_revenue", None)
            if compiled is not None and len(matrix) > 1:
                pred = compiled.predict(np.ascontiguousarray(matrix, dtype=np.float64),
                                        n_jobs=self.n_jobs)
            else:
                pred = self.revenue_booster_.predict(matrix, num_threads=self.n_jobs)
            return np.expm1(np.clip(np.asarray(pred), 0, 50))
        return self._duty_at_stake(declarations)

    def _tree_scores(self, batch: BatchFeatures) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw fraud log-odds and the revenue model's prediction (log1p scale; ``None``
        without a revenue model) for every row of ``batch``.

        With compiled trees the batch is scored in blocks of rows: each block's features are
        derived, laid out row-major and sent through both forests while it is in cache; the
        blocks are spread over ``n_jobs`` threads (the compiled code releases the GIL).
        """
        compiled = getattr(self, "_compiled", None)
        compiled_revenue = getattr(self, "_compiled_revenue", None)
        has_revenue = self.revenue_booster_ is not None
        if compiled is None or batch.height <= 1 or (has_revenue and compiled_revenue is None):
            matrix = batch.matrix()
            raw = self.raw_score(matrix)
            predicted = (np.asarray(self.revenue_booster_.predict(matrix,
                                                                 num_threads=self.n_jobs))
                         if self.revenue_booster_ is not None else None)
            return raw, predicted
        raw = np.empty(batch.height)
        predicted = np.empty(batch.height) if has_revenue else None
        buffers = threading.local()

        def score_block(start: int) -> None:
            rows = slice(start, min(batch.height, start + batch.block_rows))
            if not hasattr(buffers, "block"):
                buffers.block = np.empty((batch.block_rows, len(self.feature_names_)))
            block = batch.matrix(rows, buffer=buffers.block)
            raw[rows] = compiled.predict(block, n_jobs=1)
            if predicted is not None and compiled_revenue is not None:
                predicted[rows] = compiled_revenue.predict(block, n_jobs=1)

        starts = range(0, batch.height, batch.block_rows)
        if self.n_jobs > 1 and len(starts) > 1:
            with ThreadPoolExecutor(max_workers=self.n_jobs) as pool:
                list(pool.map(score_block, starts))
        else:
            for start in starts:
                score_block(start)
        return raw, predicted

    def _duty_at_stake(self, declarations: pl.DataFrame) -> np.ndarray:
        value = _column(declarations, "customs_value")
        rate = _column(declarations, "tax_rate")
        return np.nan_to_num(value * rate / 100.0, nan=0.0, posinf=0.0)

    def score(self, declarations: pl.DataFrame, reasons: int = 3,
              explain_share: float = 1.0, batch: BatchFeatures | None = None) -> pl.DataFrame:
        """Probability, expected revenue at stake and reasons per row, in input order.

        Columns: ``fraud_probability``, ``revenue_if_fraud``, ``expected_revenue``,
        ``raw_score`` and (when ``reasons`` > 0) ``reasons`` (a tuple of :class:`Reason`).
        Reasons cost far more than scores (tree SHAP), so only the riskiest ``explain_share``
        of rows get them; the others get an empty tuple. ``batch``: this model's pipeline's
        batch of ``declarations``, when the caller made it already (to share it).
        """
        self._check_fitted()
        if batch is None:
            batch = self.pipeline_.batch(declarations, n_jobs=self.n_jobs)
        raw, predicted = self._tree_scores(batch)
        p = self.calibrate(raw)
        rev = (np.expm1(np.clip(predicted, 0, 50)) if predicted is not None
               else self._duty_at_stake(declarations))
        out = pl.DataFrame({
            "fraud_probability": p,
            "revenue_if_fraud": rev,
            "expected_revenue": p * rev,
            "raw_score": raw,
        })
        if reasons > 0:
            explained: list[tuple[Reason, ...]] = [()] * declarations.height
            count = min(declarations.height, math.ceil(declarations.height * explain_share))
            if count:
                chosen = np.sort(np.argsort(-raw, kind="stable")[:count])
                rows = pl.Series(chosen)
                found = self._explain_matrix(declarations[rows], batch.matrix(chosen),
                                             top=reasons)
                for row, item in zip(chosen, found, strict=True):
                    explained[int(row)] = item
            out = out.with_columns(pl.Series("reasons", explained, dtype=pl.Object))
        return out

    def score_record(self, record: Mapping[str, Any], reasons: int = 3) -> dict[str, Any]:
        """Score one declaration (a mapping of canonical fields) in process; the API fast path."""
        self._check_fitted()
        matrix = self.pipeline_.transform_vector(record)
        raw = float(self.booster_.predict(matrix, raw_score=True, num_threads=1)[0])
        p = float(self.calibrate(np.array([raw]))[0])
        if self.revenue_booster_ is not None:
            pred = float(self.revenue_booster_.predict(matrix, num_threads=1)[0])
            rev = float(np.expm1(np.clip(pred, 0, 50)))
        else:
            value = _float(record.get("customs_value"))
            rate = _float(record.get("tax_rate"))
            duty = value * rate / 100.0
            rev = duty if math.isfinite(duty) else 0.0
        out: dict[str, Any] = {"fraud_probability": p, "revenue_if_fraud": rev,
                               "expected_revenue": p * rev, "raw_score": raw}
        if reasons > 0:
            frame = pl.DataFrame([dict(record)])
            # one thread: for one row, waking LightGBM's thread pool costs more than the work
            out["reasons"] = self._explain_matrix(frame, matrix, top=reasons, n_jobs=1)[0]
        return out

    def explain(self, declarations: pl.DataFrame, features: pl.DataFrame | None = None,
                top: int = 3) -> list[tuple[Reason, ...]]:
        """Top positive contributions (log-odds, exact TreeSHAP) per row."""
        self._check_fitted()
        matrix = (self.pipeline_.transform_matrix(declarations) if features is None
                  else features.to_numpy())
        return self._explain_matrix(declarations, matrix, top=top)

    def _explain_matrix(self, declarations: pl.DataFrame, matrix: np.ndarray,
                        top: int, n_jobs: int | None = None) -> list[tuple[Reason, ...]]:
        contrib = self._contributions(matrix, n_jobs)
        feature_rows = [dict(zip(self.feature_names_, row, strict=True))
                        for row in matrix.tolist()]
        return reasons_from_contributions(
            contrib, self.feature_names_, feature_rows,
            _reason_rows(declarations, self.pipeline_.extra_columns_), top=top,
            window_days=getattr(self.pipeline_, "window_days", None),
        )

    def _contributions(self, matrix: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
        """Exact TreeSHAP contributions (rows × features, log-odds), from the per-leaf tables
        (:mod:`clearlane.models.attribution`, built on first use; a batch in blocks of rows
        spread over ``n_jobs`` threads, numpy releasing the GIL), or from LightGBM's
        ``pred_contrib`` on its threads for a model whose tables would be too large. Both give
        the same values to rounding; the tables are the faster of the two (before and after
        in docs/scale.md)."""
        threads = self.n_jobs if n_jobs is None else n_jobs
        tables = self._tables()
        if tables is None:
            contrib = np.asarray(self.booster_.predict(matrix, pred_contrib=True,
                                                       num_threads=threads))
            return contrib[:, :-1]
        if threads <= 1 or len(matrix) <= _TABLE_BLOCK:
            return tables.contributions(matrix)
        blocks = [matrix[i:i + _TABLE_BLOCK] for i in range(0, len(matrix), _TABLE_BLOCK)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return np.concatenate(list(pool.map(tables.contributions, blocks)))

    def _tables(self) -> LeafTables | None:
        """The per-leaf tables of the current trees, built on first use; None when they would
        be too large (a large searched model), which is remembered."""
        tables: LeafTables | bool | None = self.__dict__.get("_leaf_tables")
        if tables is None:
            try:
                tables = LeafTables(self.booster_.dump_model())
            except TablesTooLargeError:
                tables = False
            self._leaf_tables = tables
        return tables if isinstance(tables, LeafTables) else None

    def feature_importance(self) -> dict[str, float]:
        """Total gain per feature of the final model."""
        gains = self.booster_.feature_importance("gain")
        return {n: float(g) for n, g in zip(self.feature_names_, gains, strict=True)}


def time_split(days: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices before / from the cut date so that about ``fraction`` of rows are validation.

    The cut falls on a day boundary: one day is never split between the two parts.
    """
    if not 0 < fraction < 1:
        raise ValidationError(f"validation_fraction must be in (0, 1); got {fraction}")
    order = np.argsort(days, kind="stable")
    cut_day = days[order[min(len(days) - 1, int(len(days) * (1 - fraction)))]]
    val = days >= cut_day
    if val.all() or not val.any():
        raise ValidationError(
            "the labelled data spans too few dates for a time-ordered validation window; "
            "need labelled declarations on at least two dates"
        )
    return np.flatnonzero(~val), np.flatnonzero(val)


def _logistic(raw: np.ndarray, curve: tuple[float, float]) -> np.ndarray:
    """``1 / (1 + exp(-(a·raw + b)))`` for ``curve = (a, b)``."""
    a, b = curve
    return 1.0 / (1.0 + np.exp(-(a * np.asarray(raw) + b)))


def _platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Logistic calibration ``p = 1 / (1 + exp(-(a·raw + b)))`` fitted by Newton steps."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(raw).reshape(-1, 1), y)
    a = float(model.coef_[0, 0])
    b = float(model.intercept_[0])
    if not math.isfinite(a) or a <= 0:
        # A calibration that would reverse the ranking is never used.
        return 1.0, 0.0
    return a, b


def labelled_mask(declarations: pl.DataFrame) -> np.ndarray:
    """The rows the fraud model learns from: inspected (when the data says so) with a known
    outcome (``fraud`` not null)."""
    known = ~declarations["fraud"].is_null().to_numpy()
    if "inspected" in declarations.columns:
        return declarations["inspected"].cast(pl.Boolean).fill_null(False).to_numpy() & known
    return known


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _column(declarations: pl.DataFrame, name: str) -> np.ndarray:
    if name not in declarations.columns:
        return np.full(declarations.height, np.nan)
    return declarations[name].cast(pl.Float64, strict=False).to_numpy().astype(float)


def _reason_rows(declarations: pl.DataFrame, extras: Sequence[str]) -> list[dict[str, Any]]:
    import json

    columns = [c for c in ("importer_id", "declarant_id", "exporter_id", "hs_code",
                           "origin_country", "office_id", "departure_country", "transport_mode",
                           "currency", "extra") if c in declarations.columns]
    rows = declarations.select(columns).to_dicts()
    for row in rows:
        text = row.pop("extra", None)
        values: dict[str, Any] = {}
        if text:
            try:
                parsed = json.loads(text)
                if isinstance(parsed, dict):
                    values = {
                        "".join(ch if ch.isalnum() else "_" for ch in k.lower()): v
                        for k, v in parsed.items() if k in extras
                    }
            except ValueError:
                values = {}
        row["_extra_values"] = values
    return rows


__all__ = ["DEFAULT_GRID", "FraudModel", "auc_score", "time_split"]
