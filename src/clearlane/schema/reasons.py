"""Scores and reasons: the shape every scorer returns (higher = riskier), and the one
immutable result per declaration item, :class:`RiskAssessment`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Reason:
    """One plain-language reason behind a score.

    ``code`` is stable (e.g. ``IMPORTER_HISTORY``) so reasons can be counted and translated;
    ``weight`` is the contribution to the score on the scorer's own scale (positive = riskier);
    ``evidence`` holds the numbers quoted in ``text`` (numbers and short strings): programs
    (the selector, reports) read the evidence, never the text.
    """

    code: str
    text: str
    weight: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "weight": self.weight,
                "evidence": dict(self.evidence)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        return cls(str(data.get("code", "")), str(data.get("text", "")),
                   float(data.get("weight") or 0.0), dict(data.get("evidence") or {}))


def reasons_to_json(reasons: Iterable[Reason] | None) -> str:
    """A JSON list of reason dicts (the stored form)."""
    return json.dumps([r.as_dict() for r in (reasons or ())], default=str)


def reasons_from_json(text: str | None) -> tuple[Reason, ...]:
    """The reasons of a stored JSON list (empty for null, empty or unreadable text)."""
    if not text:
        return ()
    try:
        data = json.loads(text)
    except ValueError:
        return ()
    return tuple(Reason.from_dict(r) for r in data if isinstance(r, Mapping))


SCORER_OK = "ok"
"""Scorer status: it ran on the batch."""
SCORER_UNAVAILABLE = "unavailable"
"""Scorer status: it could not run (e.g. no model trained); ``message`` says why."""
ROW_SCORED = SCORER_OK
"""Row status: the scorer scored this row (same word as the scorer status)."""
ROW_NOT_SCORED = "not_scored"
"""Row status: the scorer ran but has no score for this row (score NaN)."""


@dataclass(frozen=True)
class ScorerScore:
    """One scorer's verdict on one declaration item: its score (higher = riskier; None when
    not scored or the scorer was unavailable), reasons, version and status."""

    name: str
    version: str | None
    status: str
    score: float | None
    reasons: tuple[Reason, ...] = ()
    message: str | None = None
    """Why the scorer was unavailable, or why this row was not scored."""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "status": self.status,
                "score": self.score, "reasons": [r.as_dict() for r in self.reasons],
                "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScorerScore:
        score = data.get("score")
        return cls(str(data["name"]), data.get("version"), str(data.get("status", SCORER_OK)),
                   None if score is None or (isinstance(score, float) and math.isnan(score))
                   else float(score),
                   tuple(Reason.from_dict(r) for r in data.get("reasons") or ()),
                   data.get("message"))


@dataclass(frozen=True)
class RiskAssessment:
    """The combined risk view of one declaration item, immutable once produced.

    ``scorers`` holds every scorer's score, reasons, version and status (an unavailable scorer
    is listed with its message, never silently left out). ``fraud_probability`` (0-1),
    ``expected_revenue`` (national currency) and ``reasons`` are the fraud model's,
    ``anomaly_score`` the anomaly detector's (higher = more unusual); ``lane`` and ``basis``
    are set once a selection assigned one.
    """

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
    anomaly_version: str | None = None
    scorers: tuple[ScorerScore, ...] = ()
    basis: str | None = None
    """Why the lane was given (see :data:`clearlane.selection.selector.BASES`)."""

    def scorer(self, name: str) -> ScorerScore | None:
        """The verdict of the scorer called ``name`` (None when it did not take part)."""
        return next((s for s in self.scorers if s.name == name), None)
