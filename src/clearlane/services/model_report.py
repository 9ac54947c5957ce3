"""How a fraud model does after its training: its calibration on the inspections recorded
since (out of time: declarations after the training window only) and the drift of its scores
month by month."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from clearlane.evaluate.calibration import Reliability, reliability
from clearlane.evaluate.performance import psi
from clearlane.models.registry import ModelRecord, get_model
from clearlane.store.workspace import Workspace

DRIFT_FIELDS = ("customs_value", "net_mass_kg", "quantity", "tax_rate")
"""Numeric declaration fields whose drift is shown (money and masses on a log scale)."""
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
