"""Scores and reasons: the shape every scorer returns (higher = riskier)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Reason:
    """One plain-language reason behind a score.

    ``code`` is stable (e.g. ``IMPORTER_HISTORY``) so reasons can be counted and translated;
    ``weight`` is the contribution to the score on the scorer's own scale (positive = riskier);
    ``evidence`` holds the numbers quoted in ``text``.
    """

    code: str
    text: str
    weight: float
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskAssessment:
    """The combined risk view of one declaration item, immutable once produced."""

    declaration_id: str
    item_no: int
    fraud_probability: float | None
    expected_revenue: float | None
    anomaly_score: float | None
    reasons: tuple[Reason, ...]
    model_version: str | None
    rule_hits: tuple[str, ...] = ()
    lane: str | None = None
    assessed_at: datetime | None = None
