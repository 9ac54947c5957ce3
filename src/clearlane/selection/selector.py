"""Lane assignment under capacity: mandatory rules, random control, exploitation, exploration.

For every capacity group (by default one office on one day) of ``n`` units (declarations, or
items when ``per_declaration`` is false), in this order:

1. **Mandatory rules** force their lane (always red for a mandatory red rule, whatever the
   capacity; an overflow beyond capacity is reported, never hidden).
2. **Red slots** = ``red_rate × n`` (stochastically rounded), capped by the office capacity.
3. **Random control**: ``random_share × n`` units drawn uniformly from **all** units of the group
   (mandatory ones included, so the sample is unbiased); drawn units go red.
4. **Exploitation**: the remaining red slots, minus the exploration share, go to the units ranked
   highest by non-mandatory red rule severity (when ``rules_first``) then by the objective
   (expected revenue or fraud probability).
5. **Exploration**: ``exploration_share`` of the discretionary red slots are sampled without
   replacement (Gumbel top-k) from the units not yet selected, weighted by ``p·(1−p)``
   (uncertainty), by the anomaly-score rank (anomaly) or by a supplied ``exploration_weight``.
6. **Yellow** (documents) then **blue** (post-clearance audit) take ``yellow_rate × n`` and
   ``blue_rate × n`` of the rest: yellow ranked like exploitation (rule hits asking for yellow
   or red first), blue by rules asking for blue then by anomaly score. The rest is **green**.

Units without any model score (null ``fraud_probability``, ``expected_revenue`` and
``exploration_weight``: never risk-assessed) take no model-driven slot (4, 5, model-ranked yellow,
anomaly blue); rules and the random control still apply to them. An optional ``segment_lift``
column (:func:`clearlane.selection.segments.segment_lift`) is added to the fraud probability
before ranking; text columns ``segment_note``, ``exploration_note`` and ``<extra score>_note``
are quoted as reasons.

Each step is a function (``_mandatory_rules``, ``_red_slots``, ``_random_control``, ``_exploit``,
``_explore``, ``_yellow_or_blue``); ``basis`` names come from :class:`Basis`; the reasons
are worded in :mod:`clearlane.selection.reasons`.

Randomness comes from ``numpy.random.default_rng([seed, crc32(group)])`` after sorting the units
by id, so the same seed gives the same lanes whatever the order of the input rows.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.rules.model import LANES, RuleSet
from clearlane.selection.policy import SelectionPolicy
from clearlane.selection.reasons import note_columns, reason_texts

RED, YELLOW, BLUE, GREEN = 0, 1, 2, 3
"""Lane indices (into :data:`clearlane.rules.model.LANES`): lower = more intrusive."""
NO_LANE = -1
"""A unit not assigned yet (green at the end)."""
NO_RULE_LANE = 9
"""``rule_lane`` of a unit no non-mandatory rule asks a lane for (above every lane index)."""


class Basis(IntEnum):
    """Why a unit got its lane (the primary selection reason), stored by name in ``basis``."""

    MANDATORY_RULE = 0
    """A mandatory rule forced the lane (step 1)."""
    RANDOM = 1
    """Drawn in the random control sample (step 3)."""
    RULE = 2
    """A non-mandatory rule asking for this lane ranked it first (steps 4 and 6)."""
    MODEL = 3
    """Ranked by the objective: expected revenue or fraud probability (steps 4 and 6)."""
    EXPLORATION = 4
    """Sampled by exploration (step 5)."""
    ANOMALY = 5
    """Ranked by the anomaly score for post-clearance audit (blue, step 6)."""
    NONE = 6
    """No selection reason (green)."""


BASES: tuple[str, ...] = tuple(b.name.lower() for b in Basis)
"""``basis`` names in :class:`Basis` order: ``mandatory_rule``, ``random``, ``rule``,
``model``, ``exploration``, ``anomaly``, ``none``."""

Progress = Callable[[float, float | None], None]


@dataclass(frozen=True)
class SelectionResult:
    """Lanes per declaration item with reasons; ``overflow`` lists groups where mandatory rule
    hits alone exceeded the red capacity (``group``, ``capacity``, ``mandatory``)."""

    lanes: pl.DataFrame
    policy: SelectionPolicy
    seed: int
    overflow: tuple[dict[str, Any], ...]
    unassessed: int = 0
    """Units without any model score (no risk assessment): left out of the model-driven
    slots (exploitation, exploration, model-ranked yellow, anomaly blue); rules and the random
    control sample still apply to them."""

    def counts(self) -> pl.DataFrame:
        """Units per lane and basis."""
        unit = "declaration_id" if self.policy.per_declaration else ["declaration_id", "item_no"]
        return (self.lanes.unique(unit).group_by("lane", "basis").len()
                .sort("lane", "basis"))


def _stochastic_round(x: float, rng: np.random.Generator) -> int:
    low = math.floor(x + 1e-12)
    return low + int(rng.random() < x - low)


def _gumbel_top_k(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a weighted sample of ``k`` without replacement (Efraimidis–Spirakis)."""
    if k <= 0 or len(weights) == 0:
        return np.empty(0, dtype=int)
    w = np.nan_to_num(np.asarray(weights, dtype=float), nan=0.0) + 1e-12
    keys = np.log(w) + rng.gumbel(size=len(w))
    k = min(k, len(w))
    return np.argpartition(-keys, k - 1)[:k]


