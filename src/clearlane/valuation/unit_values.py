"""Unit values of declarations, in one band currency, per kg and per supplementary unit.

A unit value is ``customs_value / quantity`` where ``customs_value`` (national currency) is
converted to the band currency with an explicit :class:`ExchangeRates` table at the
declaration's ``declared_at`` date. Two *bases* exist: ``kg`` (per kg of net mass) and
``unit`` (per canonical supplementary unit, e.g. per ``NAR`` item or ``NPR`` pair; a
supplementary unit that is itself a mass is left to the ``kg`` basis). Rows without a positive
value or quantity have no unit value on that basis.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import polars as pl

from clearlane.errors import ValidationError
from clearlane.reference.hs_editions import hs2022_keys
from clearlane.valuation.conversion import ExchangeRates, UnitTable

Period = Literal["month", "quarter", "year", "all"]
PERIODS: tuple[str, ...] = ("month", "quarter", "year", "all")
BASES: tuple[str, ...] = ("kg", "unit")
ALL_PERIOD_START = date(1970, 1, 1)
"""Sentinel ``period_start`` of the single period when bands are built with ``period="all"``."""
ANY_ORIGIN = "*"
UNKNOWN_ORIGIN = "??"

NEEDED_COLUMNS = ("hs_code", "declared_at", "customs_value")


def period_start(expr: pl.Expr, period: str) -> pl.Expr:
    """First day of the period containing the date ``expr``."""
    if period not in PERIODS:
        raise ValidationError(f"period {period!r} is not valid; use one of {list(PERIODS)}")
    if period == "all":
        return pl.lit(ALL_PERIOD_START, dtype=pl.Date)
    every = {"month": "1mo", "quarter": "1q", "year": "1y"}[period]
    return expr.cast(pl.Date).dt.truncate(every)


def period_label(expr: pl.Expr, period: str) -> pl.Expr:
    """Human label of a period start date: ``2024-03``, ``2024-Q1``, ``2024`` or ``all``."""
    if period == "all":
        return pl.lit("all")
    year = expr.dt.year().cast(pl.String)
    if period == "year":
        return year
    if period == "quarter":
        return pl.format("{}-Q{}", year, expr.dt.quarter())
    return expr.dt.strftime("%Y-%m")


def check_columns(frame: pl.DataFrame, what: str) -> None:
    """Raise :class:`ValidationError` when a column needed for unit values is missing."""
    missing = [c for c in NEEDED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"{what}: declarations lack column(s) {missing}; unit values need "
            f"{list(NEEDED_COLUMNS)} and net_mass_kg and/or quantity + quantity_unit"
        )


def unit_values(
    frame: pl.DataFrame,
    *,
    rates: ExchangeRates,
    currency: str,
    period: str,
    units: UnitTable | None = None,
) -> pl.DataFrame:
    """Long frame, one row per (declaration row, basis) with a valid unit value.

    Columns: ``_row`` (0-based position in ``frame``), ``basis``, ``unit`` (``KGM`` for the kg
    basis), ``hs6``, ``hs4``, ``hs2``, ``origin`` (``??`` when unknown), ``period_start``,
    ``quantity`` (kg or canonical units), ``value`` (band currency), ``log_uv`` (natural log of
    value per unit), ``national_per_unit`` (rate used).
    """
    check_columns(frame, "unit values")
    units = units or UnitTable()
    rate = rates.national_per_unit(frame, currency, "declared_at")
    cols = frame.columns
    # Band keys are HS 2022 categories: codes of older editions (by date) mapped forward.
    hs = hs2022_keys(frame)
    base = frame.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
        pl.lit(hs).alias("hs6"),
        pl.lit(hs).str.slice(0, 4).alias("hs4"),
        pl.lit(hs).str.slice(0, 2).alias("hs2"),
        (
            pl.col("origin_country").cast(pl.String).fill_null(UNKNOWN_ORIGIN)
            if "origin_country" in cols
            else pl.lit(UNKNOWN_ORIGIN)
        ).alias("origin"),
        period_start(pl.col("declared_at"), period).alias("period_start"),
        (pl.col("customs_value").cast(pl.Float64) / rate).alias("value"),
        rate.alias("national_per_unit"),
        (pl.col("net_mass_kg").cast(pl.Float64) if "net_mass_kg" in cols else pl.lit(None, pl.Float64))
        .alias("_kg"),
        (pl.col("quantity").cast(pl.Float64) if "quantity" in cols else pl.lit(None, pl.Float64))
        .alias("_q"),
        (
            pl.col("quantity_unit").cast(pl.String)
            if "quantity_unit" in cols
            else pl.lit(None, pl.String)
        ).alias("_u"),
    )
    qty, unit = units.canonical_quantity(pl.col("_q"), pl.col("_u"))
    base = base.with_columns(qty.alias("_q"), unit.alias("_u"))
    keep = ["_row", "hs6", "hs4", "hs2", "origin", "period_start", "value", "national_per_unit"]
    kg = base.select(
        *keep, pl.lit("kg").alias("basis"), pl.lit("KGM").alias("unit"), pl.col("_kg").alias("quantity")
    )
    per_unit = base.filter(pl.col("_u").is_not_null() & (pl.col("_u") != "KGM")).select(
        *keep, pl.lit("unit").alias("basis"), pl.col("_u").alias("unit"), pl.col("_q").alias("quantity")
    )
    long = pl.concat([kg, per_unit], how="vertical")
    valid = (pl.col("value") > 0) & (pl.col("quantity") > 0) & (pl.col("hs6").str.len_chars() >= 6)
    return long.filter(valid.fill_null(False)).with_columns(
        (pl.col("value") / pl.col("quantity")).log().alias("log_uv")
    )
