"""Match unit values to market bands: the most specific usable cell, then shrinkage to HS6.

Shared by the price check and the importer history (which measures each importer's prices
relative to the same market centres).
"""

from __future__ import annotations

import polars as pl

from clearlane.valuation.bands import LEVEL_HS_COLUMN, LEVELS, ValueBands
from clearlane.valuation.unit_values import ANY_ORIGIN

STAT_COLUMNS = ("level", "period", "n_trimmed", "median", "scale", "low", "high")


def match_market(long: pl.DataFrame, bands: ValueBands) -> pl.DataFrame:
    """``long`` (from :func:`unit_values`) with the stats of its market band (nulls when none).

    Dates outside the bands' window use the first or last period.
    """
    usable = bands.usable()
    if usable.height:
        starts = usable["period_start"]
        long = long.with_columns(pl.col("period_start").clip(pl.lit(starts.min()), pl.lit(starts.max())))
    return _shrink_to_hs6(_match_levels(long, usable), usable, bands.config.shrinkage)


def _match_levels(long: pl.DataFrame, usable: pl.DataFrame) -> pl.DataFrame:
    """Match each (row, basis) to the most specific usable band; unmatched rows keep nulls."""
    keep = ["basis", "unit", "hs", "origin", "period_start", *STAT_COLUMNS]
    remaining = long.with_columns(pl.lit(ANY_ORIGIN).alias("_any"))
    parts: list[pl.DataFrame] = []
    for level in LEVELS:
        cells = usable.filter(pl.col("level") == level).select(keep)
        left_on = ["basis", "unit", LEVEL_HS_COLUMN[level], "origin" if level == "hs6_origin" else "_any", "period_start"]
        right_on = ["basis", "unit", "hs", "origin", "period_start"]
        hit = remaining.join(cells, left_on=left_on, right_on=right_on, how="inner")
        parts.append(hit.select(*long.columns, *STAT_COLUMNS))
        remaining = remaining.join(cells, left_on=left_on, right_on=right_on, how="anti")
    schema = usable.schema
    parts.append(
        remaining.select(
            *long.columns, *[pl.lit(None, dtype=schema[c]).alias(c) for c in STAT_COLUMNS]
        )
    )
    return pl.concat(parts, how="vertical")


def origin_effects(usable: pl.DataFrame, prior: float = 5.0) -> pl.DataFrame:
    """Price level of each origin relative to all origins, per (basis, origin, period_start).

    The median over HS6 codes of ``ln(HS6 × origin centre) − ln(HS6 centre)``, shrunk towards 0
    with ``k / (k + prior)`` for an origin seen in ``k`` codes. Goods from a cheap origin are
    cheap across codes; this lets a sparse cell borrow that level instead of the all-origin one.
    """
    parent = usable.filter(pl.col("level") == "hs6").select(
        "basis", "unit", "hs", "period_start", pl.col("median").alias("_pmed")
    )
    return (
        usable.filter(pl.col("level") == "hs6_origin")
        .join(parent, on=["basis", "unit", "hs", "period_start"], how="inner")
        .group_by("basis", "origin", "period_start")
        .agg(
            (pl.col("median").log() - pl.col("_pmed").log()).median().alias("_eff"),
            pl.len().alias("_k"),
        )
        .select(
            "basis", "origin", "period_start",
            (pl.col("_eff") * pl.col("_k") / (pl.col("_k") + prior)).alias("origin_effect"),
        )
    )


def _shrink_to_hs6(matched: pl.DataFrame, usable: pl.DataFrame, strength: float) -> pl.DataFrame:
    """Pull HS6 × origin centres towards their HS6 centre moved by the origin's price level
    (:func:`origin_effects`): ``w = n / (n + strength)`` on the log scale (empirical-Bayes
    style; a small origin cell borrows from all origins). Rows matched at a coarser level get
    the origin's price level too (centre and band), reported in ``origin_effect``."""
    parent = usable.filter(pl.col("level") == "hs6").select(
        "basis", "unit", pl.col("hs").alias("hs6"), "period_start", pl.col("median").alias("_pmed")
    )
    effects = origin_effects(usable)
    weight = pl.col("n_trimmed") / (pl.col("n_trimmed") + strength)
    target = pl.col("_pmed").log() + pl.col("origin_effect")
    blended = (weight * pl.col("median").log() + (1 - weight) * target).exp()
    coarse = pl.col("level") != "hs6_origin"
    shift = pl.when(coarse).then(pl.col("origin_effect").exp()).otherwise(1.0)
    out = (
        matched.join(effects, on=["basis", "origin", "period_start"], how="left")
        .with_columns(pl.col("origin_effect").fill_null(0.0))
        .join(parent, on=["basis", "unit", "hs6", "period_start"], how="left")
    )
    if strength > 0:
        out = out.with_columns(
            pl.when((pl.col("level") == "hs6_origin") & pl.col("_pmed").is_not_null())
            .then(blended)
            .otherwise(pl.col("median"))
            .alias("median")
        )
    return out.with_columns(
        pl.col("median") * shift, pl.col("low") * shift, pl.col("high") * shift,
        pl.when(coarse).then(pl.col("origin_effect")).otherwise(0.0).alias("origin_effect"),
    ).drop("_pmed")
