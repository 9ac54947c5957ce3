"""Explicit currency and unit conversions for unit values.

Customs values in the canonical frame are in the **national currency**. A reference band is
expressed in one *band currency* (e.g. USD) so that administrations can share bands. The
conversion is never guessed: it comes from a user-supplied exchange-rate table.

Exchange-rate table (CSV or Parquet), one row per currency and validity start date:

=============== ==========================================================================
``currency``    ISO 4217 code of the foreign currency (e.g. ``USD``)
``valid_from``  first date the rate applies (ISO date); it applies until the next row
``national_per_unit``  national-currency units for **one** unit of ``currency``
=============== ==========================================================================

A value ``v`` in national currency on date ``d`` is ``v / national_per_unit`` in ``currency``,
using the latest row with ``valid_from <= d`` (dates before the first row use the first row).

Supplementary units are mapped to UN/ECE Recommendation 20 codes with a multiplication factor
(``DZN`` → 12 ``NAR``, ``G`` → 0.001 ``KGM``); unknown units are kept as they are, upper-cased,
so that unlike units are never mixed in one band.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from clearlane.errors import NotFoundError, Problem, ValidationError
from clearlane.reference.currencies import normalise_currency

RATE_COLUMNS = ("currency", "valid_from", "national_per_unit")

# source unit (upper-cased) → (UN/ECE Rec. 20 code, factor to multiply the quantity by)
DEFAULT_UNIT_FACTORS: dict[str, tuple[str, float]] = {
    "KGM": ("KGM", 1.0), "KG": ("KGM", 1.0), "KGS": ("KGM", 1.0),
    "GRM": ("KGM", 0.001), "G": ("KGM", 0.001), "GR": ("KGM", 0.001),
    "TNE": ("KGM", 1000.0), "T": ("KGM", 1000.0), "TON": ("KGM", 1000.0),
    "NAR": ("NAR", 1.0), "U": ("NAR", 1.0), "NO": ("NAR", 1.0), "PCE": ("NAR", 1.0),
    "PCS": ("NAR", 1.0), "PC": ("NAR", 1.0), "EA": ("NAR", 1.0), "UNIT": ("NAR", 1.0),
    "C62": ("NAR", 1.0), "H87": ("NAR", 1.0),
    "DZN": ("NAR", 12.0), "DPC": ("NAR", 12.0), "DOZ": ("NAR", 12.0),
    "PR": ("NPR", 1.0), "NPR": ("NPR", 1.0), "PAIR": ("NPR", 1.0), "PAIRS": ("NPR", 1.0),
    "LTR": ("LTR", 1.0), "L": ("LTR", 1.0), "MLT": ("LTR", 0.001), "ML": ("LTR", 0.001),
    "HLT": ("LTR", 100.0),
    "MTQ": ("MTQ", 1.0), "M3": ("MTQ", 1.0),
    "MTK": ("MTK", 1.0), "M2": ("MTK", 1.0),
    "MTR": ("MTR", 1.0), "M": ("MTR", 1.0),
    "KWH": ("KWH", 1.0), "MWH": ("KWH", 1000.0),
    "CTM": ("CTM", 1.0), "CT": ("CTM", 1.0),  # metric carats
}


@dataclass(frozen=True)
class UnitTable:
    """Mapping of source supplementary units to a canonical unit and factor.

    ``factors[unit] = (canonical_unit, factor)``: ``quantity × factor`` is in ``canonical_unit``.
    """

    factors: dict[str, tuple[str, float]] = field(default_factory=lambda: dict(DEFAULT_UNIT_FACTORS))

    def canonical_quantity(self, quantity: pl.Expr, unit: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        """Expressions (canonical quantity, canonical unit) for a quantity and its unit."""
        upper = unit.cast(pl.String).str.strip_chars().str.to_uppercase()
        codes = {k: v[0] for k, v in self.factors.items()}
        factors = {k: v[1] for k, v in self.factors.items()}
        canon_unit = upper.replace_strict(codes, default=upper, return_dtype=pl.String)
        factor = upper.replace_strict(factors, default=1.0, return_dtype=pl.Float64)
        return quantity.cast(pl.Float64) * factor, canon_unit


@dataclass(frozen=True)
class ExchangeRates:
    """A user-supplied exchange-rate table (see the module docstring).

    ``national_currency`` is the currency of ``customs_value``; converting to it is the identity.
    """

    national_currency: str
    table: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"currency": pl.String, "valid_from": pl.Date, "national_per_unit": pl.Float64}
        )
    )

    @classmethod
    def identity(cls, national_currency: str) -> ExchangeRates:
        """No table: bands are kept in the national currency."""
        return cls(_currency(national_currency, "national_currency"))

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, national_currency: str) -> ExchangeRates:
        """Validate a rate table frame (columns ``currency, valid_from, national_per_unit``)."""
        missing = [c for c in RATE_COLUMNS if c not in frame.columns]
        if missing:
            raise ValidationError(
                f"exchange-rate table lacks column(s) {missing}; expected columns {list(RATE_COLUMNS)}"
            )
        table = frame.select(
            pl.col("currency").cast(pl.String).str.strip_chars().str.to_uppercase(),
            pl.col("valid_from").cast(pl.String).str.to_date(strict=False).alias("valid_from")
            if frame.schema["valid_from"] == pl.String
            else pl.col("valid_from").cast(pl.Date),
            pl.col("national_per_unit").cast(pl.Float64, strict=False),
        )
        problems: list[Problem] = []
        for i, row in enumerate(table.iter_rows(named=True), start=2):
            if normalise_currency(row["currency"] or "") is None:
                problems.append(Problem("currency", row["currency"], "not an ISO 4217 code", i))
            if row["valid_from"] is None:
                problems.append(Problem("valid_from", None, "not an ISO date (YYYY-MM-DD)", i))
            rate = row["national_per_unit"]
            if rate is None or not rate > 0:
                problems.append(Problem("national_per_unit", str(rate), "must be a number > 0", i))
        if problems:
            raise ValidationError("invalid exchange-rate table", problems)
        return cls(_currency(national_currency, "national_currency"), table.sort("currency", "valid_from"))

    @classmethod
    def from_file(cls, path: Path | str, national_currency: str) -> ExchangeRates:
        """Read a CSV or Parquet rate table."""
        path = Path(path)
        if not path.exists():
            raise NotFoundError(f"exchange-rate table {str(path)!r} does not exist")
        is_parquet = path.suffix.lower() == ".parquet"
        frame = pl.read_parquet(path) if is_parquet else pl.read_csv(path, infer_schema_length=0)
        return cls.from_frame(frame, national_currency)

    def currencies(self) -> list[str]:
        """Currencies the table can convert to (always including the national one)."""
        return sorted({self.national_currency, *self.table["currency"].to_list()})

    def national_per_unit(self, frame: pl.DataFrame, currency: str, date_column: str) -> pl.Series:
        """Rate per row of ``frame`` (national units for one unit of ``currency``) at its date.

        Raises :class:`ValidationError` when ``currency`` is neither national nor in the table.
        """
        currency = _currency(currency, "currency")
        if currency == self.national_currency:
            return pl.Series("national_per_unit", [1.0] * frame.height, dtype=pl.Float64)
        rates = self.table.filter(pl.col("currency") == currency).select("valid_from", "national_per_unit")
        if rates.is_empty():
            raise ValidationError(
                f"no exchange rate for {currency!r} in the table; the table has "
                f"{self.currencies()} (national currency {self.national_currency!r})"
            )
        dates = frame.select(pl.col(date_column).cast(pl.Date).alias("_d")).with_row_index("_i")
        joined = (
            dates.sort("_d")
            .join_asof(rates, left_on="_d", right_on="valid_from", strategy="backward")
            .sort("_i")
        )
        first = float(rates["national_per_unit"][0])
        return joined["national_per_unit"].fill_null(first).alias("national_per_unit")


def _currency(value: str, name: str) -> str:
    code = normalise_currency(value or "")
    if code is None:
        raise ValidationError(f"{name} {value!r} is not an ISO 4217 currency code (e.g. USD, EUR, XOF)")
    return code
