"""How a fraud model does after its training: its calibration on the inspections recorded
since (out of time: declarations after the training window only) and the drift of its scores
month by month."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from clearlane.evaluate.calibration import Reliability, reliability
from clearlane.models.registry import ModelRecord, get_model
from clearlane.store.workspace import Workspace

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
    return ModelReport(model, calibration, after.height, monthly)
