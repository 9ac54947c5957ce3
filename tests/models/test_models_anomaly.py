"""Anomaly detector: quality floor on planted fraud (no labels used), reasons, direction."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from clearlane.evaluate import targeting_metrics
from clearlane.models.anomaly import AnomalyDetector
from clearlane.synth import SynthResult

LABELS = ["inspected", "fraud", "revenue_recovered", "critical", "finding", "inspected_at",
          "officer_id"]

# Documented floor (docs/risk-scoring.md): measured 0.77 AUC, precision@5 % 0.26 (base rate
# 0.08) on this configuration, against ~0.5 for the former isolation forest; the floor leaves
# room for noise.
AUC_FLOOR = 0.70


@pytest.fixture(scope="module")
def detector(synth_split: tuple[pl.DataFrame, pl.DataFrame]) -> AnomalyDetector:
    train, _ = synth_split
    return AnomalyDetector().fit(train)


def test_quality_floor_without_labels(detector: AnomalyDetector, synth_data: SynthResult,
                                      synth_split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, test = synth_split
    truth = test.select("declaration_id", "item_no").join(
        synth_data.truth, on=["declaration_id", "item_no"], how="left")
    y = truth["mechanism"].is_not_null().to_numpy()
    m = targeting_metrics(y, detector.score_samples(test.drop(LABELS)), ks=(5.0,))
    assert m.auc is not None and m.auc >= AUC_FLOOR
    assert m.precision[5.0] > 2 * y.mean()  # at least twice the base rate in the top 5 %


def test_labels_are_ignored(detector: AnomalyDetector,
                            synth_split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, test = synth_split
    flipped = test.with_columns(~pl.col("fraud"))
    np.testing.assert_array_equal(detector.score_samples(test), detector.score_samples(flipped))


def test_lower_unit_value_is_riskier(detector: AnomalyDetector,
                                     synth_split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, test = synth_split
    for row in test.drop(LABELS).head(20).iter_slices(1):
        cheaper = row.with_columns(pl.col("customs_value") / 10)
        assert detector.score_samples(cheaper)[0] >= detector.score_samples(row)[0]


def test_reasons_name_the_signals(detector: AnomalyDetector,
                                  synth_split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, test = synth_split
    rows = test.drop(LABELS).head(300)
    scores = detector.score_samples(rows)
    top = rows[pl.Series(np.argsort(-scores)[:5])]
    for reasons in detector.explain(top):
        assert reasons, "a high anomaly score always has a reason"
        assert {r.code for r in reasons} <= {"UNIT_VALUE", "TAX_RATE", "IMPORTER_HS_HISTORY",
                                             "HS_ORIGIN_HISTORY", "IMPORTER_HISTORY"}
        assert all(r.weight > 0 and f"({r.weight:+.2f})" in r.text for r in reasons)
