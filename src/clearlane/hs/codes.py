"""HS code normalisation and validation against HS 2022 (a code of HS 2012 or HS 2017 that is
not in HS 2022 is named with its HS 2022 successors).

National codes (8-10 digits) are accepted everywhere and truncated to their first six digits
for HS6 logic; the national digits are kept by the caller when a national tariff needs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clearlane.errors import Problem, ValidationError
from clearlane.reference.hs_editions import EDITIONS, subheadings, to_hs2022
from clearlane.reference.hs_nomenclature import codes_at_level, nomenclature

_SEPARATORS = re.compile(r"[\s.\-/_,]")
LEVELS: tuple[int, ...] = (2, 4, 6)


def normalise_code(value: str | int) -> str:
    """Digits only: dots, spaces, dashes and slashes removed.

    A code of odd length (1, 3, 5, 7 or 9 digits) lost its leading zero in a spreadsheet and
    gets it back, so the result is idempotent: ``normalise_code(normalise_code(x)) == ...``.

    >>> normalise_code("8517.13.00")
    '85171300'
    >>> normalise_code(10121)
    '010121'
    """
    text = str(value).strip()
    digits = _SEPARATORS.sub("", text)
    if digits.isdigit() and len(digits) in (1, 3, 5, 7, 9):
        digits = "0" + digits
    return digits


def hs6(value: str | int) -> str:
    """The six-digit subheading of a (national) code; shorter codes are returned as given."""
    return normalise_code(value)[:6]


def format_code(digits: str) -> str:
    """Dotted display form: ``851713`` → ``8517.13``, ``8517130000`` → ``8517.13.00.00``."""
    if len(digits) <= 4:
        return digits
    parts = [digits[:4], digits[4:6]]
    rest = digits[6:]
    while rest:
        parts.append(rest[:2])
        rest = rest[2:]
    return ".".join(parts)


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of validating one code: ``valid`` and a sentence saying why (or what)."""

    code: str
    valid: bool
    level: int
    message: str


def check_code(value: str | int) -> CodeCheck:
    """Validate a chapter, heading, subheading or national code against HS 2022.

    >>> check_code("8517.13").message
    '8517.13 is a valid subheading (Telephone sets; smartphones for cellular or other wireless networks)'
    >>> check_code("8517.19").message.split(";")[0]
    '8517.19 does not exist in HS 2022'
    >>> "8517.13" in check_code("8517.19").message
    True
    """
    digits = normalise_code(value)
    if not digits.isdigit():
        return CodeCheck(str(value), False, 0, f"{value!r} is not an HS code: use digits only")
    if len(digits) not in (2, 4, 6, 8, 9, 10):
        return CodeCheck(
            digits, False, len(digits), f"{digits} has {len(digits)} digits; use 2, 4, 6 or 8-10"
        )
    names = {2: "chapter", 4: "heading", 6: "subheading"}
    entries = nomenclature()
    for level in LEVELS:
        if len(digits) < level:
            break
        prefix = digits[:level]
        if prefix not in codes_at_level(level):
            shown = format_code(prefix)
            if level == 2:
                return CodeCheck(digits, False, level, f"chapter {shown} does not exist in HS 2022")
            parent = prefix[: level - 2]
            siblings = sorted(c for c in codes_at_level(level) if c.startswith(parent))
            listed = ", ".join(format_code(c) for c in siblings[:12])
            more = "…" if len(siblings) > 12 else ""
            return CodeCheck(
                digits,
                False,
                level,
                f"{shown} does not exist in HS 2022; {names[level - 2]} "
                f"{format_code(parent)} has {listed}{more}{_older_edition(prefix)}",
            )
    level = min(len(digits), 6)
    text = entries[digits[:level]].description
    if len(digits) > 6:
        return CodeCheck(
            digits,
            True,
            len(digits),
            f"{format_code(digits)} is a national code under subheading "
            f"{format_code(digits[:6])} ({_short(text)})",
        )
    return CodeCheck(
        digits, True, level, f"{format_code(digits)} is a valid {names[level]} ({_short(text)})"
    )


def require_code(value: str | int, field: str = "hs_code") -> str:
    """The normalised digits of a valid code, else :class:`ValidationError` naming the problem."""
    result = check_code(value)
    if not result.valid:
        raise ValidationError(
            f"invalid HS code {value!r}", [Problem(field, str(value), result.message)]
        )
    return result.code


def _older_edition(hs6: str) -> str:
    """Where a subheading that is not in HS 2022 went, when an older edition had it."""
    if len(hs6) != 6:
        return ""
    for edition in reversed(EDITIONS[:-1]):
        if hs6 in subheadings(edition):
            forward = to_hs2022(hs6, edition)
            now = " or ".join(format_code(c) for c in forward.candidates[:6])
            more = " …" if len(forward.candidates) > 6 else ""
            split = " (split)" if forward.split else ""
            return f"; it is an HS {edition} subheading, in HS 2022 {now}{more}{split}"
    return ""


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