def _units(scores: pl.DataFrame, policy: SelectionPolicy) -> pl.DataFrame:
    frame = scores
    if "declaration_id" not in frame.columns or "declared_at" not in frame.columns:
        raise ValidationError("the scores frame needs 'declaration_id' and 'declared_at'; got "
                              + ", ".join(frame.columns))
    defaults: dict[str, Any] = {"item_no": pl.lit(1, pl.Int64), "office_id": pl.lit(None,
                                pl.String)}
    for name in ("fraud_probability", "expected_revenue", "anomaly_score"):
        defaults[name] = pl.lit(None, pl.Float64)
    if policy.exploration in ("weights", "segments") and "exploration_weight" not in frame.columns:
        raise ValidationError(f"exploration {policy.exploration!r} needs an 'exploration_weight' "
                              "column (for 'segments': see clearlane.selection.segments)")
    defaults["exploration_weight"] = pl.lit(None, pl.Float64)
    defaults["segment_lift"] = pl.lit(None, pl.Float64)
    for name in policy.extra_weights:
        if name not in frame.columns:
            raise ValidationError(f"extra score column {name!r} is not in the scores frame")
    frame = frame.with_columns([e.alias(n) for n, e in defaults.items() if n not in frame.columns])
    if "assessed" not in frame.columns:
        frame = frame.with_columns(
            (pl.col("fraud_probability").is_not_null() | pl.col("expected_revenue").is_not_null()
             | pl.col("exploration_weight").is_not_null()).alias("assessed"))
    frame = frame.with_columns(
        pl.col("declaration_id").cast(pl.String), pl.col("item_no").cast(pl.Int64),
        pl.col("office_id").cast(pl.String),
        pl.col("declared_at").cast(pl.Date).alias("day"),
        *[pl.col(c).cast(pl.Float64) for c in ("fraud_probability", "expected_revenue",
                                               "anomaly_score", "exploration_weight",
                                               "segment_lift",
                                               *policy.extra_weights)],
    )
    frame = frame.with_columns(pl.col("assessed").cast(pl.Boolean).fill_null(False))
    if not policy.per_declaration:
        return frame.with_columns(
            (pl.col("declaration_id") + "#" + pl.col("item_no").cast(pl.String)).alias("unit"))
    return frame.group_by("declaration_id").agg(
        pl.col("office_id").first(), pl.col("day").min(),
        pl.col("assessed").any(),
        (1 - (1 - pl.col("fraud_probability").fill_null(0.0)).product())
        .alias("fraud_probability"),
        pl.col("expected_revenue").sum().alias("expected_revenue"),
        pl.col("anomaly_score").max(),
        pl.col("exploration_weight").max(),
        pl.col("segment_lift").max(),
        *[pl.col(c).drop_nulls().first() for c in note_columns(frame, policy)],
        *[pl.col(c).max() for c in policy.extra_weights],
    ).with_columns(pl.col("declaration_id").alias("unit"))


