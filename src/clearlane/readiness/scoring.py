"""Readiness scoring: pure functions from answers to area scores, profile, actions and roadmap.

Scale: answers are maturity levels 0..``scale_max``; "don't know" and unanswered count as 0.
Scores are 0-100, **higher = more ready** (the opposite of risk scores elsewhere in Clearlane).
Every function is monotone: raising any one answer never lowers any score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clearlane.readiness.questionnaire import PHASES, STEPS, Questionnaire

Levels = Mapping[str, int | None]


def _level(levels: Levels, question_id: str) -> int:
    value = levels.get(question_id)
    return 0 if value is None else int(value)


@dataclass(frozen=True)
class AreaScore:
    """Score of one area, 0-100 (higher = more ready), with how it was answered."""

    area: str
    score: float
    answered: int
    unknown: int
    questions: int


@dataclass(frozen=True)
class ReadinessProfile:
    """All area scores; ``overall`` is the weakest area's score (it gates readiness)."""

    areas: tuple[AreaScore, ...]
    overall: float
    mean: float
    weakest: tuple[str, ...]
    stage: int

    def score(self, area: str) -> float:
        return next(a.score for a in self.areas if a.area == area)


def area_scores(questionnaire: Questionnaire, levels: Levels) -> tuple[AreaScore, ...]:
    """Weighted mean level of each area as a share of ``scale_max``, times 100."""
    out = []
    for area in questionnaire.areas:
        total_weight = sum(q.weight for q in area.questions)
        achieved = sum(q.weight * _level(levels, q.id) for q in area.questions)
        score = 100.0 * achieved / (total_weight * questionnaire.scale_max)
        out.append(AreaScore(
            area=area.id,
            score=round(score, 6),
            answered=sum(1 for q in area.questions if q.id in levels),
            unknown=sum(1 for q in area.questions if q.id in levels and levels[q.id] is None),
            questions=len(area.questions),
        ))
    return tuple(out)


def stage_for(score: float, thresholds: tuple[float, float, float]) -> int:
    """Stage 1-4 of an overall (weakest-area) score: below the first threshold is stage 1."""
    return 1 + sum(1 for t in thresholds if score >= t)


def readiness_profile(questionnaire: Questionnaire, levels: Levels) -> ReadinessProfile:
    """Area scores and the overall readiness, gated by the weakest area (not the mean)."""
    areas = area_scores(questionnaire, levels)
    overall = min(a.score for a in areas)
    return ReadinessProfile(
        areas=areas,
        overall=overall,
        mean=round(sum(a.score for a in areas) / len(areas), 6),
        weakest=tuple(a.area for a in areas if a.score == overall),
        stage=stage_for(overall, questionnaire.stage_thresholds),
    )


@dataclass(frozen=True)
class Action:
    """A prioritised next step for one question below target in an area below threshold."""

    priority: int
    area: str
    area_score: float
    question_id: str
    level: int
    known: bool
    step: str
    phase: str


def prioritised_actions(questionnaire: Questionnaire, levels: Levels) -> tuple[Action, ...]:
    """Actions for areas scoring below ``action_threshold``, most urgent first.

    Order: weakest area first; within it, earlier roadmap phase first, then lower current
    level, then heavier question weight, then questionnaire order.
    """
    profile = readiness_profile(questionnaire, levels)
    phase_rank = {p: i for i, p in enumerate(PHASES)}
    candidates = []
    for order, q in enumerate(questionnaire.questions):
        area_score = profile.score(q.area)
        level = _level(levels, q.id)
        if area_score >= questionnaire.action_threshold or level >= questionnaire.target_level:
            continue
        key = (area_score, phase_rank[q.phase], level, -q.weight, order)
        candidates.append((key, q, area_score, level))
    candidates.sort(key=lambda c: c[0])
    return tuple(
        Action(priority=i + 1, area=q.area, area_score=score, question_id=q.id, level=level,
               known=levels.get(q.id) is not None, step=q.step, phase=q.phase)
        for i, (_, q, score, level) in enumerate(candidates)
    )


@dataclass(frozen=True)
class RoadmapItem:
    question_id: str
    area: str
    level: int


@dataclass(frozen=True)
class RoadmapStep:
    step: str
    items: tuple[RoadmapItem, ...]
    questions: int


@dataclass(frozen=True)
class RoadmapPhase:
    """One phase: ``progress`` is the share (0-1) of its questions at the target level."""

    phase: str
    status: str
    progress: float
    steps: tuple[RoadmapStep, ...]


@dataclass(frozen=True)
class Roadmap:
    """Foundations -> pilot -> scale; ``current`` is the first phase not yet in place."""

    phases: tuple[RoadmapPhase, ...]
    current: str | None


def roadmap(questionnaire: Questionnaire, levels: Levels) -> Roadmap:
    """The phased roadmap: per phase and step, the questions still below target."""
    phases = []
    for phase in PHASES:
        questions = [q for q in questionnaire.questions if q.phase == phase]
        at_target = [q for q in questions if _level(levels, q.id) >= questionnaire.target_level]
        progress = len(at_target) / len(questions) if questions else 1.0
        status = "done" if progress == 1.0 else ("not_started" if progress == 0 else "in_progress")
        steps = []
        for step in STEPS:
            in_step = [q for q in questions if q.step == step]
            if not in_step:
                continue
            items = tuple(
                RoadmapItem(q.id, q.area, _level(levels, q.id))
                for q in sorted(in_step, key=lambda q: (_level(levels, q.id), -q.weight))
                if _level(levels, q.id) < questionnaire.target_level
            )
            steps.append(RoadmapStep(step, items, len(in_step)))
        phases.append(RoadmapPhase(phase, status, round(progress, 6), tuple(steps)))
    current = next((p.phase for p in phases if p.status != "done"), None)
    return Roadmap(tuple(phases), current)


@dataclass(frozen=True)
class AreaChange:
    area: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return round(self.after - self.before, 6)


@dataclass(frozen=True)
class QuestionChange:
    question_id: str
    before: int | None
    after: int | None


@dataclass(frozen=True)
class Comparison:
    """Two assessments of (normally) the same administration, before and after."""

    areas: tuple[AreaChange, ...]
    overall_before: float
    overall_after: float
    stage_before: int
    stage_after: int
    questions: tuple[QuestionChange, ...]


def compare_levels(questionnaire: Questionnaire, before: Levels, after: Levels) -> Comparison:
    """Area, overall and stage changes, and every question whose answer changed."""
    p0 = readiness_profile(questionnaire, before)
    p1 = readiness_profile(questionnaire, after)
    changes = tuple(
        QuestionChange(q.id, before.get(q.id), after.get(q.id))
        for q in questionnaire.questions
        if (q.id in before) != (q.id in after) or before.get(q.id) != after.get(q.id)
    )
    return Comparison(
        areas=tuple(AreaChange(a.area, a.score, p1.score(a.area)) for a in p0.areas),
        overall_before=p0.overall, overall_after=p1.overall,
        stage_before=p0.stage, stage_after=p1.stage,
        questions=changes,
    )
