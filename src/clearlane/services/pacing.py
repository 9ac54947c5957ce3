"""Pacing at lodgement: each office's plan for the day, built from the store, and the day's
counters, kept consistent by the lodgement's write transaction.

The decisions themselves are :mod:`clearlane.selection.pacing`'s (pure). This module supplies
its inputs:

- **Policy**: the :class:`~clearlane.selection.policy.SelectionPolicy` stored with the office's
  latest batch selection (``clearlane select --policy``), else with the workspace's latest
  selection (its ``capacity["*"]`` covers offices it did not list). The policy an administration
  sets for the batch is thus the one lodgement paces, and the two agree on one day's data; a
  new selection stored changes the policy at the next request. Without any stored selection
  no lane is given (``lane_note`` says so).
- **History**: the ``history_days`` days before the paced day (the item's ``declared_at``):
  units per office and day from ``declarations`` (lodged ones included), and the scores of the
  current fraud model from ``risk_assessments`` (one value per unit: for a declaration, as the
  batch selector scores it; the items of one declaration lodged together are placed as one). An office with fewer than
  :data:`MIN_HISTORY_UNITS` scored units is paced on every office's scores (its own volumes);
  a workspace with fewer gives no lane (run ``clearlane assess`` on recent days).
- **Counters**: rebuilt from the ``lodgements`` of the office's day the first time a server
  paces it (so they survive a restart), then kept in the server's ``cache`` and advanced under
  the workspace's write lock by :class:`Pacer`: a group of requests is placed item by item in
  arrival order, and its counters are published only with its transaction
  (:meth:`Pacer.commit`); a failed transaction drops them (:func:`forget`), and they are
  rebuilt from the table.

Plans are cached per office and day and recomputed when a new day starts, a new selection is
stored or the fraud model changes. Randomness: one ``numpy`` generator per server (seeded from
the operating system, or from ``cache[SEED_KEY]`` for reproducible tests).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from clearlane.schema.reasons import Reason
from clearlane.selection.pacing import (
    DayState,
    LaneDecision,
    OfficeHistory,
    PacingPlan,
    PacingSettings,
    UnitScores,
    decide_lane,
    plan_day,
)
from clearlane.selection.policy import SelectionPolicy
from clearlane.store.workspace import Workspace

CACHE_KEY = "pacing"
SEED_KEY = "pacing_seed"
"""A ``cache`` entry that seeds the server's pacing generator (tests); absent: OS entropy."""
MIN_HISTORY_UNITS = 20
"""Scored units an office needs in its recent days to be paced on its own score distribution
(with fewer, on every office's; with fewer in the whole workspace, no lane)."""
NO_POLICY = ("no lane yet: no stored selection gives a policy (rates, capacity); lanes at "
             "lodgement are paced under the policy of the office's latest `clearlane select`")
LANE_ORDER = ("red", "yellow", "blue", "green")
KEEP_DAYS = 7
"""Days of plans and counters a server keeps behind the newest day it paced."""
_LOCK = threading.Lock()


def policy_from_json(text: str | None) -> SelectionPolicy:
    """The :class:`SelectionPolicy` stored as JSON with a selection (unknown keys ignored)."""
    data = json.loads(text or "{}")
    known = SelectionPolicy.__dataclass_fields__
    kept: dict[str, Any] = {k: v for k, v in data.items() if k in known}
    if "group_by" in kept:
        kept["group_by"] = tuple(kept["group_by"])
    if kept.get("capacity") is not None:
        kept["capacity"] = {str(k): int(v) for k, v in kept["capacity"].items()}
    kept["extra_weights"] = {}  # the checks' signals are not scored at lodgement
    return SelectionPolicy(**kept).validate()


@dataclass
class OfficeDay:
    """The counters of one office's day and the lane of each unit decided so far."""

    state: DayState = field(default_factory=DayState)
    lanes: dict[str, str] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)


@dataclass
class _Policies:
    marker: tuple[Any, ...]
    by_office: dict[str, tuple[str, SelectionPolicy]]
    fallback: tuple[str, SelectionPolicy] | None


