"""What a sample of a column's values looks like, for `profile suggest`.

Dates and their format (decided from the values: day/month order from a value whose day is
above 12), numbers (with a decimal comma or thousands separators), ISO or pseudonymised country
codes, currencies, 6-10 digit codes, yes/no values (``Conforme`` / ``Non conforme``), ``n of m``
item numbers, free text, and person or company names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from clearlane.ingest.suggest_vocabulary import FALSE_WORDS, NEGATED_TRUE, TRUE_WORDS
from clearlane.reference.countries import normalise_country
from clearlane.reference.currencies import normalise_currency

DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d-%b-%y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d/%b/%Y",
    "%d-%B-%Y",
    "%d %B %Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%#z",
    "%Y-%m-%d %H:%M:%S%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d-%b-%y %H:%M:%S",
)
"""Date formats recognised in samples, most common first (ISO, then day-first)."""

_SWAPPED = {"%d": "%m", "%m": "%d"}
ITEM_OF = re.compile(r"^\s*\d+\s*(?:of|/|sur|de|min)\s*\d+\s*$", re.IGNORECASE)
ITEM_EXTRACT = r"^\s*(\d+)"
PSEUDO_CODE = re.compile(r"^[A-Z]{1,3}\d{2,5}$")
NAME_VALUE = re.compile(r"^[^\W\d_][^\d]*\s[^\d]*[^\W\d_]$")  # two or more words, no digit
CODE_VALUE = re.compile(r"^[\w\-/.:# ]+$")
FLAG_VALUES = frozenset({"0", "1", "true", "false", "yes", "no", "y", "n", "t", "f", "oui", "non",
                         "o"})
TRUE_FLAGS = ("1", "true", "yes", "y", "t", "oui", "o")


@dataclass(frozen=True)
class DateGuess:
    """The format(s) that read a column's dates, and whether the day/month order is sure."""

    formats: tuple[str, ...]
    share: float
    ambiguous_order: bool = False
    evidence: str = ""


@dataclass(frozen=True)
class ColumnContent:
    """What a sample of one column's values looks like (shares are of non-empty values)."""

    present: int
    distinct: int
    numeric: float = 0.0
    decimal_comma: bool = False
    minimum: float | None = None
    maximum: float | None = None
    integer: float = 0.0
    date: DateGuess | None = None
    country: float = 0.0
    pseudo_country: float = 0.0
    currency: float = 0.0
    hs: float = 0.0
    flag: float = 0.0
    item_of: float = 0.0
    names: float = 0.0
    code: float = 0.0
    text: float = 0.0
    short: float = 0.0
    examples: tuple[str, ...] = ()
    values: tuple[str, ...] = ()

    @property
    def distinct_ratio(self) -> float:
        return self.distinct / self.present if self.present else 0.0


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _parse_number(text: str) -> tuple[float | None, bool]:
    """A number from export text (spaces, thin spaces and a decimal comma allowed)."""
    cleaned = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    comma = False
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d+|-?\d+,\d+", cleaned):
        cleaned, comma = cleaned.replace(".", "").replace(",", "."), True
    elif re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")
    if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", cleaned):
        return None, False
    return float(cleaned), comma


def guess_date_format(values: Sequence[str]) -> DateGuess | None:
    """The date format(s) that read ``values``, decided from the data, or None.

    Day/month order is settled by a value whose first (or second) part exceeds 12; when no
    value settles it, the day-first reading is kept and ``ambiguous_order`` is set.
    """
    sample = [v for v in dict.fromkeys(v.strip() for v in values) if v][:2000]
    if not sample or not any(ch.isdigit() for ch in sample[0]):
        return None
    frame = pl.DataFrame({"t": sample})
    parsed: dict[str, pl.Series] = {}
    shares: dict[str, float] = {}
    for fmt in DATE_FORMATS:
        if any(token in fmt for token in ("%H", "%M", "%S")):
            expr = pl.col("t").str.to_datetime(fmt, strict=False, time_unit="us").dt.date()
        else:
            expr = pl.col("t").str.to_date(fmt, strict=False)
        column = frame.select(expr.alias("d")).to_series()
        sane = column.is_between(date(1950, 1, 1), date(2100, 12, 31)).fill_null(False)
        shares[fmt] = _mean(sane)
        parsed[fmt] = sane
    best = max(shares.values())
    if best < 0.5:
        return None
    first = next(f for f in DATE_FORMATS if shares[f] == best)
    swapped = swap_day_month(first)
    ambiguous, evidence = False, ""
    if swapped in shares and swapped != first:
        if shares[swapped] == best:
            ambiguous = True
            evidence = "no sampled value has a day above 12"
        else:
            decisive = [v for v, a, b in zip(sample, parsed[first], parsed[swapped], strict=True)
                        if a and not b]
            if decisive:
                evidence = f"{decisive[0]!r} can only be read {first}"
    formats = [first]
    covered = parsed[first]
    while _mean(covered) < 1.0 and len(formats) < 3:  # mixed formats: add the best complement
        gains = {f: _mean(parsed[f] & ~covered) for f in DATE_FORMATS if f not in formats}
        extra = max(gains, key=lambda f: gains[f])
        if gains[extra] <= 0:
            break
        formats.append(extra)
        covered = covered | parsed[extra]
    return DateGuess(tuple(formats), _mean(covered), ambiguous, evidence)


