"""How a fraud model does after its training: its calibration on the inspections recorded
since (out of time: declarations after the training window only), the drift of its scores
month by month, the drift of the declaration fields it reads, and (:func:`model_drift`) the
drift of its most important features and of its score, computed by the model itself on a
sample of each month against a sample of its training window."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ClearlaneError
from clearlane.evaluate.calibration import Reliability, reliability
from clearlane.evaluate.performance import psi
from clearlane.features.prepare import SCORING_COLUMNS
from clearlane.models import registry
from clearlane.models.registry import ModelRecord, get_model
from clearlane.store.workspace import DECLARATION_ORDER, Workspace

DRIFT_FIELDS = ("customs_value", "net_mass_kg", "quantity", "tax_rate")
"""Numeric declaration fields whose drift is shown (money and masses on a log scale)."""
TOP_FEATURES = 5
"""How many of the model's features (by total gain, largest first) :func:`model_drift` follows."""
SAMPLE_PER_MONTH = 3000
"""Declaration items drawn per month (and from the training window) for :func:`model_drift`:
the same items each time (ordered by a hash of their key), enough for a stable PSI."""
SCORE = "score"
"""The column of :attr:`ModelDrift.by_month` holding the PSI of the fraud probability."""
MIN_FOR_CALIBRATION = 30
"""Fewer inspected items than this after the window: no calibration is drawn (too noisy)."""


@dataclass(frozen=True)
class ModelReport:
    """``calibration``: reliability of the stored fraud probabilities against the recorded
    outcomes of inspected items declared after ``train_to`` (None with fewer than
    :data:`MIN_FOR_CALIBRATION`); ``scores_by_month``: per month, items assessed with the
    model, mean fraud probability and mean expected revenue."""

    model: ModelRecord
    calibration: Reliability | None
    inspected_after: int
    scores_by_month: pl.DataFrame
    feature_drift: pl.DataFrame
    """Per month after the training window: the population stability index of each of
    :data:`DRIFT_FIELDS` against the training window (< 0.1 stable, > 0.25 a large shift)."""


def model_report(workspace: Workspace, version: str | None = None) -> ModelReport:
    """The report of fraud model ``version`` (default: the promoted, else newest)."""
    model = get_model(workspace, version)
    after = workspace.query(
        """SELECT r.fraud_probability AS p, d.fraud
           FROM risk_assessments r JOIN declarations d USING (declaration_id, item_no)
           WHERE r.model_version = ? AND d.inspected AND d.fraud IS NOT NULL
             AND r.fraud_probability IS NOT NULL AND d.declared_at > ?""",
        [model.version, model.train_to])
    calibration = (reliability(after["p"].to_numpy(), after["fraud"].to_numpy())
                   if after.height >= MIN_FOR_CALIBRATION else None)
    monthly = workspace.query(
        """SELECT date_trunc('month', d.declared_at)::DATE AS period, count(*) AS assessed,
                  avg(r.fraud_probability) AS mean_probability,
                  avg(r.expected_revenue) AS mean_expected_revenue
           FROM risk_assessments r JOIN declarations d USING (declaration_id, item_no)
           WHERE r.model_version = ? GROUP BY ALL ORDER BY period""", [model.version])
    return ModelReport(model, calibration, after.height, monthly,
                       _feature_drift(workspace, model))


def _feature_drift(workspace: Workspace, model: ModelRecord) -> pl.DataFrame:
    columns = ", ".join(DRIFT_FIELDS)
    frame = workspace.query(
        f"""SELECT CASE WHEN declared_at <= ? THEN NULL
                        ELSE date_trunc('month', declared_at)::DATE END AS period, {columns}
            FROM declarations WHERE declared_at >= ?""", [model.train_to, model.train_from])
    reference = frame.filter(pl.col("period").is_null())
    rows = []
    for (period,), part in frame.filter(pl.col("period").is_not_null()).group_by(
            "period", maintain_order=True):
        row: dict[str, object] = {"period": period, "rows": part.height}
        for name in DRIFT_FIELDS:
            ref = reference[name].cast(pl.Float64).to_numpy()
            cur = part[name].cast(pl.Float64).to_numpy()
            if name != "tax_rate":
                ref, cur = np.log1p(np.clip(ref, 0, None)), np.log1p(np.clip(cur, 0, None))
            row[name] = psi(ref, cur)
        rows.append(row)
    schema = {"period": pl.Date, "rows": pl.Int64, **dict.fromkeys(DRIFT_FIELDS, pl.Float64)}
    return pl.DataFrame(rows, schema=schema).sort("period") if rows else pl.DataFrame(
        schema=schema)