class PacingBook:
    """A server's pacing state: policies, plans and day counters (in its ``cache``)."""

    def __init__(self, seed: int | None = None,
                 settings: PacingSettings | None = None) -> None:
        self.settings = settings or PacingSettings()
        self.rng = np.random.default_rng(seed)
        self.policies: _Policies | None = None
        self.plans: dict[tuple[str | None, date, str | None], PacingPlan | str] = {}
        self.days: dict[tuple[str | None, date], OfficeDay] = {}

    def refresh(self, workspace: Workspace, con: Any) -> None:
        """Reload the policies when a selection was stored since (plans follow them)."""
        marker = tuple(con.execute("SELECT count(*), max(created_at) FROM selections")
                       .fetchall()[0])
        if self.policies is not None and self.policies.marker == marker:
            return
        rows = con.execute(
            """WITH latest AS (
                   SELECT ld.office_id, arg_max(ld.selection_id, s.created_at) AS selection_id
                   FROM lane_decisions ld JOIN selections s USING (selection_id)
                   WHERE ld.office_id IS NOT NULL GROUP BY 1)
               SELECT l.office_id, l.selection_id, s.policy FROM latest l
               JOIN selections s USING (selection_id)""").fetchall()
        newest = con.execute("SELECT arg_max(selection_id, created_at), arg_max(policy, "
                             "created_at) FROM selections").fetchall()[0]
        self.policies = _Policies(
            marker, {str(o): (str(s), policy_from_json(p)) for o, s, p in rows},
            (str(newest[0]), policy_from_json(newest[1]))
            if newest[0] is not None else None)
        self.plans.clear()

    def policy_for(self, office: str | None) -> tuple[str, SelectionPolicy] | None:
        assert self.policies is not None
        if office is not None and office in self.policies.by_office:
            return self.policies.by_office[office]
        return self.policies.fallback

    def plan(self, con: Any, office: str | None, day: date,
             model_version: str | None) -> PacingPlan | str:
        """The office's plan for ``day`` (built once), or why there is none."""
        key = (office, day, model_version)
        if key not in self.plans:
            self._prune(day)
            self._build_plans(con, day, model_version, office)
        return self.plans[key]

    def _prune(self, day: date) -> None:
        """Forget the plans and counters of days more than :data:`KEEP_DAYS` before ``day``
        (a late item of such a day rebuilds them)."""
        oldest = day - timedelta(days=KEEP_DAYS)
        for key in [k for k in self.plans if k[1] < oldest]:
            del self.plans[key]
        for held in [k for k in self.days if k[1] < oldest]:
            del self.days[held]

    def _build_plans(self, con: Any, day: date, model_version: str | None,
                     wanted: str | None) -> None:
        """Plans of every office for ``day`` (and of ``wanted``, even without history) from
        one read of the recent days. An office with fewer than :data:`MIN_HISTORY_UNITS`
        scored units is paced on the score distribution of all offices (its own volumes)."""
        start = day - timedelta(days=self.settings.history_days)
        volumes = con.sql(
            """SELECT office_id, declared_at AS day, count(DISTINCT declaration_id) AS decl,
                      count(*) AS items
               FROM declarations WHERE declared_at >= ? AND declared_at < ?
               GROUP BY ALL""", params=[start, day]).pl()
        scores = con.sql(
            """SELECT d.office_id, d.declaration_id, d.item_no, r.fraud_probability,
                      r.expected_revenue, r.anomaly_score
               FROM risk_assessments r JOIN declarations d USING (declaration_id, item_no)
               WHERE r.model_version = ? AND d.declared_at >= ? AND d.declared_at < ?""",
            params=[model_version, start, day]).pl()
        offices = (set(volumes["office_id"].to_list()) | set(scores["office_id"].to_list())
                   | {wanted})
        for office in offices:
            chosen = self.policy_for(office)
            if chosen is None:
                self.plans[(office, day, model_version)] = NO_POLICY
                continue
            policy = chosen[1]
            per_office = volumes.filter(pl.col("office_id").eq_missing(office))
            count = "decl" if policy.per_declaration else "items"
            days = dict(zip(per_office["day"].to_list(), per_office[count].to_list(),
                            strict=True))
            own = _unit_scores(scores.filter(pl.col("office_id").eq_missing(office)), policy)
            pooled = len(own[0]) < MIN_HISTORY_UNITS
            if pooled:
                own = _unit_scores(scores, policy)
            plan: PacingPlan | str
            if len(own[0]) < MIN_HISTORY_UNITS:
                plan = (f"no lane yet: {len(own[0])} unit(s) scored by model "
                        f"{model_version!r} in the {self.settings.history_days} days before "
                        f"{day} (pacing needs {MIN_HISTORY_UNITS}); run `clearlane assess` "
                        "on recent days")
            else:
                plan = plan_day(office, day, OfficeHistory(days, *own), policy, self.settings)
                if pooled:
                    plan = replace(plan, pooled_history=True)
            self.plans[(office, day, model_version)] = plan

    def day(self, con: Any, office: str | None, day: date,
            per_declaration: bool) -> OfficeDay:
        """The office's day counters, rebuilt from the ``lodgements`` table on first use."""
        key = (office, day)
        if key not in self.days:
            self.days[key] = _replay_day(con, office, day, per_declaration)
        return self.days[key]


