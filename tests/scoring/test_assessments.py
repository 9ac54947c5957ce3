"""Score frames → the assessment table → RiskAssessment objects → the table again."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from clearlane.schema.reasons import Reason, RiskAssessment, ScorerScore
from clearlane.scoring import ScoreFrame
from clearlane.scoring.assessments import (
    ASSESSMENT_SCHEMA,
    assessment_frame,
    assessments_from_frame,
    assessments_to_frame,
)

NOW = datetime(2024, 5, 1, 12, 30)


def _frames(scores: list[float | None], with_anomaly: bool = True) -> list[ScoreFrame]:
    n = len(scores)
    keys = pl.DataFrame({"declaration_id": [f"D{i}" for i in range(n)],
                         "item_no": [1 + i % 2 for i in range(n)]})
    fraud_scores = np.array([np.nan if s is None else s for s in scores])
    reasons = tuple((Reason("UNIT_VALUE", f"unit value {i}", 0.5, {"unit_value": float(i),
                                                                   "hs6": "610462"}),)
                    if i % 2 == 0 else () for i in range(n))
    fraud = ScoreFrame.build("fraud", "fraud-v1", keys, fraud_scores, reasons,
                             extra=pl.DataFrame({"expected_revenue": fraud_scores * 100.0}))
    anomaly = (ScoreFrame.build("anomaly", "anomaly-v2", keys, np.arange(n, dtype=float))
               if with_anomaly else ScoreFrame.unavailable("anomaly", keys, "no detector"))
    return [fraud, anomaly]


@given(st.lists(st.one_of(st.none(), st.floats(0.0, 1.0)), min_size=1, max_size=30),
       st.booleans())
def test_frame_objects_frame_round_trip(scores: list[float | None], with_anomaly: bool) -> None:
    table = assessment_frame(_frames(scores, with_anomaly), NOW)
    assert dict(table.schema) == ASSESSMENT_SCHEMA
    objects = assessments_from_frame(table)
    assert len(objects) == len(scores)
    again = assessments_to_frame(objects)
    assert again.schema == table.schema
    for column in ASSESSMENT_SCHEMA:
        if column == "scorers":
            assert [json.loads(x) for x in again[column]] == [json.loads(x) for x in table[column]]
        else:
            assert again[column].to_list() == table[column].to_list(), column


def test_every_scorer_version_and_status_is_kept() -> None:
    table = assessment_frame(_frames([0.9, None, 0.1], with_anomaly=False), NOW)
    first, second, _ = assessments_from_frame(table)
    assert first.model_version == "fraud-v1" and first.anomaly_version is None
    assert first.fraud_probability == 0.9 and first.expected_revenue == 90.0
    assert first.reasons == (Reason("UNIT_VALUE", "unit value 0", 0.5,
                                    {"unit_value": 0.0, "hs6": "610462"}),)
    fraud, anomaly = first.scorers
    assert fraud == ScorerScore("fraud", "fraud-v1", "ok", 0.9, first.reasons)
    assert anomaly == ScorerScore("anomaly", None, "unavailable", None, (), "no detector")
    assert second.scorer("fraud") == ScorerScore("fraud", "fraud-v1", "not_scored", None, ())
    assert second.fraud_probability is None and first.assessed_at == NOW


def test_assessments_with_lanes_keep_their_lane_and_basis() -> None:
    assessment = RiskAssessment("D1", 2, 0.4, 10.0, 1.5, (), "m1", rule_hits=("R01 v1",),
                                lane="red", basis="model", assessed_at=NOW,
                                anomaly_version="a1",
                                scorers=(ScorerScore("fraud", "m1", "ok", 0.4),))
    table = assessments_to_frame([assessment])
    assert table["lane"].to_list() == ["red"] and table["basis"].to_list() == ["model"]
    assert assessments_from_frame(table) == [assessment]