@dataclass(frozen=True)
class ModelDrift:
    """The drift of a fraud model's score and of its most important features.

    ``by_month``: per month after the training window, ``period``, ``rows`` (items drawn),
    ``score`` (PSI of the fraud probability the model gives them against the one it gives
    items drawn from its training window) and one column per feature of ``features`` (PSI of
    the feature's values as the model computes them). Empty, with ``note`` saying why, when
    there is nothing to measure (not a fraud model, no later month, an artifact that cannot be
    loaded)."""

    version: str
    features: tuple[str, ...]
    """The model's most important features, largest total gain first."""
    gain_share: tuple[float, ...]
    """Each feature's share of the model's total gain (0-1)."""
    reference_rows: int
    """Items drawn from the training window."""
    by_month: pl.DataFrame
    note: str | None = None


def _empty_drift(version: str, features: tuple[str, ...] = (),
                 gain_share: tuple[float, ...] = (), reference_rows: int = 0,
                 note: str | None = None) -> ModelDrift:
    schema: dict[str, Any] = {"period": pl.Date, "rows": pl.Int64, SCORE: pl.Float64,
                              **dict.fromkeys(features, pl.Float64)}
    return ModelDrift(version, features, gain_share, reference_rows,
                      pl.DataFrame(schema=schema), note)


def _drift_sample(workspace: Workspace, model: ModelRecord, per_month: int) -> pl.DataFrame:
    """Up to ``per_month`` items of the training window (``drift_period`` null) and of each
    later month, the same items on every call."""
    period = ("CASE WHEN declared_at <= ? THEN NULL "
              "ELSE date_trunc('month', declared_at)::DATE END")
    with workspace.connect() as con:
        present = set(con.sql("SELECT * FROM declarations LIMIT 0").columns)
        columns = ", ".join(c for c in SCORING_COLUMNS if c in present)
        return con.sql(
            f"""SELECT {columns}, {period} AS drift_period FROM declarations
                WHERE declared_at >= ?
                QUALIFY row_number() OVER (PARTITION BY {period}
                                           ORDER BY hash(declaration_id, item_no)) <= ?
                ORDER BY {DECLARATION_ORDER}""",
            params=[model.train_to, model.train_from, model.train_to, per_month]).pl()


def model_drift(workspace: Workspace, version: str | None = None, *,
                top: int = TOP_FEATURES, per_month: int = SAMPLE_PER_MONTH) -> ModelDrift:
    """PSI per month after the training window of fraud model ``version``'s score and of its
    ``top`` most important features (by total gain, from its artifact), each month's sample
    against the training window's (< 0.1 stable, > 0.25 a large shift)."""
    model = get_model(workspace, version)
    if model.kind != "fraud":
        return _empty_drift(model.version, note=f"a {model.kind} model has no feature "
                            "importance: the drift of features is the fraud model's")
    try:
        fitted = registry.load_model(workspace, model)
        gains = fitted.feature_importance()
    except ClearlaneError as exc:
        return _empty_drift(model.version, note=f"the model's artifact cannot be used: {exc}")
    total = sum(gains.values()) or 1.0
    ranked = sorted(((g, n) for n, g in gains.items() if g > 0), key=lambda x: (-x[0], x[1]))
    features = tuple(n for _, n in ranked[:top])
    shares = tuple(g / total for g, _ in ranked[:top])
    sample = _drift_sample(workspace, model, per_month)
    reference = sample.filter(pl.col("drift_period").is_null()).drop("drift_period")
    later = sample.filter(pl.col("drift_period").is_not_null())
    if reference.height == 0 or later.height == 0:
        return _empty_drift(model.version, features, shares, reference.height,
                            note=None if reference.height else
                            "the declarations of the training window are no longer stored")

    def measured(rows: pl.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        matrix = fitted.features(rows)
        probability = np.asarray(fitted.calibrate(fitted.raw_score(matrix)), dtype=float)
        return probability, {n: matrix[n].cast(pl.Float64).to_numpy() for n in features}

    ref_score, ref_features = measured(reference)
    out: list[dict[str, object]] = []
    for (period,), part in later.group_by("drift_period", maintain_order=True):
        score, values = measured(part.drop("drift_period"))
        out.append({"period": period, "rows": part.height, SCORE: psi(ref_score, score),
                    **{n: psi(ref_features[n], values[n]) for n in features}})
    schema: dict[str, Any] = {"period": pl.Date, "rows": pl.Int64, SCORE: pl.Float64,
                              **dict.fromkeys(features, pl.Float64)}
    return ModelDrift(model.version, features, shares, reference.height,
                      pl.DataFrame(out, schema=schema).sort("period"))


def cached_model_drift(workspace: Workspace, cache: MutableMapping[str, Any],
                       version: str) -> ModelDrift:
    """:func:`model_drift` of ``version``, computed again only when the stored declarations
    changed (a server's cache: it loads the model and computes its features for a sample of
    every month, about a second on a large workspace)."""
    with workspace.connect() as con:
        row = con.execute("SELECT count(*), max(declared_at) FROM declarations").fetchone()
    key = (version, tuple(row) if row else ())
    slot = cache.setdefault("model_drift", {})
    if key not in slot:
        if len(slot) >= 8:
            slot.clear()
        slot[key] = model_drift(workspace, version)
    drift = slot[key]
    assert isinstance(drift, ModelDrift)
    return drift