def _unit_scores(scores: pl.DataFrame, policy: SelectionPolicy
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(objective, fraud probability, anomaly score) per unit of the scored items; when the
    policy counts declarations, a declaration's as the batch selector computes them (expected
    revenue summed, ``1 − Π(1 − p)``, highest anomaly score)."""
    if policy.per_declaration:  # as the batch selector scores a declaration
        scores = scores.group_by("declaration_id").agg(
            (1 - (1 - pl.col("fraud_probability").fill_null(0.0)).product())
            .alias("fraud_probability"),
            pl.when(pl.col("expected_revenue").is_not_null().any())
            .then(pl.col("expected_revenue").sum()).alias("expected_revenue"),
            pl.col("anomaly_score").max())
    column = "expected_revenue" if policy.objective == "revenue" else "fraud_probability"
    scores = scores.filter(pl.col(column).is_not_null())
    return (scores[column].to_numpy(), scores["fraud_probability"].fill_null(0.0).to_numpy(),
            scores["anomaly_score"].fill_null(0.0).to_numpy())


def unit_of(declaration_id: str, item_no: int, per_declaration: bool) -> str:
    return declaration_id if per_declaration else f"{declaration_id}#{item_no}"


def _replay_day(con: Any, office: str | None, day: date, per_declaration: bool) -> OfficeDay:
    """The counters of an office's day from its stored lodgement answers, in lodging order."""
    rows = con.execute(
        """SELECT l.declaration_id, l.item_no, l.lane,
                  json_extract_string(l.assessment, '$.basis'),
                  coalesce(json_extract_string(l.assessment, '$.pacing.random_control'),
                           'false') = 'true'
           FROM lodgements l JOIN declarations d USING (declaration_id, item_no)
           WHERE d.declared_at = ? AND d.office_id IS NOT DISTINCT FROM ?
           ORDER BY l.lodged_at, l.declaration_id, l.item_no""", [day, office]).fetchall()
    book = OfficeDay()
    for declaration_id, item_no, lane, basis, drawn in rows:
        unit = unit_of(str(declaration_id), int(item_no), per_declaration)
        was = book.lanes.get(unit)
        decision = LaneDecision(str(lane or "green"), str(basis or "none"), "",
                                random_control=bool(drawn) and was is None)
        _advance(book, unit, decision, was)
    return book


def _advance(book: OfficeDay, unit: str, decision: LaneDecision, was: str | None) -> None:
    book.state = book.state.after(decision, new_unit=was is None, was=was)
    if was is None or LANE_ORDER.index(decision.lane) < LANE_ORDER.index(was):
        book.lanes[unit] = decision.lane
        book.bases[unit] = decision.basis


def pacing_book(cache: dict[str, Any]) -> PacingBook:
    """The server's :class:`PacingBook` (created on first use)."""
    with _LOCK:
        book = cache.get(CACHE_KEY)
        if not isinstance(book, PacingBook):
            seed = cache.get(SEED_KEY)
            book = cache[CACHE_KEY] = PacingBook(int(seed) if seed is not None else None)
        return book


def forget(cache: dict[str, Any]) -> None:
    """Drop the day counters (after a failed write): they are rebuilt from the table."""
    book = cache.get(CACHE_KEY)
    if isinstance(book, PacingBook):
        book.days.clear()


def mandatory_of(rule_reasons: Sequence[Reason]) -> tuple[str | None, str]:
    """The most intrusive lane the mandatory rule hits force, and their ids."""
    mandatory = [r for r in rule_reasons if r.evidence.get("mandatory")]
    if not mandatory:
        return None, ""
    lanes = sorted((str(r.evidence.get("lane")) for r in mandatory),
                   key=lambda lane: LANE_ORDER.index(lane) if lane in LANE_ORDER else 9)
    return lanes[0], ", ".join(str(r.evidence.get("rule_id")) for r in mandatory)


@dataclass(frozen=True)
class PacedAnswer:
    """What the answer carries: lane, basis, plain-language note, and ``detail`` (the
    numbers behind a paced decision, stored in the answer's ``pacing`` member)."""

    lane: str | None
    basis: str | None
    note: str
    detail: dict[str, Any] | None = None


