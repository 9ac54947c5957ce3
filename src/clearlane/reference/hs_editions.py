"""HS editions by date: which edition a declaration's code is read in, and its HS 2022 category.

The Harmonized System is revised every five years. A declaration's code belongs to the edition
in force on its date (HS 2012, 2017 or 2022; the date each came into force is the setting
``CLEARLANE_HS_EDITIONS``, by default 1 January of the edition's year). Codes are checked
against that edition (:func:`check_hs_code`), and the models compare codes across years through
their **HS 2022 category** (:func:`to_hs2022`):

* a code that continues (same number among its successors) or has exactly one successor
  (renumbered, or merged with others) is its HS 2022 code;
* a code that was split into several HS 2022 codes, none of them itself, keeps its own
  category, tagged with the edition it was split from: ``854150@HS2017`` (its ``candidates``
  list the HS 2022 codes it may have become). Nothing is guessed.

The correspondences are the UNSD correlation tables shipped as package data
(``reference/data/hs/``, built by ``scripts/build_hs_editions.py``; see its PROVENANCE.md for
the attribution and the patched defects). Everything is loaded on first use and cached.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any, cast

import polars as pl

from clearlane.errors import Problem, ValidationError
from clearlane.reference.hs_nomenclature import code_problem, codes_at_level, digits_only

EDITIONS: tuple[str, ...] = ("2012", "2017", "2022")
"""The shipped editions, oldest first."""
LATEST = "2022"
DEFAULT_EDITIONS = "2012=2012-01-01,2017=2017-01-01,2022=2022-01-01"
SPLIT_TAG = "@HS"
"""Separator of a split code's category: ``<old code>@HS<edition>``."""

_STEPS: tuple[tuple[str, str], ...] = (("2012", "2017"), ("2017", "2022"))


@dataclass(frozen=True)
class HSEditions:
    """The editions in force and their first day, oldest first (``starts``)."""

    starts: tuple[tuple[str, date], ...]

    @property
    def latest(self) -> str:
        return self.starts[-1][0]

    def start(self, edition: str) -> date | None:
        return dict(self.starts).get(edition)

    def edition_on(self, day: date | datetime | None) -> str:
        """The edition in force on ``day``: the earliest one before its start, the latest one
        when the date is unknown."""
        if day is None:
            return self.latest
        if isinstance(day, datetime):
            day = day.date()
        current = self.starts[0][0]
        for edition, start in self.starts[1:]:
            if day >= start:
                current = edition
        return current

    def expr(self, day: pl.Expr) -> pl.Expr:
        """The edition of each row of a date expression, as :meth:`edition_on` gives it."""
        return self._chain(day, [pl.lit(e) for e, _ in self.starts])

    def _chain(self, day: pl.Expr, values: list[pl.Expr]) -> pl.Expr:
        """``values[i]`` where edition ``i`` is in force (null dates: the latest)."""
        if len(values) == 1:
            return values[0]
        chain: Any = pl.when(day < pl.lit(self.starts[1][1])).then(values[0])
        for i in range(1, len(values) - 1):
            chain = chain.when(day < pl.lit(self.starts[i + 1][1])).then(values[i])
        return cast(pl.Expr, chain.otherwise(values[-1]))


