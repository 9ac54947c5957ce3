"""HS edition concordance (e.g. HS 2017 → HS 2022): the shipped UNSD tables by default, or an
administration's own file.

By default (:func:`shipped_concordance`, or :func:`load_concordance` without a path) the
correspondence comes from the UNSD tables shipped with Clearlane
(:mod:`clearlane.reference.hs_editions`; a code that keeps its number maps to itself).
An administration's file is a CSV with a source-code column and a target-code column (names
matched case-insensitively: ``hs2017``/``hs2012``/``from``/``source`` and
``hs2022``/``to``/``target``). One old code may split into several new ones;
:meth:`Concordance.map` returns all of them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from clearlane.hs.codes import normalise_code
from clearlane.hs.reference_csv import read_reference_csv
from clearlane.reference.hs_editions import subheadings, to_hs2022

_FROM = ("hs2017", "hs_2017", "from", "source", "old", "from_code", "hs2017_code", "hs2012",
         "hs_2012", "hs2012_code")
_TO = ("hs2022", "hs_2022", "to", "target", "new", "to_code", "hs2022_code")


@dataclass(frozen=True)
class Concordance:
    """Old-edition HS6 → the new-edition HS6 codes it became (``mapping``)."""

    name: str
    mapping: dict[str, tuple[str, ...]]

    def map(self, code: str) -> tuple[str, ...]:
        """New codes for an old (national or HS6) code; the HS6 itself when unmapped, since
        most subheadings did not change between editions."""
        digits = normalise_code(code)[:6]
        return self.mapping.get(digits, (digits,))

    def is_split(self, code: str) -> bool:
        """True when the old code became several new ones (the classifier must then choose)."""
        return len(self.map(code)) > 1


def shipped_concordance(edition: str = "2017") -> Concordance:
    """HS ``edition`` (2012 or 2017) → HS 2022 from the shipped UNSD tables: each code's
    HS 2022 candidates (itself when it continues, its successors when it was split)."""
    codes = sorted(subheadings(edition))
    return Concordance(
        f"hs{edition}_to_hs2022", {c: to_hs2022(c, edition).candidates for c in codes}
    )


def load_concordance(path: Path | str | None = None, edition: str = "2017") -> Concordance:
    """Read a concordance CSV (see the module docstring); without a path, the shipped
    HS ``edition`` → HS 2022 concordance."""
    if path is None:
        return shipped_concordance(edition)
    rows, columns = read_reference_csv(path, "concordance", {"source": _FROM, "target": _TO})
    old, new = columns["source"], columns["target"]
    assert old is not None and new is not None
    mapping: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        a, b = normalise_code(row[old] or "")[:6], normalise_code(row[new] or "")[:6]
        if len(a) == 6 and len(b) == 6 and b not in mapping[a]:
            mapping[a].append(b)
    return Concordance(Path(path).stem, {k: tuple(v) for k, v in mapping.items()})
