"""Scoring properties: monotone in every answer, the weakest area gates, AIA-style impact."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.readiness.impact import impact_level, impact_score
from clearlane.readiness.questionnaire import load_impact_questionnaire, load_questionnaire
from clearlane.readiness.scoring import (
    compare_levels,
    prioritised_actions,
    readiness_profile,
    roadmap,
    stage_for,
)

Q = load_questionnaire()
IQ = load_impact_questionnaire()
IDS = [q.id for q in Q.questions]

# An answer is a level, None (don't know) or absent (not answered yet).
answer = st.one_of(st.integers(0, Q.scale_max), st.none(), st.just("absent"))
answers = st.fixed_dictionaries({qid: answer for qid in IDS}).map(
    lambda d: {k: v for k, v in d.items() if v != "absent"}
)


@settings(max_examples=150, deadline=None)
@given(levels=answers, qid=st.sampled_from(IDS), new_level=st.integers(0, Q.scale_max))
def test_raising_one_answer_never_lowers_any_score(levels, qid, new_level) -> None:
    old = levels.get(qid)
    if old is not None and new_level < old:
        new_level = old  # a raise only
    raised = {**levels, qid: new_level}
    before, after = readiness_profile(Q, levels), readiness_profile(Q, raised)
    for a0, a1 in zip(before.areas, after.areas, strict=True):
        assert a1.score >= a0.score
    assert after.overall >= before.overall
    assert after.stage >= before.stage
    assert after.mean >= before.mean


@settings(max_examples=150, deadline=None)
@given(levels=answers)
def test_weakest_area_gates_overall_readiness(levels) -> None:
    profile = readiness_profile(Q, levels)
    scores = [a.score for a in profile.areas]
    assert profile.overall == min(scores)
    assert profile.overall <= profile.mean
    assert set(profile.weakest) == {a.area for a in profile.areas if a.score == min(scores)}
    assert profile.stage == stage_for(min(scores), Q.stage_thresholds)


@settings(max_examples=100, deadline=None)
@given(levels=answers)
def test_actions_only_for_areas_below_threshold_weakest_first(levels) -> None:
    profile = readiness_profile(Q, levels)
    actions = prioritised_actions(Q, levels)
    for action in actions:
        assert profile.score(action.area) < Q.action_threshold
        assert (levels.get(action.question_id) or 0) < Q.target_level
    assert [a.priority for a in actions] == list(range(1, len(actions) + 1))
    assert [a.area_score for a in actions] == sorted(a.area_score for a in actions)
    if actions:
        assert actions[0].area in profile.weakest


def test_perfect_areas_outside_the_weakest_do_not_lift_overall() -> None:
    levels = {qid: Q.scale_max for qid in IDS}
    for q in Q.questions:
        if q.area == "legal":
            levels[q.id] = 1
    profile = readiness_profile(Q, levels)
    assert profile.mean > 80
    assert profile.weakest == ("legal",)
    assert profile.overall == pytest.approx(25.0)
    assert profile.stage == 2  # gated by legal, not by the mean


def test_dont_know_scores_as_zero_and_is_counted() -> None:
    profile = readiness_profile(Q, {"data.digital": None, "data.standards": 4})
    data = next(a for a in profile.areas if a.area == "data")
    assert data.unknown == 1 and data.answered == 2
    # weights: digital 2, standards 2, outcomes 2, quality 1, history 1, sources 1 -> 9
    assert data.score == pytest.approx(100 * 2 * 4 / (9 * 4))


def test_roadmap_phases_follow_the_answers() -> None:
    empty = roadmap(Q, {})
    assert [p.phase for p in empty.phases] == ["foundations", "pilot", "scale"]
    assert empty.current == "foundations"
    assert all(p.status == "not_started" for p in empty.phases)
    foundations_done = {q.id: 3 for q in Q.questions if q.phase == "foundations"}
    plan = roadmap(Q, foundations_done)
    assert plan.phases[0].status == "done" and plan.current == "pilot"
    assert all(not s.items for s in plan.phases[0].steps)
    assert roadmap(Q, {qid: 4 for qid in IDS}).current is None


def test_compare_lists_changed_questions() -> None:
    result = compare_levels(Q, {"data.digital": 1}, {"data.digital": 3, "legal.basis": None})
    assert {c.question_id for c in result.questions} == {"data.digital", "legal.basis"}
    data = next(a for a in result.areas if a.area == "data")
    assert data.change > 0


# -- impact assessment (AIA model) ----------------------------------------------------------

risk_answers = st.fixed_dictionaries(
    {q.id: st.one_of(st.none(), st.sampled_from([n for n, _ in q.options])) for q in IQ.risk}
)
mitigation_answers = st.fixed_dictionaries(
    {q.id: st.one_of(st.none(), st.booleans()) for q in IQ.mitigation}
)


def test_unanswered_impact_is_the_highest_level() -> None:
    result = impact_score(IQ, {}, {})
    assert result.raw == IQ.max_raw and result.level == 4
    assert "no_automatic_lanes" in result.obligations


def test_strong_mitigation_reduces_raw_score_by_15_percent() -> None:
    risk = {q.id: q.options[-1][0] for q in IQ.risk}
    all_yes = {q.id: True for q in IQ.mitigation}
    result = impact_score(IQ, risk, all_yes)
    assert result.mitigation_applied
    assert result.final == pytest.approx(result.raw * 0.85)
    # Just under 80 % of mitigation: no reduction.
    weakest = sorted(IQ.mitigation, key=lambda q: -q.points)
    partial, points = {}, 0
    for q in weakest:
        if points + q.points < 0.8 * IQ.max_mitigation:
            partial[q.id] = True
            points += q.points
    assert not impact_score(IQ, risk, partial).mitigation_applied


def test_impact_levels_and_cumulative_obligations() -> None:
    assert [impact_level(s, IQ.level_bounds) for s in (0, 0.25, 0.26, 0.5, 0.75, 0.76, 1)] == [
        1, 1, 2, 2, 3, 4, 4]
    low = impact_score(IQ, {q.id: q.options[0][0] for q in IQ.risk},
                       {q.id: True for q in IQ.mitigation})
    assert low.level == 1
    assert set(low.obligations) == {"model_card", "random_audit_sample", "audit_log"}
    assert "human_review_red" in impact_score(IQ, {}, {}).obligations


@settings(max_examples=100, deadline=None)
@given(risk=risk_answers, mitigation=mitigation_answers, which=st.sampled_from(
    [q.id for q in IQ.mitigation]))
def test_more_mitigation_never_raises_impact(risk, mitigation, which) -> None:
    before = impact_score(IQ, risk, mitigation)
    after = impact_score(IQ, risk, {**mitigation, which: True})
    assert after.final <= before.final and after.level <= before.level


@settings(max_examples=100, deadline=None)
@given(risk=risk_answers, mitigation=mitigation_answers, which=st.sampled_from(IQ.risk))
def test_riskier_answer_never_lowers_impact(risk, mitigation, which) -> None:
    riskiest = max(which.options, key=lambda o: o[1])[0]
    before = impact_score(IQ, risk, mitigation)
    after = impact_score(IQ, {**risk, which.id: riskiest}, mitigation)
    assert after.final >= before.final and after.level >= before.level