def swap_day_month(fmt: str) -> str:
    return re.sub(r"%[dm]", lambda m: _SWAPPED[m.group(0)], fmt)


def _mean(series: pl.Series) -> float:
    value = series.cast(pl.Float64).mean()
    return float(value) if isinstance(value, (int, float)) else 0.0


def describe_column(values: pl.Series) -> ColumnContent:
    """What a sample of a column's values looks like."""
    text = values.cast(pl.String).str.strip_chars().drop_nulls()
    text = text.filter(text != "")
    if text.is_empty():
        return ColumnContent(present=0, distinct=0)
    sample = text.head(5000).to_list()
    uniques = list(dict.fromkeys(sample))
    numbers = [_parse_number(v) for v in uniques]
    numeric = [n for n, _ in numbers if n is not None]
    lowered = {u.lower() for u in uniques}
    return ColumnContent(
        present=len(sample),
        distinct=len(uniques),
        numeric=_share([n is not None for n, _ in numbers]),
        decimal_comma=any(comma for _, comma in numbers),
        minimum=min(numeric) if numeric else None,
        maximum=max(numeric) if numeric else None,
        integer=_share([n is not None and float(n).is_integer() for n, _ in numbers]),
        date=guess_date_format(uniques),
        country=_share([len(u) <= 3 and normalise_country(u) is not None for u in uniques]),
        pseudo_country=_share(
            [bool(PSEUDO_CODE.match(u)) and normalise_country(u) is None for u in uniques]
        ),
        currency=_share([len(u) == 3 and normalise_currency(u) is not None for u in uniques]),
        hs=_share([bool(re.fullmatch(r"\d{6,10}", re.sub(r"[.\s]", "", u))) for u in uniques]),
        flag=1.0 if lowered <= FLAG_VALUES and len(lowered) <= 2 else 0.0,
        item_of=_share([bool(ITEM_OF.match(u)) for u in uniques]),
        names=_share([bool(NAME_VALUE.match(u)) for u in uniques]),
        code=_share([(bool(CODE_VALUE.match(u)) and " " not in u.strip())
                     or (bool(re.search(r"\d", u)) and bool(CODE_VALUE.match(u)))
                     for u in uniques]),
        text=_share([len(u) > 15 and " " in u for u in uniques]),
        short=_share([len(u) <= 6 for u in uniques]),
        examples=tuple(uniques[:3]),
        values=tuple(uniques[:12]) if len(uniques) <= 12 else (),
    )


def yes_no_values(values: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """Which values of a two- or three-valued outcome column mean yes and which mean no."""
    if not values or len(values) > 4:
        return None
    lowered = {v.lower() for v in values}
    if lowered <= FLAG_VALUES:
        yes = [v for v in values if v.lower() in TRUE_FLAGS]
        return yes, [v for v in values if v not in yes]
    yes, no = [], []
    for value in values:
        low = " ".join(re.split(r"[^\w]+", value.lower())).strip()
        words = low.split()
        if any(phrase.replace("-", " ") in low for phrase in NEGATED_TRUE):
            yes.append(value)
        elif words and (words[0] in FALSE_WORDS or any(w in FALSE_WORDS for w in words[:2])):
            no.append(value)
        elif any(w in low for w in TRUE_WORDS):
            yes.append(value)
        else:
            return None
    return (yes, no) if yes and no else None