@lru_cache(maxsize=16)
def parse_editions(text: str) -> HSEditions:
    """Read ``EDITION=YYYY-MM-DD`` pairs, comma-separated (see ``CLEARLANE_HS_EDITIONS``).

    >>> parse_editions("2017=2017-01-01,2022=2022-07-01").edition_on(date(2022, 3, 1))
    '2017'
    """
    pairs: list[tuple[str, date]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        edition, _, day = (s.strip() for s in part.partition("="))
        edition = edition.upper().removeprefix("HS").strip()
        if edition not in EDITIONS:
            raise _setting_error(text, f"unknown HS edition {edition!r}; use {', '.join(EDITIONS)}")
        try:
            start = date.fromisoformat(day)
        except ValueError:
            raise _setting_error(text, f"{part!r}: expected EDITION=YYYY-MM-DD") from None
        pairs.append((edition, start))
    if not pairs:
        raise _setting_error(text, "name at least one edition, e.g. 2022=2022-01-01")
    pairs.sort(key=lambda p: p[0])
    for (a, start_a), (b, start_b) in pairwise(pairs):
        if a == b:
            raise _setting_error(text, f"edition {a} is given twice")
        if start_b <= start_a:
            raise _setting_error(text, f"HS {b} must come into force after HS {a}")
    return HSEditions(tuple(pairs))


def _setting_error(text: str, reason: str) -> ValidationError:
    return ValidationError(
        f"setting CLEARLANE_HS_EDITIONS {text!r} is not valid: {reason}",
        [Problem("hs_editions", text, reason)],
    )


def configured_editions() -> HSEditions:
    """The editions of the setting ``CLEARLANE_HS_EDITIONS`` (read at call time, never at
    import; the settings are built again only when that variable changes)."""
    name = "CLEARLANE_HS_EDITIONS"
    return _editions_from_settings((os.environ.get(name), os.environ.get(name.lower())))


@lru_cache(maxsize=8)
def _editions_from_settings(_environment: tuple[str | None, str | None]) -> HSEditions:
    from clearlane.settings import Settings

    return parse_editions(Settings().hs_editions)


def edition_on(day: date | datetime | None, editions: HSEditions | None = None) -> str:
    """The HS edition in force on ``day`` (see :meth:`HSEditions.edition_on`)."""
    return (editions or configured_editions()).edition_on(day)


def check_hs_code(
    code: str, on: date | datetime | None = None, editions: HSEditions | None = None
) -> str | None:
    """Why a code is not valid in the edition in force on ``on``, or None when it is.

    National codes (8-10 digits) are checked on their first six digits.

    >>> check_hs_code("854150", on=date(2020, 5, 1)) is None
    True
    >>> check_hs_code("854150", on=date(2023, 5, 1))
    'subheading 8541.50 does not exist in HS 2022 (heading 8541 exists)'
    """
    return check_in_edition(digits_only(code), edition_on(on, editions))


# -- tables ----------------------------------------------------------------------------------
def _data(name: str) -> list[dict[str, str]]:
    raw = (resources.files("clearlane.reference") / "data" / "hs" / name).read_bytes()
    return list(csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8"))))


@cache
def _subheadings() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {e: {} for e in EDITIONS}
    for row in _data("subheadings.csv.gz"):
        table[row["edition"]][row["code"]] = row["description"]
    return table


@cache
def _links() -> dict[str, dict[str, tuple[str, ...]]]:
    """From-edition → old code → the codes of the next edition it corresponds to."""
    links: dict[str, dict[str, list[str]]] = {old: defaultdict(list) for old, _ in _STEPS}
    for row in _data("correlations.csv.gz"):
        links[row["from_edition"]][row["from_code"]].append(row["to_code"])
    return {e: {c: tuple(t) for c, t in m.items()} for e, m in links.items()}


def _require_edition(edition: str) -> str:
    if edition not in EDITIONS:
        raise ValidationError(f"unknown HS edition {edition!r}; use one of {', '.join(EDITIONS)}")
    return edition


@cache
def subheadings(edition: str) -> frozenset[str]:
    """The 6-digit subheadings of an edition."""
    return frozenset(_subheadings()[_require_edition(edition)])


@cache
def edition_codes(edition: str, level: int) -> frozenset[str]:
    """Every code of ``level`` digits (2, 4 or 6) of an edition (prefixes of its subheadings)."""
    return frozenset(code[:level] for code in subheadings(edition))


def check_in_edition(digits: str, edition: str = "2022") -> str | None:
    """Why a digit-only code is not valid in HS ``edition`` (2012, 2017 or 2022), or None.

    >>> check_in_edition("854150", "2017") is None
    True
    >>> check_in_edition("854150")
    'subheading 8541.50 does not exist in HS 2022 (heading 8541 exists)'
    """
    if edition == "2022":
        return code_problem(digits, "HS 2022", codes_at_level)
    return code_problem(digits, f"HS {edition}", lambda level: edition_codes(edition, level))


def description(code: str, edition: str) -> str | None:
    """UN Comtrade's short label of a subheading of an edition (None when not one)."""
    return _subheadings()[_require_edition(edition)].get(digits_only(code)[:6])


# -- mapping forward -------------------------------------------------------------------------
@dataclass(frozen=True)
class ForwardCode:
    """An old code read in HS 2022 (:func:`to_hs2022`).

    ``category`` is what the models use: the HS 2022 code, or for a split the old code tagged
    with the edition it was split from (``854150@HS2017``). ``candidates``: the HS 2022 codes
    it may stand for (one unless ``split``). ``relationship``: ``same`` (in HS 2022 already),
    ``continues`` (keeps its number), ``renumbered`` (one successor under another number),
    ``split`` or ``unknown`` (not a subheading of its edition: left as it is).
    """

    code: str
    edition: str
    category: str
    split: bool
    candidates: tuple[str, ...]
    relationship: str

    @property
    def hs2022(self) -> str | None:
        """The one HS 2022 code, None for a split."""
        return None if self.split else self.category


def _step(code: str, old: str) -> tuple[str | None, tuple[str, ...]]:
    """One edition forward: (its single successor or None when split, all successors)."""
    new = _STEPS[EDITIONS.index(old)][1]
    targets = _links()[old].get(code, ())
    if not targets:
        return code, (code,)
    if code in targets and code in subheadings(new):
        return code, targets  # continues (UNSD may list where some of its goods went)
    if len(targets) == 1:
        return targets[0], targets
    return None, targets


def _all_successors(code: str, edition: str) -> set[str]:
    if edition == LATEST:
        return {code}
    _, targets = _step(code, edition)
    new = _STEPS[EDITIONS.index(edition)][1]
    return {c for t in targets for c in _all_successors(t, new)}


@lru_cache(maxsize=65_536)
def to_hs2022(code: str, edition: str) -> ForwardCode:
    """An HS code of ``edition`` mapped forward to HS 2022 (national codes: first 6 digits).

    >>> to_hs2022("3002.20", "2017").category
    '300241'
    >>> split = to_hs2022("854150", "2017")
    >>> split.category, split.split, split.candidates
    ('854150@HS2017', True, ('854151', '854159'))
    """
    digits = digits_only(code)[:6]
    _require_edition(edition)
    if edition == LATEST:
        return ForwardCode(digits, edition, digits, False, (digits,), "same")
    if digits not in subheadings(edition) and digits not in _links()[edition]:
        return ForwardCode(digits, edition, digits, False, (digits,), "unknown")
    current = digits
    for old, new in _STEPS[EDITIONS.index(edition) :]:
        single, targets = _step(current, old)
        if single is None:
            candidates = sorted({c for t in targets for c in _all_successors(t, new)})
            return ForwardCode(
                digits, edition, f"{current}{SPLIT_TAG}{old}", True, tuple(candidates), "split"
            )
        current = single
    relationship = "continues" if current == digits else "renumbered"
    return ForwardCode(digits, edition, current, False, (current,), relationship)


@cache
def forward_changes(edition: str) -> dict[str, str]:
    """Code → HS 2022 category for every code of ``edition`` whose category is another text
    (renumbered or split); every other code is its own category. Small: use it to map a
    column with one ``replace``."""
    if _require_edition(edition) == LATEST:
        return {}
    codes = subheadings(edition) | set(_links()[edition])
    changes = {c: to_hs2022(c, edition).category for c in sorted(codes)}
    return {c: category for c, category in changes.items() if category != c}


def hs2022_category(
    hs6: str | None, day: date | datetime | None, editions: HSEditions | None = None
) -> str | None:
    """The HS 2022 category of one 6-digit code declared on ``day`` (record path of
    :func:`hs2022_category_expr`)."""
    if hs6 is None:
        return None
    return forward_changes(edition_on(day, editions)).get(hs6, hs6)


def hs2022_category_expr(
    hs6: pl.Expr, day: pl.Expr, editions: HSEditions | None = None
) -> pl.Expr:
    """Vectorised :func:`hs2022_category`: ``hs6`` (6-digit text) of rows dated ``day``.

    One ``replace`` by a small mapping per older edition in force; HS 2022 rows keep their
    code. On a frame, :func:`hs2022_categories` skips the editions no row needs.
    """
    editions = editions or configured_editions()
    return _category_expr(hs6, day, editions, {e for e, _ in editions.starts})


def _category_expr(hs6: pl.Expr, day: pl.Expr, editions: HSEditions, needed: set[str]) -> pl.Expr:
    values = [
        hs6.replace_strict(forward_changes(e), default=hs6) if e in needed and forward_changes(e)
        else hs6
        for e, _ in editions.starts
    ]
    if all(v is hs6 for v in values):
        return hs6
    return editions._chain(day, values)


def hs2022_categories(
    frame: pl.DataFrame, hs6: str, day: str, editions: HSEditions | None = None
) -> pl.Series:
    """The HS 2022 category of column ``hs6`` (6-digit text) of rows dated by column ``day``
    (a date), named ``hs6``. A first cheap pass finds which older editions have a changed
    code in the frame; data of HS 2022 only is returned as it is."""
    editions = editions or configured_editions()
    code, when = pl.col(hs6), pl.col(day)
    starts = editions.starts
    checks: dict[str, pl.Expr] = {}
    for i, (edition, start) in enumerate(starts):
        if not forward_changes(edition):
            continue
        in_force = when < pl.lit(starts[i + 1][1]) if i + 1 < len(starts) else when.is_null()
        if i + 1 == len(starts):
            in_force = in_force | (when >= pl.lit(start))
        elif i:
            in_force = in_force & (when >= pl.lit(start))
        checks[edition] = (in_force & code.is_in(list(forward_changes(edition)))).any()
    if not checks:
        return frame.get_column(hs6)
    flags = frame.select(**checks).row(0) if frame.height else [False] * len(checks)
    needed = {e for e, flag in zip(checks, flags, strict=True) if flag}
    if not needed:
        return frame.get_column(hs6)
    return frame.select(_category_expr(code, when, editions, needed).alias(hs6)).to_series()


def hs2022_keys(
    frame: pl.DataFrame, code: str = "hs_code", day: str = "declared_at"
) -> pl.Series:
    """``hs6`` keys of declarations: the HS 2022 category of the first six digits of column
    ``code`` (separators removed) by the date in column ``day``."""
    keys = frame.select(
        pl.col(code).cast(pl.String).str.replace_all(r"\D", "").str.slice(0, 6).alias("hs6"),
        pl.col(day).cast(pl.Date).alias("day"),
    )
    return hs2022_categories(keys, "hs6", "day")


@lru_cache(maxsize=65_536)
def hs2022_code(code: str) -> str | None:
    """The HS 2022 subheading of a code whose date is unknown (e.g. a training example).

    The code itself when it is an HS 2022 subheading; otherwise it is read in the most recent
    older edition it belongs to and mapped forward. None for a split or a code of no edition.
    """
    digits = digits_only(code)[:6]
    if digits in subheadings(LATEST):
        return digits
    for edition in reversed(EDITIONS[:-1]):
        if digits in subheadings(edition):
            return to_hs2022(digits, edition).hs2022
    return None


def date_dependent_codes(
    editions: HSEditions | None = None,
) -> list[tuple[date | None, date, frozenset[str]]]:
    """For each earlier edition in force: from when (None for the earliest: always before),
    until when, and the subheadings of the latest edition it lacks. Among codes valid in the
    latest edition, only these can be invalid on an earlier date. Empty with one edition."""
    editions = editions or configured_editions()
    latest = subheadings(editions.latest)
    spans: list[tuple[date | None, date, frozenset[str]]] = []
    for i, (edition, start) in enumerate(editions.starts[:-1]):
        lacking = frozenset(latest - subheadings(edition))
        if lacking:
            spans.append((start if i else None, editions.starts[i + 1][1], lacking))
    return spans
