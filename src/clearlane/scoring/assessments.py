"""Score frames → :class:`~clearlane.schema.reasons.RiskAssessment` rows, their stored table and
exports, and back.

The table (``risk_assessments``, and the CSV/Parquet exports of ``clearlane assess``) has one
row per declaration item: the fraud model's columns (``model_version``, ``fraud_probability``,
``expected_revenue``, ``reasons``), the anomaly detector's (``anomaly_score``,
``anomaly_version``), ``assessed_at`` and ``scorers``: a JSON list with every scorer's
``name``, ``version``, ``status`` (``ok``, ``not_scored``, ``unavailable``), ``score``,
``reasons`` and ``message``. :func:`assessment_frame` builds it from score frames column-wise
(no Python object per row except the reasons already produced); :func:`assessments_to_frame`
and :func:`assessments_from_frame` convert to and from ``RiskAssessment`` objects.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.schema.reasons import (
    ROW_NOT_SCORED,
    SCORER_OK,
    SCORER_UNAVAILABLE,
    RiskAssessment,
    ScorerScore,
    reasons_from_json,
    reasons_to_json,
)
from clearlane.scoring.frame import ScoreFrame

ASSESSMENT_SCHEMA: dict[str, Any] = {
    "declaration_id": pl.String,
    "item_no": pl.Int64,
    "model_version": pl.String,
    "fraud_probability": pl.Float64,
    "expected_revenue": pl.Float64,
    "anomaly_score": pl.Float64,
    "reasons": pl.String,
    "assessed_at": pl.Datetime("us"),
    "anomaly_version": pl.String,
    "scorers": pl.String,
}
"""Columns of the stored ``risk_assessments`` table and of the assessment exports."""
LANE_SCHEMA: dict[str, Any] = {"lane": pl.String, "basis": pl.String, "rule_hits": pl.String}
"""Columns added when assessments carry a lane (after a selection)."""

FRAUD = "fraud"
ANOMALY = "anomaly"


def _number(expr: pl.Expr) -> pl.Expr:
    """A float column as JSON text (``null`` for null, NaN and infinities)."""
    return pl.when(expr.is_not_null() & expr.is_finite()).then(expr.cast(pl.String)) \
        .otherwise(pl.lit("null"))


def scorer_json(frame: ScoreFrame) -> pl.Expr:
    """Per row, the JSON object of one scorer's verdict (a string expression over columns
    ``_score``, ``_reasons`` prepared by :func:`assessment_frame`)."""
    head = (f'{{"name": {json.dumps(frame.scorer)}, "version": {json.dumps(frame.version)}, ')
    if not frame.available:
        return pl.lit(head + f'"status": "{SCORER_UNAVAILABLE}", "score": null, "reasons": [], '
                      f'"message": {json.dumps(frame.message)}}}')
    status = pl.when(pl.col(f"_scored_{frame.scorer}")).then(pl.lit(SCORER_OK)) \
        .otherwise(pl.lit(ROW_NOT_SCORED))
    return pl.concat_str([
        pl.lit(head + '"status": "'), status, pl.lit('", "score": '),
        _number(pl.col(f"_score_{frame.scorer}")), pl.lit(', "reasons": '),
        pl.col(f"_reasons_{frame.scorer}"), pl.lit(', "message": null}'),
    ])


def assessment_frame(frames: Sequence[ScoreFrame], assessed_at: datetime) -> pl.DataFrame:
    """The assessment table of one batch from its score frames (all over the same rows).

    The fraud model's and the anomaly detector's frames (names ``fraud``, ``anomaly``) fill
    their own columns; every frame is listed in ``scorers``.
    """
    if not frames:
        raise ValidationError("an assessment needs at least one score frame")
    keys = frames[0].keys
    for other in frames[1:]:
        if not other.keys.equals(keys):
            raise ValidationError(f"score frames {frames[0].scorer!r} and {other.scorer!r} "
                                  "cover different rows")
    by_name = {f.scorer: f for f in frames}
    n = keys.height
    fraud, anomaly = by_name.get(FRAUD), by_name.get(ANOMALY)
    nan = np.full(n, np.nan)
    revenue = (fraud.extra["expected_revenue"].cast(pl.Float64)
               if fraud is not None and fraud.extra is not None
               and "expected_revenue" in fraud.extra.columns
               else pl.Series(nan))
    work = keys.with_columns(
        pl.lit(fraud.version if fraud else None, pl.String).alias("model_version"),
        pl.Series("fraud_probability", fraud.scores if fraud else nan).fill_nan(None),
        revenue.alias("expected_revenue").fill_nan(None),
        pl.Series("anomaly_score", anomaly.scores if anomaly else nan).fill_nan(None),
        (fraud.reasons_json() if fraud else pl.Series("reasons", ["[]"] * n)).alias("reasons"),
        pl.lit(assessed_at, pl.Datetime("us")).alias("assessed_at"),
        pl.lit(anomaly.version if anomaly and anomaly.available else None,
               pl.String).alias("anomaly_version"),
        *[c for f in frames if f.available for c in (
            pl.Series(f"_score_{f.scorer}", f.scores),
            pl.Series(f"_scored_{f.scorer}", f.scored),
            f.reasons_json().alias(f"_reasons_{f.scorer}"))],
    )
    parts = [scorer_json(f) for f in frames]
    scorers = pl.concat_str([pl.lit("["), pl.concat_str(parts, separator=", "),
                             pl.lit("]")]).alias("scorers")
    return work.with_columns(scorers).select(list(ASSESSMENT_SCHEMA)).cast(
        ASSESSMENT_SCHEMA)  # type: ignore[arg-type]


def _float(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def assessments_to_frame(assessments: Iterable[RiskAssessment]) -> pl.DataFrame:
    """The table of :data:`ASSESSMENT_SCHEMA` (plus :data:`LANE_SCHEMA` when any assessment
    carries a lane) for assessment objects."""
    items = list(assessments)
    columns: dict[str, list[Any]] = {c: [] for c in ASSESSMENT_SCHEMA}
    lanes: dict[str, list[Any]] = {c: [] for c in LANE_SCHEMA}
    for a in items:
        for name, value in (
            ("declaration_id", a.declaration_id), ("item_no", a.item_no),
            ("model_version", a.model_version),
            ("fraud_probability", _float(a.fraud_probability)),
            ("expected_revenue", _float(a.expected_revenue)),
            ("anomaly_score", _float(a.anomaly_score)),
            ("reasons", reasons_to_json(a.reasons)), ("assessed_at", a.assessed_at),
            ("anomaly_version", a.anomaly_version),
            ("scorers", json.dumps([s.as_dict() for s in a.scorers], default=str)),
        ):
            columns[name].append(value)
        lanes["lane"].append(a.lane)
        lanes["basis"].append(a.basis)
        lanes["rule_hits"].append(", ".join(a.rule_hits) if a.rule_hits else None)
    frame = pl.DataFrame(columns, schema=ASSESSMENT_SCHEMA)
    if any(a.lane is not None for a in items):
        frame = frame.with_columns(pl.DataFrame(lanes, schema=LANE_SCHEMA))
    return frame


def assessments_from_frame(frame: pl.DataFrame) -> list[RiskAssessment]:
    """Assessment objects of a table written by :func:`assessment_frame` or
    :func:`assessments_to_frame` (or an older ``risk_assessments`` table without
    ``anomaly_version``/``scorers``: those fields stay empty)."""
    out: list[RiskAssessment] = []
    for row in frame.iter_rows(named=True):
        scorers = tuple(ScorerScore.from_dict(s) for s in json.loads(row.get("scorers") or "[]"))
        hits = row.get("rule_hits")
        out.append(RiskAssessment(
            declaration_id=str(row["declaration_id"]), item_no=int(row["item_no"]),
            fraud_probability=_float(row.get("fraud_probability")),
            expected_revenue=_float(row.get("expected_revenue")),
            anomaly_score=_float(row.get("anomaly_score")),
            reasons=reasons_from_json(row.get("reasons")),
            model_version=row.get("model_version"),
            rule_hits=tuple(h.strip() for h in hits.split(",")) if hits else (),
            lane=row.get("lane"), assessed_at=row.get("assessed_at"),
            anomaly_version=row.get("anomaly_version"), scorers=scorers,
            basis=row.get("basis")))
    return out
