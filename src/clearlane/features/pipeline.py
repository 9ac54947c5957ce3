"""Leakage-safe history features: one fitted pipeline for training, batch and single scoring.

Time semantics (the contract every feature obeys):

* A declaration dated ``d`` sees only declarations dated **strictly before** ``d``; declarations
  on the same day never see each other (neither their counts nor their outcomes).
* Counts and outcomes of each history group cover a **rolling window**: the ``window_days``
  days before ``d`` (days ``d − window_days`` … ``d − 1``; default 365, "the past year").
  ``window_days=None`` makes them cumulative since the start of the fitted history. The unit
  value and tax references and the importer's first declaration use all earlier history.
* Outcome labels (``inspected``, ``fraud``, ``revenue_recovered``) come only from the history
  the pipeline was fitted on. Rows passed to :meth:`FeaturePipeline.transform` never reveal
  their own labels: for rows dated after the fitted history, only their *counts* and values
  (declarations on earlier dates of the same batch) are added, which is what a customs office
  knows at the time a declaration is lodged.
* Rows of a batch dated on or before the end of the fitted history add nothing: the history
  already holds that period.

So ``fit(train).transform(train)`` gives the in-sample features used for training, and
``fit(train).transform(test)`` the honest features for a later period. Units: values in
national currency, masses in kg; ``log_*`` features are natural logarithms.

Speed: :meth:`~FeaturePipeline.fit` pre-aggregates the history of every group into per-key
cumulative state. A batch dated after the history (the usual scoring case) then needs one
as-of join per group plus window functions over the batch itself; a single declaration needs
one code look-up per key column and binary searches in the same integer-keyed history
(:meth:`~FeaturePipeline.transform_vector`), built on the first call that needs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.features.batch import BatchFeatures
from clearlane.features.catalog import (
    GROUPS_BY_NAME,
    HISTORY_GROUPS,
    HISTORY_SUFFIXES,
    VALUE_FEATURES,
    HistoryGroup,
    category_feature_name,
)
from clearlane.features.derive import NUMERIC_INPUTS, FeatureDerivation
from clearlane.features.history import (
    ALL_GROUP,
    SUMS,
    asof_sums,
    cumulative_state,
    daily_sums,
    extend_state,
    unsort,
)
from clearlane.features.keyed import KeyedHistory, build_keyed_history
from clearlane.features.prepare import EPOCH, extra_keys, prepare, prepare_record

CATEGORY_COLUMNS: tuple[str, ...] = (
    "office_id",
    "origin_country",
    "departure_country",
    "transport_mode",
    "currency",
)
"""Canonical low-cardinality columns used directly as categoricals."""


class FeaturePipeline:
    """History, value and category features for declarations (an estimator in the sklearn sense).

    Parameters
    ----------
    groups:
        Names of the history groups (see :data:`clearlane.features.catalog.HISTORY_GROUPS`);
        ``None`` = all.
    prior_strength:
        Pseudo-count ``m`` of the smoothed fraud rate
        ``(frauds + m · p₀) / (inspections + m)`` where ``p₀`` is the overall fraud rate among
        inspections in the window (itself smoothed towards 0.5 with weight 2).
    max_categories:
        Categories kept per categorical column (most frequent in the fitted data); others and
        unseen values become missing.
    extra_columns:
        Keys of the ``extra`` JSON column used as categoricals; ``None`` = every key seen in the
        fitted data (up to 30).
    window_days:
        Length of the rolling window of the history counts and outcomes, in days (``None``:
        cumulative since the start of the fitted history).
    """

    def __init__(
        self,
        groups: Sequence[str] | None = None,
        prior_strength: float = 5.0,
        max_categories: int = 100,
        extra_columns: Sequence[str] | None = None,
        window_days: int | None = 365,
    ) -> None:
        self.groups = groups
        self.prior_strength = prior_strength
        self.max_categories = max_categories
        self.extra_columns = extra_columns
        self.window_days = window_days

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, declarations: pl.DataFrame) -> FeaturePipeline:
        """Learn the history (per-key cumulative state per day) and category vocabularies."""
        groups = self._groups()
        if declarations.height == 0:
            raise ValidationError("cannot fit features on zero declarations; ingest data first")
        if self.window_days is not None and self.window_days < 1:
            raise ValidationError(f"window_days must be ≥ 1 or None; got {self.window_days}")
        extras = (
            list(self.extra_columns)
            if self.extra_columns is not None
            else extra_keys(declarations)
        )
        self.extra_columns_ = extras
        prep = prepare(declarations, extras)
        self.history_end_: date = prep["day"].max()  # type: ignore[assignment]
        self.history_start_: date = prep["day"].min()  # type: ignore[assignment]
        self.history_rows_ = prep.height
        self.daily_: dict[str, pl.DataFrame] = {
            g.name: daily_sums(prep, g, labels=True) for g in (ALL_GROUP, *groups)
        }
        # Cumulative state per key and day, with a zero sentinel row per key (so an as-of
        # look-up before a key's first day finds zeros) and the key's first day on every row.
        self.state_: dict[str, pl.DataFrame] = {
            name: cumulative_state(daily) for name, daily in self.daily_.items()
        }
        self.category_columns_ = category_columns(declarations.columns, extras)
        self.vocab_: dict[str, dict[str, int]] = {
            column: vocabulary(prep.group_by(column).len(), column, self.max_categories)
            for column in self.category_columns_}
        self._name_features([g.name for g in groups])
        return self

    def _name_features(self, group_names: list[str]) -> None:
        self.group_names_ = group_names
        self.categorical_features_ = [category_feature_name(c) for c in self.category_columns_]
        self.feature_names_ = (
            ["all_fraud_rate"]
            + [f"{g}_{s}" for g in self.group_names_ for s in HISTORY_SUFFIXES]
            + [f for f in VALUE_FEATURES if _value_feature_available(f, self.group_names_)]
            + self.categorical_features_
        )

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (``groups`` as the list of names it resolves to)."""
        return {"groups": [g.name for g in self._groups()],
                "prior_strength": self.prior_strength, "max_categories": self.max_categories,
                "extra_columns": None if self.extra_columns is None else list(self.extra_columns),
                "window_days": self.window_days}

    def subset(self, groups: Sequence[str] | None, *, labels: bool = True) -> FeaturePipeline:
        """A fitted pipeline with only the history ``groups`` of this one, without fitting
        again: the same features as ``FeaturePipeline(groups=groups, …).fit(data)`` on the
        data this one was fitted on, its other parameters unchanged.

        ``labels=False`` zeroes the outcome sums (inspections, frauds, revenue), giving the
        features of a pipeline fitted on the data without its outcome columns: what a model
        that must not learn from outcomes (the anomaly detector) keeps.
        """
        self._check_fitted()
        wanted = [g.name for g in FeaturePipeline(groups=groups)._groups()]
        missing = [g for g in wanted if g not in self.group_names_]
        if missing:
            raise ValidationError(f"history group(s) {missing} are not in this fitted pipeline; "
                                  f"it has {self.group_names_}")
        out = FeaturePipeline(groups=wanted, prior_strength=self.prior_strength,
                              max_categories=self.max_categories,
                              extra_columns=self.extra_columns, window_days=self.window_days)
        out.extra_columns_ = list(self.extra_columns_)
        out.history_end_ = self.history_end_
        out.history_start_ = self.history_start_
        out.history_rows_ = self.history_rows_
        keep = [ALL_GROUP.name, *wanted]
        zero = [] if labels else [pl.lit(0.0).alias(c) for c in _LABEL_SUMS]
        zero_state = [] if labels else [pl.lit(0.0).alias(f"c_{c}") for c in _LABEL_SUMS]
        out.daily_ = {n: self.daily_[n].with_columns(zero) if zero else self.daily_[n]
                      for n in keep}
        if zero:
            # what it was zeroed from: saved in its place (with hidden_labels_), so that its
            # history files are this pipeline's own and a model saved beside this one's can
            # share them; the labels are zeroed again on load (see __setstate__)
            out._labelled_daily = {n: (out.daily_[n], self._labelled(n)) for n in keep}
        out.state_ = {n: self.state_[n].with_columns(zero_state) if zero_state
                      else self.state_[n] for n in keep}
        out.category_columns_ = list(self.category_columns_)
        out.vocab_ = {c: dict(v) for c, v in self.vocab_.items()}
        out._name_features(wanted)
        return out

    def fit_transform(self, declarations: pl.DataFrame) -> pl.DataFrame:
        """``fit(declarations).transform(declarations)``: in-sample as-of features."""
        return self.fit(declarations).transform(declarations)

    EXTERNAL_STATE: tuple[str, ...] = ("daily_",)
    """Fitted attributes saved apart from the model (its history dataset, see
    :func:`clearlane.artifacts.write_artifact`): the per-key daily sums, which grow with
    the history."""
    DERIVED_STATE: tuple[str, ...] = ("state_",)
    """Fitted attributes never saved: the cumulative sums are rebuilt from ``daily_`` on load
    (:meth:`__setstate__`), exactly (the same computation as at fit time); the integer-keyed
    copy is built on first use."""

    def _labelled(self, name: str) -> pl.DataFrame:
        """``daily_[name]``, or the labelled table it was zeroed from when that is known."""
        frame = self.daily_[name]
        known = getattr(self, "_labelled_daily", {}).get(name)
        return known[1] if known is not None and known[0] is frame else frame

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_keyed_history", None)
        pairs = state.pop("_labelled_daily", None)
        daily = state.get("daily_")
        if pairs and isinstance(daily, dict) and set(pairs) == set(daily) and all(
                pairs[n][0] is frame for n, frame in daily.items()):
            # the labelled tables it was zeroed from, zeroed again on load
            state["daily_"] = {n: pairs[n][1] for n in daily}
            state["hidden_labels_"] = True
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        hidden = bool(state.pop("hidden_labels_", False))
        self.__dict__.update(state)
        daily = state.get("daily_")
        if not isinstance(daily, dict):
            return
        if hidden:
            zero = [pl.lit(0.0).alias(c) for c in _LABEL_SUMS]
            self.daily_ = {n: frame.with_columns(zero) for n, frame in daily.items()}
            self._labelled_daily = {n: (self.daily_[n], daily[n]) for n in daily}
        if "state_" not in state:  # (a copy keeps its own: it equals the zeroed one's)
            self.state_ = {name: cumulative_state(frame) for name, frame in self.daily_.items()}

    # -- transforming -------------------------------------------------------------------------
    def transform(self, declarations: pl.DataFrame) -> pl.DataFrame:
        """Features for each row, in input order (columns = :attr:`feature_names_`, Float64)."""
        return pl.DataFrame(self._transform_arrays(declarations))

    def transform_matrix(self, declarations: pl.DataFrame) -> np.ndarray:
        """Features as a row-major float64 matrix (rows × :attr:`feature_names_`)."""
        return self.batch(declarations).matrix()

    def batch(self, declarations: pl.DataFrame, n_jobs: int = 1) -> BatchFeatures:
        """The history look-ups of a whole batch, done once; features of any rows on demand.

        Large batches are scored block by block from it (see :meth:`BatchFeatures.matrix`).
        ``n_jobs`` threads share the history groups of a large batch dated after the history.
        """
        self._check_fitted()
        prep = prepare(declarations, self.extra_columns_)
        if prep.height == 0:
            return BatchFeatures(self.derivation(), {}, {}, {}, 0)
        first: date = prep["day"].min()  # type: ignore[assignment]
        last: date = prep["day"].max()  # type: ignore[assignment]
        window = self.window_days
        fast = first > self.history_end_
        if fast and window is not None:
            # the batch must not outlive the window: its own rows would fall out of it
            fast = (last - self.history_end_).days <= window
        if not fast:
            return BatchFeatures(self.derivation(), numeric_columns(prep), self._raw_general(prep),
                                 self._encode_categories(prep), prep.height)
        # fast path: work in date order, put the rows back in input order at the end
        day_numbers = prep["day"].to_numpy()
        if bool(np.all(day_numbers[1:] >= day_numbers[:-1])):  # already in date order
            return BatchFeatures(self.derivation(), numeric_columns(prep), self._raw_fast(prep, n_jobs),
                                 self._encode_categories(prep), prep.height)
        order = np.argsort(day_numbers, kind="stable")
        ordered = prep[order]
        raw = {name: {c: unsort(v, order) for c, v in sums.items()}
               for name, sums in self._raw_fast(ordered, n_jobs).items()}
        columns = {c: unsort(v, order) for c, v in numeric_columns(ordered).items()}
        categories = {c: unsort(v, order) for c, v in self._encode_categories(ordered).items()}
        return BatchFeatures(self.derivation(), columns, raw, categories, prep.height)

    def shares_history_of(self, other: FeaturePipeline) -> bool:
        """Whether this pipeline is ``other.subset(groups, labels=False)`` in effect: the same
        window, history period, ``extra`` keys and category vocabularies, its groups among
        ``other``'s with the same per-key daily counts and values, and no outcome sums. Then
        :meth:`unlabelled_batch` turns ``other``'s batch of any rows into this one's.

        Compares the daily sums row for row (in stored order), so it is cheap and may say no
        to a pipeline that is the same in another order."""
        if not (hasattr(self, "daily_") and hasattr(other, "daily_")):
            return False
        same = (self.window_days == other.window_days
                and self.extra_columns_ == other.extra_columns_
                and self.category_columns_ == other.category_columns_
                and self.vocab_ == other.vocab_
                and self.history_start_ == other.history_start_
                and self.history_end_ == other.history_end_
                and set(self.daily_) <= set(other.daily_))
        if not same:
            return False
        counts = [c for c in SUMS if c not in _LABEL_SUMS]
        for name, mine in self.daily_.items():
            theirs = other.daily_[name]
            if mine.height != theirs.height:
                return False
            if mine.select(_LABEL_SUMS).select(pl.all().abs().sum()).row(0) != (0.0,) * 3:
                return False
            if not mine.select("key", "day", *counts).equals(
                    theirs.select("key", "day", *counts)):
                return False
        return True

    def unlabelled_batch(self, batch: BatchFeatures) -> BatchFeatures:
        """This pipeline's batch of the rows of ``batch``, which a pipeline whose history this
        one shares made (see :meth:`shares_history_of`): the same history sums of its groups
        with the outcome sums zeroed, the same values and category codes."""
        zeros = np.zeros(batch.height)
        raw = {name: {c: zeros if c in _LABEL_SUMS else v for c, v in batch.raw[name].items()}
               for name in (ALL_GROUP.name, *self.group_names_)}
        return BatchFeatures(self.derivation(), batch.columns, raw, batch.categories,
                             batch.height)

    def _transform_arrays(self, declarations: pl.DataFrame) -> dict[str, np.ndarray]:
        return self.batch(declarations).arrays()

    def _raw_fast(self, prep: pl.DataFrame, n_jobs: int = 1) -> dict[str, dict[str, np.ndarray]]:
        """Rows dated after the history, sorted by date: integer-keyed look-ups in the fitted
        state (see :mod:`clearlane.features.keyed`) plus the batch's own rows on earlier days."""
        keyed = self._keyed()
        codes = keyed.encode(prep)
        day = prep["day"].cast(pl.Int64).to_numpy()
        log_uv = prep["log_uv"].to_numpy()
        tax = prep["tax_rate"].to_numpy()
        has_uv = ~np.isnan(log_uv)
        has_tax = ~np.isnan(tax)
        uv = np.where(has_uv, log_uv, 0.0)
        batch = {"uv_n": has_uv.astype(float), "uv_s": uv, "uv_ss": uv * uv,
                 "tax_n": has_tax.astype(float), "tax_s": np.where(has_tax, tax, 0.0)}
        zeros = np.zeros(prep.height)

        def group(name: str) -> dict[str, np.ndarray]:
            sums: dict[str, np.ndarray] = dict.fromkeys(SUMS, zeros)
            sums["first_day"] = zeros
            sums.update(keyed.group_sums(name, codes, day, self.window_days, batch))
            return sums

        names = list(self.state_)
        if n_jobs > 1 and prep.height >= _PARALLEL_FROM_ROWS:
            # numpy sorts, searches and gathers release the GIL: groups run side by side
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                return dict(zip(names, pool.map(group, names), strict=True))
        return {name: group(name) for name in names}

    def _keyed(self) -> KeyedHistory:
        """The integer-keyed history, built from the fitted state once per loaded pipeline."""
        cached: KeyedHistory | None = getattr(self, "_keyed_history", None)
        if cached is None:
            cached = build_keyed_history(self.state_, self.history_start_, self.history_end_)
            self._keyed_history = cached
        return cached

    def _raw_general(self, prep: pl.DataFrame) -> dict[str, dict[str, np.ndarray]]:
        """Any dates: rebuild the cumulative history with the batch's later rows, look up."""
        new_rows = prep.filter(pl.col("day") > self.history_end_)
        indexed = prep.with_row_index("_row")
        raw: dict[str, dict[str, np.ndarray]] = {}
        for name in self.daily_:
            group = GROUPS_BY_NAME.get(name, ALL_GROUP)
            # the fitted cumulative state, continued by the batch's later days: the state
            # rebuilt from all the days, bit for bit, without going over the history again
            state = self.state_[name]
            if new_rows.height:
                state = extend_state(state, daily_sums(new_rows, group, labels=False))
            raw[name] = asof_sums(indexed, group, state, self.window_days)
        return raw

    def transform_record(self, record: Mapping[str, Any]) -> pl.DataFrame:
        """Features of one declaration (a mapping of canonical fields) as a one-row frame."""
        vector = self.transform_vector(record)
        return pl.DataFrame(
            {name: vector[:, j] for j, name in enumerate(self.feature_names_)}
        )

    def transform_vector(self, record: Mapping[str, Any]) -> np.ndarray:
        """Features of one declaration as a (1 × features) matrix; the fast path for APIs.

        When the declaration is dated after the fitted history (the usual case) it reads the
        integer-keyed history that batch scoring uses (one value → code dictionary per key
        column, binary searches per group; built on the first call, a fraction of the size
        of per-key-and-day tables), else the general :meth:`transform`. Both give the same
        values.
        """
        self._check_fitted()
        row = prepare_record(record, self.extra_columns_)
        day = row["day"]
        if day is None or day <= self.history_end_:
            return self.transform_matrix(pl.DataFrame([dict(record)]))
        keyed = self._keyed()
        codes = keyed.record_codes(row)
        day_num = (day - EPOCH).days
        zeros = dict.fromkeys((*SUMS, "first_day"), 0.0)
        raw: dict[str, dict[str, np.ndarray]] = {}
        for name in self.state_:
            sums = {**zeros, **keyed.record_sums(name, codes, day_num, self.window_days)}
            raw[name] = {c: np.array([v]) for c, v in sums.items()}
        cols = {c: np.array([row[c]], dtype=float) for c in NUMERIC_INPUTS}
        cats = {}
        for column, feature in zip(self.category_columns_, self.categorical_features_,
                                   strict=True):
            code = self.vocab_[column].get(row[column]) if row[column] is not None else None
            cats[feature] = np.array([np.nan if code is None else float(code)])
        out = self.derivation().derive(cols, raw, cats)
        return np.array([[out[name][0] for name in self.feature_names_]], dtype=float)

    # -- internals ----------------------------------------------------------------------------
    def _groups(self) -> tuple[HistoryGroup, ...]:
        if self.groups is None:
            return HISTORY_GROUPS
        unknown = [g for g in self.groups if g not in GROUPS_BY_NAME]
        if unknown:
            raise ValidationError(
                f"unknown history group(s) {unknown}; valid: {sorted(GROUPS_BY_NAME)}"
            )
        return tuple(GROUPS_BY_NAME[g] for g in self.groups)

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise ValidationError("FeaturePipeline is not fitted; call fit() first")
        if not hasattr(self, "state_"):
            raise ValidationError(
                "this FeaturePipeline was saved by an older Clearlane (no pre-aggregated "
                "history state); retrain the model with `clearlane train`"
            )

    def _encode_categories(self, prep: pl.DataFrame) -> dict[str, np.ndarray]:
        if not self.category_columns_:
            return {}
        codes = prep.select(
            pl.col(column).replace_strict(
                self.vocab_[column], default=None, return_dtype=pl.Float64
            ).alias(feature)
            for column, feature in zip(self.category_columns_, self.categorical_features_,
                                       strict=True)
        )
        return {f: codes[f].fill_null(np.nan).to_numpy() for f in codes.columns}

    def derivation(self) -> FeatureDerivation:
        """How this fitted pipeline turns per-row inputs into its features."""
        return FeatureDerivation(
            feature_names=tuple(self.feature_names_),
            group_names=tuple(self.group_names_),
            prior_strength=float(self.prior_strength),
        )