def _rule_columns(hits: pl.DataFrame | None, per_declaration: bool) -> pl.DataFrame | None:
    if hits is None or hits.height == 0:
        return None
    lane_index = pl.col("lane").replace_strict(list(LANES), list(range(4)),
                                               return_dtype=pl.Int64)
    frame = hits.with_columns(lane_index.alias("lane_i"))
    if per_declaration:
        frame = frame.with_columns(pl.col("declaration_id").alias("unit"))
    else:
        frame = frame.with_columns(
            (pl.col("declaration_id") + "#" + pl.col("item_no").cast(pl.String)).alias("unit"))
    return frame.group_by("unit").agg(
        pl.col("lane_i").filter(pl.col("mandatory")).min().alias("mandatory_lane"),
        pl.col("lane_i").filter(~pl.col("mandatory")).min().alias("rule_lane"),
        pl.col("severity_rank").filter(~pl.col("mandatory")).max().alias("rule_rank"),
        (pl.col("rule_id") + " v" + pl.col("rule_version").cast(pl.String))
        .unique(maintain_order=True).alias("rule_labels"),
        pl.col("rule_id").unique(maintain_order=True).alias("rule_ids"),
    )


def select_lanes(
    scores: pl.DataFrame,
    policy: SelectionPolicy | None = None,
    *,
    hits: pl.DataFrame | None = None,
    rules: RuleSet | None = None,
    seed: int = 0,
    explain: bool = True,
    progress: Progress | None = None,
) -> SelectionResult:
    """Assign a lane to every row of ``scores`` (one row per declaration item).

    ``scores`` holds ``declaration_id``, ``item_no``, ``office_id``, ``declared_at`` and any of
    ``fraud_probability`` (0-1), ``expected_revenue`` (national currency), ``anomaly_score``
    (higher = more unusual) and the extra score columns named in the policy; missing scores count
    as 0. ``hits`` is the output of :func:`clearlane.rules.evaluate_rules`; ``rules`` supplies the
    titles and justifications quoted in reasons. ``model_reasons`` (text), when present, is
    quoted after the model reason. Deterministic for a given ``seed``.
    """
    policy = (policy or SelectionPolicy()).validate()
    units = _grouped_units(scores, policy, hits)
    state = _SelectionState.of(units, policy)
    groups = units["group"].to_numpy()
    n_total = units.height
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if n_total else np.array([])
    ends = np.r_[starts[1:], n_total] if n_total else np.array([])
    offices = units["office_id"].to_list()
    overflow: list[dict[str, Any]] = []
    report = progress or (lambda done, total: None)
    for g, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        rng = np.random.default_rng([seed, zlib.crc32(str(groups[a]).encode())])
        cap = (policy.capacity_for(offices[a]) if "office_id" in policy.group_by
               else policy.capacity_for(None))
        over = _select_group(state, slice(a, b), policy, cap, rng)
        if over is not None:
            overflow.append({"group": str(groups[a]), "capacity": cap, "mandatory": over})
        if g % 64 == 0:
            report(g + 1, len(starts))
    report(len(starts), len(starts))
    return _result(scores, units, state, policy, rules, seed, explain, tuple(overflow))


