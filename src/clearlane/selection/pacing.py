"""Real-time lanes under capacity: the lane of the next lodged unit, paced through the day.

Batch selection (:mod:`clearlane.selection.selector`) sees a finished day and gives red to its
best ``min(red_rate × n, capacity)`` units. At lodgement the day is not finished: the units
arrive one at a time and ``declared_at`` is a date, not a time, so the only clock is the count
of arrivals. A :class:`PacingPlan` is learned, per office and day, from the office's recent
days (their arrival volumes and the distribution of the selection score, the objective the
policy ranks by: expected revenue or fraud probability, higher = riskier); a
:class:`DayState` counts what the day has spent so far; :func:`decide_lane` places the next
unit, in this order:

1. **Mandatory rule** hits force their lane (basis ``mandatory_rule``). A mandatory red is
   granted even when the red capacity is spent; the overflow is reported, never hidden.
2. **Random control**: a uniform draw, made first for every new unit and independent of its
   scores, sends the unit red with probability ``random_share`` (basis ``random``) while red
   capacity remains.
3. **Paced red**: the objective is compared with today's threshold: the quantile of the recent
   scores above which lies the share of units that spends the red slots left for scores
   (capacity left, minus the expected random and mandatory reds of the rest of the day, minus
   exploration's share) over the expected remaining arrivals (basis ``paced``). It is
   recomputed at every arrival, so it falls when the day runs behind and rises when it runs
   ahead.
4. **Exploration**: a second uniform draw sends the unit red with a probability that spends
   ``exploration_share`` of the discretionary red slots over the remaining arrivals that the
   threshold leaves, weighted
   as batch exploration weights (``uncertainty``: p·(1−p); ``anomaly``: the anomaly score's
   rank among recent units; otherwise uniform) (basis ``exploration``).
5. **Paced yellow**: the same with the yellow rate, on the next band of the score
   distribution (basis ``paced``); **blue** when the anomaly score reaches the recent
   ``1 − blue_rate`` quantile (basis ``anomaly``); else **green** (basis ``none``).

Guarantees: no unit but a mandatory red is ever made red once the day's red budget
(``min(capacity, red_rate × expected arrivals)``, growing with the arrivals past the
expectation) is spent, and yellow never passes its budget; the random draw is made from the
generator before any score is read. Not guaranteed: that the whole capacity is spent (a day
with fewer arrivals than expected ends with slots left; the expected volume is a low quantile
of recent volumes to make that rare), nor that the units picked are exactly the ones a batch
selection of the finished day would pick (see docs/selectivity.md for the measured agreement).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from clearlane.selection.policy import SelectionPolicy

PACING_BASES: tuple[str, ...] = ("mandatory_rule", "random", "paced", "exploration", "anomaly",
                                 "none")
"""``basis`` names of a paced lane (``random``, ``exploration``, ``anomaly``, ``none`` and
``mandatory_rule`` mean what they mean in a batch selection; ``paced`` replaces the batch's
``model``: above today's paced threshold)."""

LANES: tuple[str, ...] = ("red", "yellow", "blue", "green")


@dataclass(frozen=True)
class PacingSettings:
    """How the expected volume is read from the recent days.

    ``history_days``: recent days looked at. ``volume_quantile``: the expected arrivals of a
    day are this quantile of the recent daily volumes of the same weekday (of every day when
    fewer than ``min_weekdays`` of them): a low quantile spends the capacity by the time a
    quiet day's arrivals are in, at the cost of a lower bar on busy days. ``tail_share``: past
    the expected volume, the slots left are spread over this share of it (the remaining
    arrivals are never taken as fewer)."""

    history_days: int = 56
    volume_quantile: float = 0.25
    min_weekdays: int = 3
    tail_share: float = 0.1


@dataclass(frozen=True, eq=False)
class OfficeHistory:
    """An office's recent days: ``volumes`` (day → units that arrived), ``scores`` (the
    objective of recent units, one value per unit, higher = riskier), ``probabilities``
    (their fraud probabilities, for uncertainty exploration) and ``anomalies`` (their anomaly
    scores). Only days before the paced day."""

    volumes: dict[date, int]
    scores: np.ndarray
    probabilities: np.ndarray
    anomalies: np.ndarray


@dataclass(frozen=True, eq=False)
class PacingPlan:
    """What pacing an office's day needs, learned once from its recent days.

    ``expected_volume``: units expected today (≥ 1). ``capacity``: the policy's red capacity
    of the office (None = no limit). ``scores``: recent objectives, sorted ascending.
    ``mean_explore_weight``: the mean exploration weight of recent units (to turn a weight
    into a probability). ``blue_cutoff``: the recent ``1 − blue_rate`` anomaly quantile.
    """

    office: str | None
    day: date
    policy: SelectionPolicy
    settings: PacingSettings
    expected_volume: float
    capacity: int | None
    scores: np.ndarray
    mean_explore_weight: float
    anomaly_sorted: np.ndarray
    blue_cutoff: float | None
    history_units: int
    pooled_history: bool = False
    """The scores are every office's (the office had too few recent scored units)."""
    weight_cumsum: np.ndarray | None = None
    """Cumulative exploration weights of the recent units in ``scores`` order."""

    def explore_pool(self, threshold: float) -> tuple[float, float]:
        """(share of recent units below ``threshold``, their mean exploration weight):
        exploration samples among the units the paced threshold leaves."""
        n = len(self.scores)
        if n == 0 or self.weight_cumsum is None:
            return 1.0, self.mean_explore_weight
        k = int(np.searchsorted(self.scores, threshold, side="left"))
        if k == 0:
            return 1.0 / n, self.mean_explore_weight
        return k / n, max(float(self.weight_cumsum[k - 1]) / k, 1e-9)

    def red_budget(self, arrivals: int) -> int:
        """Red units the day may spend after ``arrivals`` units: ``red_rate`` × the larger of
        the expected and the actual arrivals, at most the capacity."""
        slots = math.floor(self.policy.red_rate * max(self.expected_volume, arrivals) + 0.5)
        return slots if self.capacity is None else min(slots, self.capacity)

    def yellow_budget(self, arrivals: int) -> int:
        return math.floor(self.policy.yellow_rate * max(self.expected_volume, arrivals) + 0.5)

    def remaining_arrivals(self, arrivals: int) -> float:
        """Units still expected today after ``arrivals`` (never below the tail share of the
        expected volume, nor below 1)."""
        return max(self.expected_volume - arrivals,
                   self.settings.tail_share * self.expected_volume, 1.0)

    def quantile_above(self, share: float) -> float:
        """The score above which lies ``share`` of the recent units: +inf for a share ≤ 0,
        −inf for a share ≥ 1. Non-increasing in ``share``."""
        if share <= 0 or len(self.scores) == 0:
            return math.inf
        if share >= 1:
            return -math.inf
        return float(np.quantile(self.scores, 1.0 - share))

    def explore_weight(self, fraud_probability: float | None,
                       anomaly_score: float | None) -> float:
        """The unit's exploration weight, as batch exploration weighs it."""
        if self.policy.exploration == "uncertainty":
            p = fraud_probability or 0.0
            return p * (1.0 - p)
        if self.policy.exploration == "anomaly":
            if len(self.anomaly_sorted) == 0 or anomaly_score is None:
                return 0.5
            rank = np.searchsorted(self.anomaly_sorted, anomaly_score, side="right")
            return float(rank) / len(self.anomaly_sorted)
        return 1.0


def expected_volume(volumes: dict[date, int], day: date, settings: PacingSettings) -> float:
    """Units expected on ``day``: the ``volume_quantile`` of the recent daily volumes of its
    weekday (of all recent days when too few of that weekday); 1 without history."""
    recent = {d: n for d, n in volumes.items()
              if day - timedelta(days=settings.history_days) <= d < day and n > 0}
    same = [n for d, n in recent.items() if d.weekday() == day.weekday()]
    values = same if len(same) >= settings.min_weekdays else list(recent.values())
    if not values:
        return 1.0
    return max(1.0, float(np.quantile(np.asarray(values, dtype=float), settings.volume_quantile)))


def plan_day(office: str | None, day: date, history: OfficeHistory, policy: SelectionPolicy,
             settings: PacingSettings | None = None) -> PacingPlan:
    """The :class:`PacingPlan` of ``office`` on ``day`` from its recent ``history``."""
    settings = settings or PacingSettings()
    policy = policy.validate()
    raw = np.nan_to_num(np.asarray(history.scores, dtype=float), nan=0.0)
    order = np.argsort(raw, kind="stable")
    scores = raw[order]
    probabilities = np.nan_to_num(np.asarray(history.probabilities, dtype=float), nan=0.0)
    anomalies = np.nan_to_num(np.asarray(history.anomalies, dtype=float), nan=0.0)
    anomaly_sorted = np.sort(anomalies)
    if policy.exploration == "uncertainty" and len(probabilities):
        weights = probabilities * (1 - probabilities)
    elif policy.exploration == "anomaly" and len(anomalies):
        weights = (np.searchsorted(anomaly_sorted, anomalies, side="right")
                   / len(anomaly_sorted))
    else:
        weights = np.ones(len(raw))
    weights = weights[order] if len(weights) == len(raw) else np.ones(len(raw))
    blue = (float(np.quantile(anomaly_sorted, 1.0 - policy.blue_rate))
            if len(anomaly_sorted) and policy.blue_rate > 0 else None)
    return PacingPlan(office, day, policy, settings,
                      expected_volume(history.volumes, day, settings),
                      policy.capacity_for(office), scores,
                      max(float(np.mean(weights)) if len(weights) else 1.0, 1e-9),
                      anomaly_sorted, blue, len(scores), weight_cumsum=np.cumsum(weights))


@dataclass(frozen=True)
class DayState:
    """What an office's day has lodged so far: units arrived and red / yellow units by basis.

    ``red`` counts every red unit (mandatory ones included); ``red_mandatory`` those forced by a
    mandatory rule; ``random_drawn`` the units the random draw selected (mandatory ones
    included, as the batch's ``random_control``)."""

    arrivals: int = 0
    red: int = 0
    red_mandatory: int = 0
    red_random: int = 0
    red_exploration: int = 0
    red_paced: int = 0
    yellow: int = 0
    yellow_mandatory: int = 0
    random_drawn: int = 0

    def after(self, decision: LaneDecision, *, new_unit: bool = True,
              was: str | None = None) -> DayState:
        """The state once ``decision`` is taken for a unit (``new_unit`` False for a later
        item of a unit already counted, whose lane was ``was``)."""
        state = replace(self, arrivals=self.arrivals + int(new_unit),
                        random_drawn=self.random_drawn + int(decision.random_control))
        if decision.lane == "red" and was != "red":
            counts = {"mandatory_rule": "red_mandatory", "random": "red_random",
                      "exploration": "red_exploration", "paced": "red_paced"}
            state = replace(state, red=state.red + 1)
            if decision.basis in counts:
                name = counts[decision.basis]
                state = replace(state, **{name: getattr(state, name) + 1})
            if was == "yellow":
                state = replace(state, yellow=state.yellow - 1)
        elif decision.lane == "yellow" and was not in ("red", "yellow"):
            state = replace(state, yellow=state.yellow + 1,
                            yellow_mandatory=state.yellow_mandatory
                            + int(decision.basis == "mandatory_rule"))
        return state


@dataclass(frozen=True)
class UnitScores:
    """The scores of the unit being placed: ``objective`` (what the policy ranks by; None when
    no fraud model scored it), ``fraud_probability``, ``anomaly_score`` and the most intrusive
    lane a mandatory rule forces (``mandatory_lane``, with the rule ids)."""

    objective: float | None
    fraud_probability: float | None = None
    anomaly_score: float | None = None
    mandatory_lane: str | None = None
    mandatory_rules: str = ""
    items: int = 1
    """Items the unit holds (a declaration lodged with several items is scored as a whole)."""


@dataclass(frozen=True)
class LaneDecision:
    """The lane of one unit, its basis, and the numbers behind it."""

    lane: str
    basis: str
    note: str
    threshold: float | None = None
    """Today's paced red threshold when the unit was placed (None when not computed)."""
    random_control: bool = False
    """Selected by the random draw (recorded also when a mandatory rule had forced it red)."""
    overflow: bool = False
    """A mandatory red beyond the day's red budget."""


@dataclass(frozen=True)
class Thresholds:
    """Today's paced thresholds after ``arrivals`` units (+inf: no slot left for scores)."""

    red: float
    yellow: float
    red_share: float
    explore_probability: float
    red_budget: int
    yellow_budget: int


def thresholds(plan: PacingPlan, state: DayState) -> Thresholds:
    """The paced red and yellow thresholds and the exploration rate for the next unit.

    Red slots for scores = budget − spent − ⌊(random share + today's mandatory red rate) ×
    arrivals still expected before the expected volume⌋, of which ``exploration_share`` is left
    to exploration; the red
    threshold is the recent score quantile above which lies that many slots ÷ remaining
    arrivals. Yellow takes the next band of ``(yellow budget − spent) ÷ remaining``."""
    policy = plan.policy
    arriving = state.arrivals + 1
    remaining = plan.remaining_arrivals(state.arrivals)
    red_budget = plan.red_budget(arriving)
    yellow_budget = plan.yellow_budget(arriving)
    mandatory_rate = state.red_mandatory / state.arrivals if state.arrivals else 0.0
    # whole slots kept for the random draws and mandatory hits still expected before the
    # expected volume (a fraction of a slot is not kept: it would leave the last slot unspent)
    reserved = math.floor((policy.random_share + mandatory_rate)
                          * max(0.0, plan.expected_volume - state.arrivals))
    discretionary = max(0.0, red_budget - state.red - reserved)
    explore = policy.exploration_share * discretionary
    red_share = (discretionary - explore) / remaining
    yellow_share = max(0.0, yellow_budget - state.yellow) / remaining
    explore_probability = explore / remaining
    return Thresholds(plan.quantile_above(red_share),
                      plan.quantile_above(max(red_share, 0.0) + yellow_share),
                      red_share, explore_probability, red_budget, yellow_budget)


def _amount(plan: PacingPlan, value: float) -> str:
    if not math.isfinite(value):
        return "none left" if value > 0 else "any score"
    return f"{value:,.0f}" if plan.policy.objective == "revenue" else f"{value:.3f}"


def _unit(plan: PacingPlan, items: int) -> str:
    name = "expected revenue" if plan.policy.objective == "revenue" else "fraud probability"
    return f"{name} of the declaration's {items} items" if items > 1 else name


def decide_lane(plan: PacingPlan, state: DayState, unit: UnitScores, rng: np.random.Generator,
                *, new_unit: bool = True) -> LaneDecision:
    """The lane of the next unit of ``plan``'s office and day (steps 1-5 of the module
    docstring). ``rng`` gives two uniform draws for a new unit (random control, then
    exploration), taken before any score is read; a later item of a unit already counted
    (``new_unit`` False) draws only for exploration and is never a random control."""
    u_random = float(rng.random()) if new_unit else 1.0
    u_explore = float(rng.random())
    drawn = u_random < plan.policy.random_share
    t = thresholds(plan, state)
    spent = (f"red {state.red} of {t.red_budget} spent, "
             f"{min(state.arrivals, plan.expected_volume) / plan.expected_volume:.0%} of the "
             f"{plan.expected_volume:,.0f} expected arrivals")
    if unit.mandatory_lane is not None:
        over = unit.mandatory_lane == "red" and state.red >= t.red_budget
        note = f"mandatory rule {unit.mandatory_rules} forces the {unit.mandatory_lane} lane"
        if over:
            note += (f" (beyond today's red budget: {state.red + 1} red for "
                     f"{t.red_budget} slots)")
        return LaneDecision(unit.mandatory_lane, "mandatory_rule", note, t.red, drawn, over)
    room = state.red < t.red_budget
    if drawn and room:
        return LaneDecision("red", "random", "drawn for the random control sample (share "
                            f"{plan.policy.random_share:.1%}, independent of the scores; "
                            f"{spent})", t.red, True)
    control = (" (drawn for the random control sample, but no red slot was left)"
               if drawn else "")
    if unit.objective is None:
        return LaneDecision("green", "none", "no fraud model scored the item: only mandatory "
                            "rules and the random control can select it" + control, None, drawn)
    objective = float(unit.objective)
    shown, unit_name = _amount(plan, objective), _unit(plan, unit.items)
    if room and objective >= t.red:
        return LaneDecision("red", "paced", f"{unit_name} {shown} ≥ today's paced red "
                            f"threshold {_amount(plan, t.red)} ({spent}){control}",
                            t.red, drawn)
    # exploration samples among the units the threshold leaves: its rate is divided by their
    # share, and the weight by their mean weight, so that it spends its slots over them
    below, mean_weight = plan.explore_pool(t.red)
    weight = plan.explore_weight(unit.fraud_probability, unit.anomaly_score)
    p_explore = min(1.0, t.explore_probability / below * weight / mean_weight)
    if room and u_explore < p_explore:
        return LaneDecision("red", "exploration", f"sampled for exploration (probability "
                            f"{p_explore:.1%}, {plan.policy.exploration} weighting; {spent})"
                            + control, t.red, drawn)
    if state.yellow < t.yellow_budget and objective >= t.yellow:
        return LaneDecision("yellow", "paced", f"{unit_name} {shown} ≥ today's paced yellow "
                            f"threshold {_amount(plan, t.yellow)} (yellow {state.yellow} of "
                            f"{t.yellow_budget} spent){control}", t.red, drawn)
    if (plan.blue_cutoff is not None and unit.anomaly_score is not None
            and unit.anomaly_score >= plan.blue_cutoff):
        return LaneDecision("blue", "anomaly", f"anomaly score {unit.anomaly_score:.2f} ≥ "
                            f"{plan.blue_cutoff:.2f}, the recent top "
                            f"{plan.policy.blue_rate:.0%} of the office{control}", t.red, drawn)
    bar = (f"red {_amount(plan, t.red)}" if room and math.isfinite(t.red)
           else "no red slot left for scores")
    return LaneDecision("green", "none", f"{unit_name} {shown} below today's paced "
                        f"thresholds ({bar}; {spent}){control}", t.red, drawn)


__all__ = ["PACING_BASES", "DayState", "LaneDecision", "OfficeHistory", "PacingPlan",
           "PacingSettings", "Thresholds", "UnitScores", "decide_lane", "expected_volume",
           "plan_day", "thresholds"]
