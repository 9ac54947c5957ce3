"""An officer's lane override: allowed only with a justification, always kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from clearlane.errors import Problem, ValidationError
from clearlane.rules.model import LANES

MIN_JUSTIFICATION = 15
"""Shortest accepted justification, in characters (a reason an auditor can read)."""


@dataclass(frozen=True)
class Override:
    """A lane changed by an officer, with who, when and why."""

    declaration_id: str
    from_lane: str
    to_lane: str
    justification: str
    officer_id: str
    overridden_at: datetime


def make_override(declaration_id: str, from_lane: str, to_lane: str, justification: str,
                  officer_id: str, at: datetime | None = None) -> Override:
    """Validate and build an override; raises :class:`ValidationError` naming each problem."""
    problems: list[Problem] = []
    if to_lane not in LANES:
        problems.append(Problem("to_lane", to_lane, "must be one of " + ", ".join(LANES)))
    if to_lane == from_lane:
        problems.append(Problem("to_lane", to_lane, "is already the lane of the declaration"))
    text = (justification or "").strip()
    if len(text) < MIN_JUSTIFICATION:
        problems.append(Problem("justification", text, f"an override needs a justification of "
                                f"at least {MIN_JUSTIFICATION} characters"))
    if not (officer_id or "").strip():
        problems.append(Problem("officer_id", officer_id, "the officer must be named"))
    if problems:
        raise ValidationError(f"override of declaration {declaration_id!r} refused", problems)
    return Override(declaration_id, from_lane, to_lane, text, officer_id.strip(),
                    at or datetime.now(UTC).replace(tzinfo=None))
