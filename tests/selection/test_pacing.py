"""Pacing at lodgement, the pure part: capacity is never exceeded but by mandatory rules, the
threshold falls as capacity is left, the random draw ignores the scores, and a paced day
spends its capacity."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.selection.pacing import (
    DayState,
    OfficeHistory,
    PacingPlan,
    PacingSettings,
    UnitScores,
    decide_lane,
    expected_volume,
    plan_day,
    thresholds,
)
from clearlane.selection.policy import SelectionPolicy

DAY = date(2024, 6, 3)  # a Monday


def history(volume: int = 100, days: int = 28, seed: int = 0) -> OfficeHistory:
    rng = np.random.default_rng(seed)
    n = volume * days
    p = rng.beta(1, 12, n)
    return OfficeHistory({DAY - timedelta(days=d): volume for d in range(1, days + 1)},
                         p * rng.lognormal(8, 1, n), p, rng.gamma(2, 1, n))


def plan(capacity: int | None = 10, red_rate: float = 0.2, random_share: float = 0.02,
         exploration_share: float = 0.1, volume: int = 100) -> PacingPlan:
    policy = SelectionPolicy(red_rate=red_rate, yellow_rate=0.1, blue_rate=0.03,
                             capacity=None if capacity is None else {"*": capacity},
                             random_share=random_share, exploration_share=exploration_share)
    return plan_day("ABJ01", DAY, history(volume), policy)


def run_day(pl_: PacingPlan, units: list[UnitScores], seed: int) -> tuple[DayState, list[str]]:
    rng = np.random.default_rng(seed)
    state = DayState()
    bases = []
    for unit in units:
        decision = decide_lane(pl_, state, unit, rng)
        state = state.after(decision)
        bases.append(decision.basis if decision.lane == "red" else "-")
    return state, bases


def units_from(scores: list[float], mandatory: list[bool] | None = None) -> list[UnitScores]:
    mandatory = mandatory or [False] * len(scores)
    return [UnitScores(s, 0.1, 1.0, "red" if m else None, "R1" if m else "")
            for s, m in zip(scores, mandatory, strict=True)]


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(st.floats(0, 1e6), min_size=1, max_size=300),
       mandatory=st.data(), capacity=st.integers(0, 15), seed=st.integers(0, 2**16))
def test_red_never_exceeds_capacity_except_by_mandatory_rules(
        scores: list[float], mandatory: st.DataObject, capacity: int, seed: int) -> None:
    forced = mandatory.draw(st.lists(st.booleans(), min_size=len(scores),
                                     max_size=len(scores)))
    pl_ = plan(capacity=capacity)
    rng = np.random.default_rng(seed)
    state = DayState()
    overflow = 0
    for unit in units_from(scores, forced):
        decision = decide_lane(pl_, state, unit, rng)
        if decision.lane == "red" and decision.basis != "mandatory_rule":
            assert state.red < min(capacity, pl_.red_budget(state.arrivals + 1))
        if decision.overflow:
            assert decision.basis == "mandatory_rule" and state.red >= capacity
            assert "beyond today's red budget" in decision.note
        overflow += decision.overflow
        state = state.after(decision)
    # a mandatory hit arriving once the slots are spent is granted and reported (overflow)
    assert state.red <= capacity + overflow
    assert overflow <= state.red_mandatory


@settings(max_examples=80, deadline=None)
@given(arrivals=st.integers(0, 400), spent=st.integers(0, 30), capacity=st.integers(0, 40))
def test_threshold_falls_as_more_capacity_is_left(arrivals: int, spent: int,
                                                  capacity: int) -> None:
    pl_ = plan(capacity=capacity)
    more_left = thresholds(pl_, DayState(arrivals=arrivals, red=spent))
    less_left = thresholds(pl_, DayState(arrivals=arrivals, red=spent + 1))
    assert more_left.red <= less_left.red
    assert more_left.red_share >= less_left.red_share


@settings(max_examples=40, deadline=None)
@given(arrivals=st.integers(0, 200), spent=st.integers(0, 5))
def test_threshold_falls_as_the_day_fills_without_spending(arrivals: int, spent: int) -> None:
    pl_ = plan(capacity=20)
    earlier = thresholds(pl_, DayState(arrivals=arrivals, red=spent))
    later = thresholds(pl_, DayState(arrivals=arrivals + 10, red=spent))
    assert later.red <= earlier.red


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), low=st.floats(0, 10), high=st.floats(1e5, 1e7))
def test_the_random_draw_does_not_depend_on_the_score(seed: int, low: float,
                                                      high: float) -> None:
    """Same generator state, scores at either end: the same units are drawn at random."""
    pl_ = plan(capacity=None, red_rate=0.5, random_share=0.3)
    drawn = []
    for score in (low, high):
        rng = np.random.default_rng(seed)
        state = DayState()
        marks = []
        for _ in range(40):
            decision = decide_lane(pl_, state, UnitScores(score, 0.1, 1.0), rng)
            marks.append(decision.random_control)
            state = state.after(decision)
        drawn.append(marks)
    assert drawn[0] == drawn[1]


def test_random_share_is_its_probability_and_independent_of_the_score() -> None:
    pl_ = plan(capacity=None, red_rate=0.5, random_share=0.05)
    rng = np.random.default_rng(7)
    score_rng = np.random.default_rng(8)
    drawn_scores, all_scores = [], []
    state = DayState()
    for _ in range(20_000):
        score = float(score_rng.lognormal(6, 2))
        decision = decide_lane(pl_, state, UnitScores(score, 0.1, 1.0), rng)
        all_scores.append(score)
        if decision.random_control:
            drawn_scores.append(score)
        state = DayState()  # every unit with room: the draw alone decides
    n, k = len(all_scores), len(drawn_scores)
    assert abs(k - 0.05 * n) <= 3.3 * np.sqrt(n * 0.05 * 0.95)
    # the drawn units' scores look like everyone's (medians within a few percentiles)
    rank = np.searchsorted(np.sort(all_scores), np.median(drawn_scores)) / n
    assert 0.45 < rank < 0.55


def test_a_paced_day_spends_its_capacity_on_the_riskier_units() -> None:
    pl_ = plan(capacity=10, red_rate=0.3, volume=100)
    rng = np.random.default_rng(3)
    spent, lifts = [], []
    for day in range(40):
        n = int(rng.integers(100, 140))  # at least the expected volume
        scores = list(history(100, 1, seed=100 + day).scores[:n])
        if len(scores) < n:
            scores += list(history(100, 1, seed=500 + day).scores[:n - len(scores)])
        state, bases = run_day(pl_, units_from(scores), seed=day)
        spent.append(state.red)
        paced = [s for s, b in zip(scores, bases, strict=True) if b == "paced"]
        lifts.append(np.mean(paced) / np.mean(scores) if paced else 0.0)
    assert max(spent) <= 10
    assert np.mean([s == 10 for s in spent]) >= 0.9
    assert np.median(lifts) > 2  # paced reds are far above the average unit


def test_mandatory_red_beyond_capacity_is_granted_and_reported() -> None:
    pl_ = plan(capacity=1)
    rng = np.random.default_rng(0)
    state = DayState()
    for _ in range(3):
        decision = decide_lane(pl_, state, UnitScores(1.0, 0.1, 1.0, "red", "R7"), rng)
        assert decision.lane == "red" and decision.basis == "mandatory_rule"
        state = state.after(decision)
    assert decision.overflow and "beyond today's red budget" in decision.note
    assert state.red == 3 and state.red_mandatory == 3
    after = decide_lane(pl_, state, UnitScores(1e9, 0.1, 1.0), rng)
    assert after.lane != "red"


def test_notes_say_threshold_and_spend() -> None:
    pl_ = plan(capacity=20, red_rate=0.2, random_share=0.0, exploration_share=0.0)
    rng = np.random.default_rng(0)
    decision = decide_lane(pl_, DayState(arrivals=48, red=12), UnitScores(1e9, 0.1, 1.0), rng)
    assert decision.lane == "red" and decision.basis == "paced"
    assert "≥ today's paced red threshold" in decision.note
    assert "red 12 of 20 spent, 48% of the 100 expected arrivals" in decision.note


def test_unscored_units_only_go_red_by_the_draw_or_a_rule() -> None:
    pl_ = plan(capacity=None, red_rate=0.5, random_share=0.0)
    decision = decide_lane(pl_, DayState(), UnitScores(None), np.random.default_rng(0))
    assert decision.lane == "green" and "no fraud model" in decision.note


@pytest.mark.parametrize(("volumes", "expected"), [
    ({}, 1.0),
    ({DAY - timedelta(days=7 * k): 40 + k for k in range(1, 5)}, 41.75),
])
def test_expected_volume_is_a_low_quantile_of_the_same_weekday(
        volumes: dict[date, int], expected: float) -> None:
    assert expected_volume(volumes, DAY, PacingSettings()) == pytest.approx(expected)


def test_exploration_follows_uncertainty() -> None:
    pl_ = plan(capacity=None, red_rate=0.5, random_share=0.0, exploration_share=1.0)
    assert pl_.explore_weight(0.5, None) > pl_.explore_weight(0.01, None)
    rng = np.random.default_rng(1)
    explored = {0.5: 0, 0.01: 0}
    for p in explored:
        for _ in range(2000):
            decision = decide_lane(pl_, DayState(), UnitScores(0.0, p, 1.0), rng)
            explored[p] += decision.basis == "exploration"
    assert explored[0.5] > 3 * explored[0.01]
