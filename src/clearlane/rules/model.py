"""Rules as frozen dataclasses, and the registry (:class:`RuleSet`) that holds one profile.

A rule hits a declaration item when **all** its conditions hold on the date the declaration was
lodged (``valid_from <= declared_at <= valid_to``). A hit is always recorded with the rule id
and its version; a rule's version must be raised whenever its meaning changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from clearlane.errors import NotFoundError

Lane = Literal["red", "yellow", "blue", "green"]
LANES: tuple[str, ...] = ("red", "yellow", "blue", "green")
"""Lanes from strictest to lightest: physical inspection, documents, post-clearance audit, none."""

SEVERITIES: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "critical": 4}
"""Severity names and their rank (higher = riskier)."""

OPERATORS: tuple[str, ...] = ("equals", "in", "not_in", "min", "max", "regex", "prefix",
                              "watchlist")
"""Condition operators; ``min``/``max`` are inclusive bounds and may be combined."""

WATCHLIST_FIELDS: dict[str, str] = {
    "importers": "importer_id",
    "declarants": "declarant_id",
    "exporters": "exporter_id",
    "countries": "origin_country",
    "hs_codes": "hs_code",
}
"""Watchlist kinds and the field each one checks by default (HS codes match as prefixes)."""


@dataclass(frozen=True)
class Watchlist:
    """A named list of identifiers (importers, declarants, exporters, countries or HS codes)."""

    name: str
    kind: str
    values: frozenset[str]
    description: str = ""


@dataclass(frozen=True)
class Condition:
    """One test on one field: a canonical field name or ``extra.<key>`` for a kept source column.

    Exactly one kind of test is set: ``equals``; ``in_``/``not_in`` (a set of values);
    ``minimum``/``maximum`` (inclusive, numeric); ``regex`` (case-insensitive search);
    ``prefix`` (any of the strings, e.g. HS headings); ``watchlist`` (a watchlist name).
    """

    field: str
    equals: Any = None
    in_: tuple[Any, ...] | None = None
    not_in: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    regex: str | None = None
    prefix: tuple[str, ...] | None = None
    watchlist: str | None = None

    def describe(self) -> str:
        """Plain-language text of the test, shown to officers."""
        parts = []
        if self.equals is not None:
            parts.append(f"{self.field} = {self.equals}")
        if self.in_ is not None:
            parts.append(f"{self.field} in {', '.join(map(str, self.in_))}")
        if self.not_in is not None:
            parts.append(f"{self.field} not in {', '.join(map(str, self.not_in))}")
        if self.minimum is not None:
            parts.append(f"{self.field} >= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{self.field} <= {self.maximum:g}")
        if self.regex is not None:
            parts.append(f"{self.field} matches /{self.regex}/")
        if self.prefix is not None:
            parts.append(f"{self.field} starts with {', '.join(self.prefix)}")
        if self.watchlist is not None:
            parts.append(f"{self.field} on watchlist {self.watchlist}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Rule:
    """One risk rule of a profile.

    ``lane`` is the lane a hit asks for; a ``mandatory`` rule forces it (100 % of its hits),
    other hits compete for capacity ranked by ``severity``. ``justification`` is shown to the
    officer with every hit.
    """

    id: str
    version: int
    title: str
    justification: str
    owner: str
    severity: str
    lane: str
    conditions: tuple[Condition, ...]
    mandatory: bool = False
    valid_from: date | None = None
    valid_to: date | None = None
    line: int | None = field(default=None, compare=False)

    @property
    def severity_rank(self) -> int:
        return SEVERITIES[self.severity]

    @property
    def label(self) -> str:
        """``R12 v3``: how hits cite the rule."""
        return f"{self.id} v{self.version}"

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.conditions)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("line", None)
        return data


@dataclass(frozen=True)
class RuleSet:
    """A risk profile: rules and watchlists, looked up by name (Evidently-style registry)."""

    name: str
    rules: tuple[Rule, ...]
    watchlists: tuple[Watchlist, ...] = ()
    source: str | None = None
    version: str | None = field(default=None, compare=False)
    """The stored version it was read from (``basic v3``, see
    :mod:`clearlane.services.rules_lifecycle`); None for a file."""

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule: str | Rule) -> Rule:
        """The rule with this id (or the rule itself); unknown ids list the valid ones."""
        if isinstance(rule, Rule):
            return rule
        for candidate in self.rules:
            if candidate.id == rule:
                return candidate
        valid = ", ".join(r.id for r in self.rules) or "(none)"
        raise NotFoundError(f"no rule {rule!r} in profile {self.name!r}; valid ids: {valid}")

    def watchlist(self, name: str) -> Watchlist:
        for candidate in self.watchlists:
            if candidate.name == name:
                return candidate
        valid = ", ".join(w.name for w in self.watchlists) or "(none)"
        raise NotFoundError(
            f"no watchlist {name!r} in profile {self.name!r}; valid names: {valid}"
        )

    def select(self, ids: list[str]) -> RuleSet:
        """A profile holding only the named rules (each id checked)."""
        chosen = tuple(self.get(i) for i in ids)
        return RuleSet(self.name, chosen, self.watchlists, self.source, self.version)

    def fingerprint(self) -> str:
        """SHA-256 of the profile's meaning (rules and watchlists), stable across formatting."""
        payload = {
            "rules": [r.as_dict() for r in self.rules],
            "watchlists": {w.name: [w.kind, sorted(w.values)] for w in self.watchlists},
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()