_PARALLEL_FROM_ROWS = 50_000

_LABEL_SUMS = ("insp", "nfraud", "rev")
"""The history sums that come from outcome columns (see :func:`~clearlane.features.history.daily_sums`)."""


@dataclass(frozen=True)
class FittedFeatures:
    """A pipeline fitted on a training frame and the features of that frame, computed once
    and shared by the models trained on the same rows (the fraud model and the anomaly
    detector: see ``fit(..., features=...)`` of each)."""

    pipeline: FeaturePipeline
    frame: pl.DataFrame
    """``pipeline.transform`` of the training rows, in their order."""

    @classmethod
    def fit(cls, declarations: pl.DataFrame, **params: Any) -> FittedFeatures:
        """Fit a :class:`FeaturePipeline` with ``params`` and transform ``declarations``."""
        pipeline = FeaturePipeline(**params).fit(declarations)
        return cls(pipeline, pipeline.transform(declarations))

    def check(self, declarations: pl.DataFrame, params: Mapping[str, Any], *,
              groups_subset: bool = False) -> None:
        """Refuse features that cannot be those of ``declarations`` with pipeline ``params``
        (a different row count or different parameters; with ``groups_subset`` the wanted
        groups need only be among the pipeline's)."""
        if self.frame.height != declarations.height:
            raise ValidationError(f"shared features have {self.frame.height} rows; the "
                                  f"training frame has {declarations.height}")
        self.check_params(self.pipeline, params, groups_subset=groups_subset)

    @staticmethod
    def check_params(pipeline: FeaturePipeline, params: Mapping[str, Any], *,
                     groups_subset: bool = False) -> None:
        """Refuse a fitted ``pipeline`` made with parameters other than ``params`` (with
        ``groups_subset`` the wanted groups need only be among the pipeline's)."""
        wanted = FeaturePipeline(**params).get_params()
        have = pipeline.get_params()
        if groups_subset:
            missing = [g for g in wanted["groups"] if g not in have["groups"]]
            wanted["groups"] = have["groups"] if not missing else wanted["groups"]
        if wanted != have:
            raise ValidationError(f"shared features were made with pipeline parameters {have}; "
                                  f"this model needs {wanted}")


def category_columns(columns: Sequence[str], extras: Sequence[str]) -> list[str]:
    """The categorical columns of a pipeline fitted on data with ``columns`` and ``extra``
    keys ``extras``."""
    return [c for c in CATEGORY_COLUMNS if c in columns] + [f"extra:{k}" for k in extras]


def vocabulary(counts: pl.DataFrame, column: str, limit: int) -> dict[str, int]:
    """Value → code of the ``limit`` most frequent values of ``column`` (ties by value), from
    ``counts`` (the column and its rows' count, ``len``; nulls ignored)."""
    top = (counts.drop_nulls(column).sort(["len", column], descending=[True, False])
           .head(limit))
    return {v: i for i, v in enumerate(top[column].to_list())}


def numeric_columns(prep: pl.DataFrame) -> dict[str, np.ndarray]:
    return {c: prep[c].fill_null(np.nan).to_numpy().astype(float) for c in NUMERIC_INPUTS}


def _value_feature_available(feature: str, groups: list[str]) -> bool:
    if feature.endswith("_hs6_origin"):
        return "hs6_origin" in groups
    if feature.endswith("_hs6"):
        return "hs6" in groups
    if feature == "importer_days_since_first":
        return "importer" in groups
    return True
