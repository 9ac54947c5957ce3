"""National tariff schedules: 8-10 digit national lines with descriptions and duty rates.

An administration loads its own schedule (a CSV). Two layouts are read:

* the US HTS export (columns ``HTS Number, Indent, Description, General Rate of Duty``),
  where a line's full text is its own description preceded by those of its indented parents
  (``Horses: Purebred breeding animals: Males``);
* a plain layout with a code column, a description column and an optional duty-rate column
  (names matched case-insensitively: ``code``/``hs_code``/``tariff_code``,
  ``description``/``text``, ``duty``/``duty_rate``/``rate``).

Duty rates are ad valorem percentages of customs value; specific rates (``2.4¢/kg``) and
compound rates are kept as text with ``rate_percent = None``. ``Free`` is 0 %.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from clearlane.errors import ValidationError
from clearlane.hs.codes import normalise_code
from clearlane.hs.reference_csv import read_reference_csv
from clearlane.reference.hs_nomenclature import codes_at_level

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_CODE_COLUMNS = ("hts number", "code", "hs_code", "tariff_code", "national_code", "hscode")
_TEXT_COLUMNS = ("description", "text", "label", "designation", "title")
_RATE_COLUMNS = ("general rate of duty", "duty_rate", "duty", "rate", "mfn", "taux")


@dataclass(frozen=True)
class TariffLine:
    """One national line: ``code`` (digits, 6-10), its own ``description``, the ``full_text``
    with its parents' descriptions, and the duty rate (``rate_percent`` in % of customs value,
    ``None`` when not ad valorem or unknown; ``rate_text`` as written)."""

    code: str
    description: str
    full_text: str
    rate_text: str
    rate_percent: float | None


@dataclass(frozen=True)
class NationalTariff:
    """A loaded national tariff schedule (``name`` says which, e.g. ``us_hts_2025``)."""

    name: str
    lines: tuple[TariffLine, ...]
    _by_code: dict[str, TariffLine] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_code.update({line.code: line for line in self.lines})

    def __len__(self) -> int:
        return len(self.lines)

    def line(self, code: str) -> TariffLine | None:
        """The line with exactly this code, else None."""
        return self._by_code.get(normalise_code(code))

    def rate(self, code: str) -> float | None:
        """The ad valorem duty rate (% of customs value) for a national or HS6 code.

        A national code takes the rate of its longest known prefix; an HS6 code the rate of
        its lines when they all agree (else the lowest, since a subheading whose lines
        differ has no single rate and the check must not overstate a duty difference).
        """
        digits = normalise_code(code)
        for length in range(len(digits), 5, -1):
            found = self._by_code.get(digits[:length])
            if found is not None and found.rate_percent is not None:
                return found.rate_percent
        prefix = digits[:6]
        if prefix:
            rates = {
                line.rate_percent
                for line in self.lines
                if line.code.startswith(prefix) and line.rate_percent is not None
            }
            if rates:
                return min(rates)
        return None

    def lines_under(self, prefix: str) -> list[TariffLine]:
        """National lines whose code starts with ``prefix``."""
        digits = normalise_code(prefix)
        return [line for line in self.lines if line.code.startswith(digits)]


def parse_rate(text: str) -> float | None:
    """``'6.2%'`` → 6.2, ``'Free'`` → 0.0, anything else (specific, compound, empty) → None."""
    cleaned = text.strip()
    if cleaned.lower() in ("free", "exempt", "0", "ex"):
        return 0.0
    match = _PERCENT.match(cleaned)
    return float(match.group(1)) if match else None


def load_tariff(path: Path | str, name: str | None = None) -> NationalTariff:
    """Read a national tariff CSV (US HTS export or plain layout; see the module docstring).

    Lines whose first six digits are not an HS 2022 subheading are skipped (they belong to
    another HS edition; load a concordance to map them).
    """
    source = Path(path)
    rows, columns = read_reference_csv(
        source,
        "national tariff",
        {"code": _CODE_COLUMNS, "description": _TEXT_COLUMNS},
        {"rate": _RATE_COLUMNS, "indent": ("indent",)},
    )
    code_col, text_col = columns["code"], columns["description"]
    assert code_col is not None and text_col is not None
    lines = list(_read_lines(rows, code_col, text_col, columns["rate"], columns["indent"]))
    if not lines:
        raise ValidationError(f"{source.name} holds no line with an HS 2022 subheading")
    return NationalTariff(name or source.stem, tuple(lines))


def _read_lines(
    rows: Iterable[dict[str, str]],
    code_col: str,
    text_col: str,
    rate_col: str | None,
    indent_col: str | None,
) -> Iterable[TariffLine]:
    subheadings = codes_at_level(6)
    parents: dict[int, str] = {}
    rates: dict[str, str] = {}
    for row in rows:
        description = (row.get(text_col) or "").strip().rstrip(":")
        indent = _indent(row.get(indent_col) if indent_col else None)
        parents[indent] = description
        for deeper in [k for k in parents if k > indent]:
            del parents[deeper]
        code = normalise_code(row.get(code_col) or "")
        if not code.isdigit() or len(code) < 6 or code[:6] not in subheadings:
            continue
        rate_text = (row.get(rate_col) or "").strip() if rate_col else ""
        if rate_text:
            rates[code] = rate_text
        else:
            # A statistical suffix line inherits the rate of its 8-digit (or shorter) parent.
            rate_text = next(
                (rates[code[:n]] for n in range(len(code) - 1, 5, -1) if code[:n] in rates), ""
            )
        chain = [parents[k] for k in sorted(parents) if k <= indent and parents[k]]
        yield TariffLine(code, description, ": ".join(chain), rate_text, parse_rate(rate_text))


def _indent(value: str | None) -> int:
    try:
        return int(value) if value not in (None, "") else 0
    except ValueError:
        return 0