class Pacer:
    """Places the items of one group of requests, in order, on ``con``'s open transaction
    (under the workspace's write lock). Counters advance on private copies; :meth:`commit`
    publishes them once the group is stored."""

    def __init__(self, workspace: Workspace, cache: dict[str, Any], con: Any) -> None:
        self.book = pacing_book(cache)
        self.con = con
        self.book.refresh(workspace, con)
        self._days: dict[tuple[str | None, date], OfficeDay] = {}

    def per_declaration(self, office: str | None) -> bool:
        """Whether the office's policy counts declarations (else items)."""
        chosen = self.book.policy_for(office)
        return chosen is None or chosen[1].per_declaration

    def _day(self, office: str | None, day: date, per_declaration: bool) -> OfficeDay:
        key = (office, day)
        if key not in self._days:
            held = self.book.day(self.con, office, day, per_declaration)
            self._days[key] = OfficeDay(held.state, dict(held.lanes), dict(held.bases))
        return self._days[key]

    def place(self, office: str | None, day: date | None, declaration_id: str, item_no: int,
              fraud_probability: float | None, expected_revenue: float | None,
              anomaly_score: float | None, model_version: str | None,
              rule_reasons: Sequence[Reason], items: int = 1) -> PacedAnswer:
        """The lane of one lodged unit (an item, or ``items`` items of one declaration placed
        together) and the day's counters advanced."""
        forced, rule_ids = mandatory_of(rule_reasons)
        chosen = self.book.policy_for(office)
        if forced is not None and (chosen is None or day is None):
            return PacedAnswer(forced, "mandatory_rule",
                               f"mandatory rule {rule_ids} forces the {forced} lane")
        if day is None:
            return PacedAnswer(None, None, "no lane: the item has no declared_at day")
        if (model_version is None or fraud_probability is None) and forced is None:
            return PacedAnswer(None, None, "no lane: no fraud model scored the item")
        plan = self.book.plan(self.con, office, day, model_version)
        if isinstance(plan, str):
            if forced is not None:
                return PacedAnswer(forced, "mandatory_rule",
                                   f"mandatory rule {rule_ids} forces the {forced} lane")
            return PacedAnswer(None, None, plan)
        policy = plan.policy
        book = self._day(office, day, policy.per_declaration)
        unit = unit_of(declaration_id, item_no, policy.per_declaration)
        was = book.lanes.get(unit)
        if was == "red" and forced is None:
            return PacedAnswer("red", book.bases.get(unit, "paced"),
                               f"declaration {declaration_id} is already red today: one "
                               "inspection covers its items", {"unit": unit})
        objective = expected_revenue if policy.objective == "revenue" else fraud_probability
        scores = UnitScores(objective if fraud_probability is not None else None,
                            fraud_probability, anomaly_score, forced, rule_ids, items)
        before = book.state
        decision = decide_lane(plan, before, scores, self.book.rng, new_unit=was is None)
        if was is not None and LANE_ORDER.index(decision.lane) > LANE_ORDER.index(was):
            # a later item never lowers its declaration's lane
            decision = LaneDecision(was, book.bases.get(unit, decision.basis),
                                    f"declaration {declaration_id} is already {was} today "
                                    f"({decision.note})", decision.threshold)
        _advance(book, unit, decision, was)
        detail = {"day": day.isoformat(), "office_id": office, "unit": unit,
                  "threshold": decision.threshold
                  if decision.threshold is not None and np.isfinite(decision.threshold)
                  else None,
                  "red_spent": before.red, "red_budget": plan.red_budget(before.arrivals + 1),
                  "capacity": plan.capacity, "arrivals": before.arrivals,
                  "expected_arrivals": round(plan.expected_volume, 1),
                  "history_units": plan.history_units,
                  "history": "all offices" if plan.pooled_history else "office",
                  "random_control": decision.random_control, "overflow": decision.overflow}
        return PacedAnswer(decision.lane, decision.basis, decision.note, detail)

    def commit(self) -> None:
        """Publish the group's counters (call once its writes succeeded)."""
        self.book.days.update(self._days)


def day_counts(workspace: Workspace, day: date) -> pl.DataFrame:
    """Per office, the lodgements of ``day`` by lane and basis (from the stored answers)."""
    return workspace.query(
        """SELECT d.office_id, l.lane, json_extract_string(l.assessment, '$.basis') AS basis,
                  count(*) AS items, count(DISTINCT l.declaration_id) AS declarations
           FROM lodgements l JOIN declarations d USING (declaration_id, item_no)
           WHERE d.declared_at = ? GROUP BY ALL ORDER BY ALL""", [day])


__all__ = ["CACHE_KEY", "MIN_HISTORY_UNITS", "SEED_KEY", "OfficeDay", "PacedAnswer", "Pacer",
           "PacingBook", "day_counts", "forget", "mandatory_of", "pacing_book",
           "policy_from_json", "unit_of"]