def _grouped_units(scores: pl.DataFrame, policy: SelectionPolicy,
                   hits: pl.DataFrame | None) -> pl.DataFrame:
    """The units with their rule columns and capacity ``group``, sorted by group then unit id
    (so the lanes do not depend on the order of the input rows)."""
    units = _units(scores, policy)
    rule_cols = _rule_columns(hits, policy.per_declaration)
    if rule_cols is not None:
        units = units.join(rule_cols, on="unit", how="left")
    else:
        units = units.with_columns(
            pl.lit(None, pl.Int64).alias("mandatory_lane"),
            pl.lit(None, pl.Int64).alias("rule_lane"),
            pl.lit(None, pl.Int64).alias("rule_rank"),
            pl.lit(None, pl.List(pl.String)).alias("rule_labels"),
            pl.lit(None, pl.List(pl.String)).alias("rule_ids"),
        )
    keys = list(policy.group_by)
    group_key = (pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in keys],
                               separator="|") if keys else pl.lit(""))
    return units.with_columns(group_key.alias("group")).sort("group", "unit")


def _filled(units: pl.DataFrame, column: str) -> np.ndarray:
    return units[column].fill_null(0.0).fill_nan(0.0).to_numpy()


@dataclass
class _SelectionState:
    """Per-unit inputs (read-only) and outputs (filled group by group) of a selection."""

    p: np.ndarray
    """Fraud probability after the segment lift."""
    objective: np.ndarray
    """What exploitation ranks by (revenue or probability, boosted by the extra scores)."""
    anomaly: np.ndarray
    explore_weight: np.ndarray
    mandatory: np.ndarray
    assessed: np.ndarray
    rule_lane: np.ndarray
    rule_rank: np.ndarray
    lane: np.ndarray
    basis: np.ndarray
    random_control: np.ndarray
    explored: np.ndarray
    rank_pct: np.ndarray

    @classmethod
    def of(cls, units: pl.DataFrame, policy: SelectionPolicy) -> _SelectionState:
        n_total = units.height
        p = _filled(units, "fraud_probability")
        rev = _filled(units, "expected_revenue")
        lift = _filled(units, "segment_lift")
        if lift.any():
            lifted = np.clip(p + lift, 0.0, 1.0)
            rev = np.where(p > 1e-9, rev * lifted / np.maximum(p, 1e-9), rev)
            p = lifted
        objective = rev if policy.objective == "revenue" else p
        if policy.extra_weights:
            boost = np.ones(n_total)
            for name, weight in policy.extra_weights.items():
                boost += weight * np.clip(_filled(units, name), 0, 1)
            objective = objective * boost
        return cls(
            p=p, objective=objective, anomaly=_filled(units, "anomaly_score"),
            explore_weight=_filled(units, "exploration_weight"),
            mandatory=units["mandatory_lane"].fill_null(NO_LANE).to_numpy(),
            assessed=units["assessed"].to_numpy(),
            rule_lane=units["rule_lane"].fill_null(NO_RULE_LANE).to_numpy(),
            rule_rank=units["rule_rank"].fill_null(0).to_numpy(),
            lane=np.full(n_total, NO_LANE, dtype=np.int64),
            basis=np.full(n_total, Basis.NONE, dtype=np.int64),
            random_control=np.zeros(n_total, dtype=bool),
            explored=np.zeros(n_total, dtype=bool),
            rank_pct=np.full(n_total, np.nan),
        )


def _select_group(state: _SelectionState, sl: slice, policy: SelectionPolicy, cap: int | None,
                  rng: np.random.Generator) -> int | None:
    """Steps 1-6 of the module docstring for one capacity group (in place); returns the
    number of mandatory red units when they alone exceed the capacity, else None.

    The order of the draws from ``rng`` is part of the contract (same seed, same lanes)."""
    n = sl.stop - sl.start
    g_lane = state.lane[sl]
    tiebreak = rng.random(n)
    forced = _mandatory_rules(state, sl)
    remaining, overflow = _red_slots(g_lane, policy, cap, n, rng)
    remaining = _random_control(state, sl, policy, remaining, rng)
    _rank_scored(state, sl, tiebreak)
    k_explore = _stochastic_round(policy.exploration_share * remaining, rng)
    _exploit(state, sl, policy, remaining - k_explore, tiebreak)
    _explore(state, sl, policy, k_explore, rng)
    for target, rate in ((YELLOW, policy.yellow_rate), (BLUE, policy.blue_rate)):
        _yellow_or_blue(state, sl, policy, target, rate, forced, tiebreak, rng)
    g_lane[g_lane < 0] = GREEN
    return overflow


