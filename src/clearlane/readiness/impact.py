"""Use-case impact scoring, modelled on the Government of Canada's Algorithmic Impact Assessment.

Raw impact score = sum of the points of the risk answers ("don't know" = the riskiest option).
Mitigation score = sum of the points of the mitigation questions answered yes. When mitigation
reaches ``mitigation_threshold`` (80 %) of its maximum, the raw score is reduced by
``mitigation_reduction`` (15 %). The level is set by the final score as a share of the maximum
raw score. **Higher score = higher impact** (riskier).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clearlane.readiness.questionnaire import ImpactQuestionnaire


@dataclass(frozen=True)
class ImpactResult:
    raw: int
    max_raw: int
    mitigation: int
    max_mitigation: int
    mitigation_applied: bool
    final: float
    share: float
    level: int
    obligations: tuple[str, ...]


def impact_level(share: float, bounds: tuple[float, float, float]) -> int:
    """Level 1-4 of a final score given as a share (0-1) of the maximum raw score."""
    return 1 + sum(1 for b in bounds if share > b)


def obligations_for(questionnaire: ImpactQuestionnaire, level: int) -> tuple[str, ...]:
    """Obligation ids of ``level``: its own and those of every lower level."""
    return tuple(o for lv in range(1, level + 1) for o in questionnaire.obligations.get(lv, ()))


def impact_score(
    questionnaire: ImpactQuestionnaire,
    risk: Mapping[str, str | None],
    mitigation: Mapping[str, bool | None],
) -> ImpactResult:
    """Score one use case. Unanswered risk questions count as their riskiest option."""
    raw = sum(q.points(risk.get(q.id)) for q in questionnaire.risk)
    mitigated = sum(q.points for q in questionnaire.mitigation if mitigation.get(q.id) is True)
    applied = mitigated >= questionnaire.mitigation_threshold * questionnaire.max_mitigation
    final = raw * (1 - questionnaire.mitigation_reduction) if applied else float(raw)
    share = final / questionnaire.max_raw if questionnaire.max_raw else 0.0
    level = impact_level(share, questionnaire.level_bounds)
    return ImpactResult(
        raw=raw, max_raw=questionnaire.max_raw, mitigation=mitigated,
        max_mitigation=questionnaire.max_mitigation, mitigation_applied=applied,
        final=round(final, 6), share=round(share, 6), level=level,
        obligations=obligations_for(questionnaire, level),
    )
