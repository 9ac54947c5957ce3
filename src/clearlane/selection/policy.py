"""The selection policy an administration sets: lane rates, capacity, random and exploration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from clearlane.errors import Problem, ValidationError

OBJECTIVES: tuple[str, ...] = ("revenue", "frauds")
"""``revenue`` ranks by expected revenue at stake, ``frauds`` by fraud probability."""

EXPLORATIONS: tuple[str, ...] = ("segments", "uncertainty", "anomaly", "weights")
"""``segments`` samples by Thompson sampling over segments (HS chapter, origin, office, importer
newness) from the revealed outcomes (:mod:`clearlane.selection.segments`; the caller supplies the
resulting ``exploration_weight`` column); ``uncertainty`` samples in proportion to p·(1−p);
``anomaly`` in proportion to the anomaly score's rank (declarations unlike the history the model
learned from); ``weights`` in proportion to any caller-supplied ``exploration_weight`` column."""


@dataclass(frozen=True)
class SelectionPolicy:
    """Constraints and objective of lane assignment. Rates are shares of the declarations of one
    capacity group (by default one office on one day).

    ``red_rate`` / ``yellow_rate`` / ``blue_rate``: expected share of each lane (red includes the
    mandatory, random and exploration selections). ``capacity``: most red (physical) inspections
    per office per day, key ``"*"`` for every office not listed; ``None`` = no limit. Only
    mandatory rule hits may exceed it (the overflow is reported). ``random_share``: share of
    **all** declarations of the group drawn uniformly at random for red (the control sample).
    ``exploration_share``: share of the discretionary red slots (after mandatory and random)
    given to exploration (method ``exploration``). ``objective``: what exploitation maximises.
    ``extra_weights``: optional extra score columns (in [0, 1], higher = riskier) that raise the
    ranking score by ``objective × (1 + Σ weight × score)``.
    """

    red_rate: float = 0.05
    yellow_rate: float = 0.10
    blue_rate: float = 0.03
    capacity: Mapping[str, int] | None = None
    random_share: float = 0.01
    exploration_share: float = 0.10
    exploration: str = "uncertainty"
    objective: str = "revenue"
    per_declaration: bool = True
    group_by: tuple[str, ...] = ("office_id", "day")
    rules_first: bool = True
    extra_weights: Mapping[str, float] = field(default_factory=dict)

    def validate(self) -> SelectionPolicy:
        problems: list[Problem] = []

        def need(ok: bool, name: str, reason: str) -> None:
            if not ok:
                problems.append(Problem(name, repr(getattr(self, name)), reason))

        for name in ("red_rate", "yellow_rate", "blue_rate", "random_share",
                     "exploration_share"):
            need(0.0 <= getattr(self, name) <= 1.0, name, "must be between 0 and 1")
        need(self.red_rate + self.yellow_rate + self.blue_rate <= 1.0, "red_rate",
             "red + yellow + blue rates must not exceed 1")
        need(self.random_share <= self.red_rate or self.red_rate == 0, "random_share",
             "must not exceed red_rate (the control sample is part of the red lane)")
        need(self.objective in OBJECTIVES, "objective", "must be one of " + ", ".join(OBJECTIVES))
        need(self.exploration in EXPLORATIONS, "exploration",
             "must be one of " + ", ".join(EXPLORATIONS))
        need(all(g in ("office_id", "day") for g in self.group_by), "group_by",
             "may hold only 'office_id' and 'day'")
        if self.capacity is not None:
            need(all(isinstance(v, int) and v >= 0 for v in self.capacity.values()), "capacity",
                 "every capacity must be a whole number >= 0")
        if problems:
            raise ValidationError("invalid selection policy", problems)
        return self

    def capacity_for(self, office: str | None) -> int | None:
        if self.capacity is None:
            return None
        if office is not None and office in self.capacity:
            return int(self.capacity[office])
        return int(self.capacity["*"]) if "*" in self.capacity else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["capacity"] = dict(self.capacity) if self.capacity is not None else None
        data["extra_weights"] = dict(self.extra_weights)
        data["group_by"] = list(self.group_by)
        return data