def _mandatory_rules(state: _SelectionState, sl: slice) -> np.ndarray:
    """1. Mandatory rules force their lane; returns the forced units of the group."""
    g_mand = state.mandatory[sl]
    forced = g_mand >= 0
    state.lane[sl][forced] = g_mand[forced]
    state.basis[sl][forced] = Basis.MANDATORY_RULE
    return forced


def _red_slots(g_lane: np.ndarray, policy: SelectionPolicy, cap: int | None, n: int,
               rng: np.random.Generator) -> tuple[int, int | None]:
    """2. Red slots under capacity: (slots left after the mandatory reds, the mandatory red
    count when it alone exceeds the capacity)."""
    slots = _stochastic_round(policy.red_rate * n, rng)
    mandatory_red = int((g_lane == RED).sum())
    overflow = None
    if cap is not None:
        slots = min(slots, cap)
        if mandatory_red > cap:
            overflow = mandatory_red
    return max(0, slots - mandatory_red), overflow


def _random_control(state: _SelectionState, sl: slice, policy: SelectionPolicy, remaining: int,
                    rng: np.random.Generator) -> int:
    """3. Random control sample over all units (mandatory ones included, so it is unbiased);
    returns the red slots left."""
    n = sl.stop - sl.start
    g_lane = state.lane[sl]
    k_random = _stochastic_round(policy.random_share * n, rng)
    drawn = rng.permutation(n)[:k_random]
    already = drawn[g_lane[drawn] == RED]
    fresh = drawn[g_lane[drawn] != RED][:remaining]
    state.random_control[sl.start + already] = True
    state.random_control[sl.start + fresh] = True
    g_lane[fresh] = RED
    state.basis[sl][fresh] = Basis.RANDOM
    return remaining - len(fresh)


def _rank_scored(state: _SelectionState, sl: slice, tiebreak: np.ndarray) -> None:
    """Rank by objective among scored units, for "top x %" reasons."""
    scored = np.flatnonzero(state.assessed[sl])
    if len(scored):
        g_obj = state.objective[sl]
        order = scored[np.lexsort((tiebreak[scored], -g_obj[scored]))]
        state.rank_pct[sl.start + order] = 100.0 * np.arange(1, len(order) + 1) / len(order)


def _exploit(state: _SelectionState, sl: slice, policy: SelectionPolicy, k_exploit: int,
             tiebreak: np.ndarray) -> None:
    """4. Exploitation: red rule severity first (with ``rules_first``), then the objective."""
    g_lane = state.lane[sl]
    red_rule = np.where((state.rule_lane[sl] == RED) & policy.rules_first, state.rule_rank[sl], 0)
    free = np.flatnonzero((g_lane < 0) & (state.assessed[sl] | (red_rule > 0)))
    if k_exploit > 0 and len(free):
        g_obj = state.objective[sl]
        ranked = free[np.lexsort((tiebreak[free], -g_obj[free], -red_rule[free]))]
        chosen = ranked[:k_exploit]
        g_lane[chosen] = RED
        state.basis[sl][chosen] = np.where(red_rule[chosen] > 0, Basis.RULE, Basis.MODEL)


def _explore(state: _SelectionState, sl: slice, policy: SelectionPolicy, k_explore: int,
             rng: np.random.Generator) -> None:
    """5. Exploration (never over unscored units: the model knows nothing of them)."""
    g_lane = state.lane[sl]
    free = np.flatnonzero((g_lane < 0) & state.assessed[sl])
    if k_explore <= 0 or not len(free):
        return
    if policy.exploration == "uncertainty":
        gp = state.p[sl][free]
        weights = gp * (1.0 - gp)
    elif policy.exploration == "anomaly":
        ga = state.anomaly[sl][free]
        weights = np.argsort(np.argsort(ga)).astype(float) + 1.0
    else:
        weights = np.clip(state.explore_weight[sl][free], 0.0, None)
    chosen = free[_gumbel_top_k(weights, k_explore, rng)]
    g_lane[chosen] = RED
    state.basis[sl][chosen] = Basis.EXPLORATION
    state.explored[sl.start + chosen] = True


def _yellow_or_blue(state: _SelectionState, sl: slice, policy: SelectionPolicy, target: int,
                    rate: float, forced: np.ndarray, tiebreak: np.ndarray,
                    rng: np.random.Generator) -> None:
    """6. Yellow ranked like exploitation (rules asking yellow or red first), blue by rules
    asking blue then by anomaly score."""
    g_lane = state.lane[sl]
    rule_lane, rule_rank = state.rule_lane[sl], state.rule_rank[sl]
    k = max(0, _stochastic_round(rate * (sl.stop - sl.start), rng)
            - int(((g_lane == target) & forced).sum()))
    if target == YELLOW:
        asks = np.where((rule_lane <= YELLOW) & policy.rules_first, rule_rank, 0)
    else:
        asks = np.where(rule_lane == BLUE, rule_rank, 0)
    free = np.flatnonzero((g_lane < 0) & (state.assessed[sl] | (asks > 0)))
    if k <= 0 or not len(free):
        return
    wanted = asks[free]
    rank_by = state.objective[sl] if target == YELLOW else state.anomaly[sl]
    ranked = free[np.lexsort((tiebreak[free], -rank_by[free], -wanted))]
    chosen = ranked[:k]
    g_lane[chosen] = target
    state.basis[sl][chosen] = np.where(wanted[np.searchsorted(free, chosen)] > 0, Basis.RULE,
                                       Basis.MODEL if target == YELLOW else Basis.ANOMALY)


def _result(scores: pl.DataFrame, units: pl.DataFrame, state: _SelectionState,
            policy: SelectionPolicy, rules: RuleSet | None, seed: int, explain: bool,
            overflow: tuple[dict[str, Any], ...]) -> SelectionResult:
    """The lanes back on the input rows (one per item), with reasons."""
    units = units.with_columns(
        pl.Series("lane", np.array(LANES, dtype=object)[state.lane], dtype=pl.String),
        pl.Series("basis", np.array(BASES, dtype=object)[state.basis], dtype=pl.String),
        pl.Series("random_control", state.random_control),
        pl.Series("explored", state.explored),
        pl.Series("rank_pct", state.rank_pct),
    )
    if explain:
        units = units.with_columns(pl.Series("reasons", reason_texts(units, policy, rules),
                                             dtype=pl.String))
    else:
        units = units.with_columns(pl.lit(None, pl.String).alias("reasons"))
    units = units.with_columns(
        pl.col("rule_labels").list.join(", ").fill_null("").alias("rule_hits"))
    lane_cols = ["unit", "lane", "basis", "random_control", "explored", "rank_pct", "assessed",
                 "reasons", "rule_hits"]
    items = scores.select(
        pl.col("declaration_id").cast(pl.String),
        (pl.col("item_no").cast(pl.Int64) if "item_no" in scores.columns
         else pl.lit(1, pl.Int64).alias("item_no")),
        *[pl.col(c) for c in ("office_id", "declared_at", "fraud_probability",
                              "expected_revenue", "anomaly_score") if c in scores.columns],
    )
    unit_expr = (pl.col("declaration_id") if policy.per_declaration
                 else pl.col("declaration_id") + "#" + pl.col("item_no").cast(pl.String))
    lanes = items.with_columns(unit_expr.alias("unit")).join(
        units.select(lane_cols), on="unit", how="left", maintain_order="left").drop("unit")
    return SelectionResult(lanes=lanes, policy=policy, seed=seed, overflow=overflow,
                           unassessed=int((~state.assessed).sum()))
