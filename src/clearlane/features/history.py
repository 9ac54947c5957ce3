"""Per-key history state and as-of look-ups behind :class:`~clearlane.features.FeaturePipeline`.

``cumulative_state`` turns per-key daily sums into cumulative state (with a zero sentinel row
per key and the key's first day on every row), and ``extend_state`` continues it with later
days; ``asof_sums`` looks up sums strictly before each
row's day (and before its window's start). Batches dated after the history use the
integer-keyed copy of the state in :mod:`clearlane.features.keyed` instead. All sums are in
:data:`SUMS` order; :data:`WINDOWED` ones cover the window.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from clearlane.features.catalog import UNIT_VALUE_GROUPS, HistoryGroup

SUMS = ("n", "insp", "nfraud", "rev", "uv_n", "uv_s", "uv_ss", "tax_n", "tax_s")


WINDOWED: tuple[str, ...] = ("n", "insp", "nfraud", "rev")
"""Sums restricted to the rolling window; the others (value references) are cumulative."""


ALL_GROUP = HistoryGroup("all", (), "All declarations", "OVERALL_HISTORY")


SENTINEL_DAY = date(1900, 1, 1)


def unsort(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=float)
    out[order] = values
    return out


def needed_sums(group: str) -> tuple[str, ...]:
    """The sums the derived features read for a group (others stay zero on the fast path)."""
    needed: tuple[str, ...] = WINDOWED
    if group in UNIT_VALUE_GROUPS:
        needed += ("uv_n", "uv_s", "uv_ss")
    if group == "hs6":
        needed += ("tax_n", "tax_s")
    return needed


def key_expr(group: HistoryGroup) -> pl.Expr:
    if not group.columns:
        return pl.lit("*")
    return pl.concat_str([pl.col(c) for c in group.columns], separator="\x1f")


def daily_sums(prep: pl.DataFrame, group: HistoryGroup, labels: bool) -> pl.DataFrame:
    """Per key and day: counts, and (when ``labels``) outcome sums; value sums for references."""
    zero = pl.lit(0.0)
    uv = pl.col("log_uv")
    has_uv = uv.is_not_null().cast(pl.Float64)
    tax = pl.col("tax_rate")
    return (
        prep.select(
            key_expr(group).alias("key"),
            pl.col("day"),
            pl.lit(1.0).alias("n"),
            (pl.col("_insp").cast(pl.Float64) if labels else zero).alias("insp"),
            (pl.col("_fraud").cast(pl.Float64) if labels else zero).alias("nfraud"),
            (pl.col("_rev") if labels else zero).alias("rev"),
            has_uv.alias("uv_n"),
            uv.fill_null(0.0).alias("uv_s"),
            (uv.fill_null(0.0) ** 2).alias("uv_ss"),
            tax.is_not_null().cast(pl.Float64).alias("tax_n"),
            tax.fill_null(0.0).alias("tax_s"),
        )
        .drop_nulls("key")
        .group_by(["key", "day"])
        .agg(pl.col(c).sum() for c in SUMS)
    )


def cumulative_state(daily: pl.DataFrame) -> pl.DataFrame:
    """Per key and day: cumulative sums through that day (``c_*``) and the key's first day
    (``t_first_day``), plus a zero sentinel row per key; sorted by day (for as-of joins)."""
    cumulative = daily.sort(["key", "day"]).select(
        "key",
        "day",
        *[pl.col(c).cum_sum().over("key").alias(f"c_{c}") for c in SUMS],
    )
    sentinel = cumulative.group_by("key").agg(pl.lit(SENTINEL_DAY).alias("day")).select(
        "key", "day", *[pl.lit(0.0).alias(f"c_{c}") for c in SUMS]
    )
    both = pl.concat([sentinel, cumulative], how="vertical").sort(["key", "day"])
    # Only the key's first day is kept per row: a key's totals are its last row's c_* (the
    # look-ups read those), and a copy of them on every row doubled the state and the artifact.
    return both.with_columns(
        pl.col("day").filter(pl.col("day") > SENTINEL_DAY).min().over("key")
        .alias("t_first_day"),
    ).sort("day")


def extend_state(state: pl.DataFrame, added: pl.DataFrame) -> pl.DataFrame:
    """``cumulative_state`` of a history and ``added`` (per key and day sums dated after every
    day of it), from the history's own cumulative ``state``: its rows stay as they are and
    the added rows continue each key's running sums from the key's last row, added in the same
    order as :func:`cumulative_state` adds them (so the values are the same bit for bit). The
    work grows with the added rows and the keys, not with the days of the history."""
    if added.height == 0:
        return state
    sums = [f"c_{c}" for c in SUMS]
    totals = state.group_by("key").agg(pl.col(c).last() for c in [*sums, "t_first_day"])
    keys = added.select("key").unique()
    # each known key's totals as a first row dated before any added day, then its added days
    start = totals.join(keys, on="key", how="semi").select(
        "key", pl.lit(SENTINEL_DAY).alias("day"), *[pl.col(f"c_{c}").alias(c) for c in SUMS])
    running = (
        pl.concat([start, added.select("key", "day", *SUMS)], how="vertical")
        .sort(["key", "day"])
        .select("key", "day", *[pl.col(c).cum_sum().over("key").alias(f"c_{c}") for c in SUMS])
        .filter(pl.col("day") > SENTINEL_DAY)
    )
    first = pl.concat([
        totals.select("key", "t_first_day"),
        added.join(totals, on="key", how="anti").group_by("key").agg(
            pl.col("day").min().alias("t_first_day")),
    ], how="vertical")
    new_keys = first.join(totals, on="key", how="anti").select(
        "key", pl.lit(SENTINEL_DAY).alias("day"), *[pl.lit(0.0).alias(c) for c in sums],
        "t_first_day")
    extended = running.join(first, on="key", how="left").sort("day")
    return pl.concat([new_keys, state, extended], how="vertical_relaxed")


def asof_sums(prep: pl.DataFrame, group: HistoryGroup, state: pl.DataFrame,
          window: int | None) -> dict[str, np.ndarray]:
    """Sums strictly before each row's day (windowed ones over the window), in ``prep`` order."""
    query = prep.select(
        "_row", "day",
        (pl.col("day") - pl.duration(days=window or 0)).alias("day_w"),
        key_expr(group).alias("key"),
    ).sort("day")
    options: dict[str, Any] = {"by": "key", "strategy": "backward",
                               "allow_exact_matches": False, "check_sortedness": False}
    at_day = query.join_asof(state, on="day", **options)
    order = at_day["_row"].to_numpy()
    out = {c: at_day[f"c_{c}"].fill_null(0.0).to_numpy() for c in SUMS}
    if window:
        before = query.join_asof(state, left_on="day_w", right_on="day", **options)
        for c in WINDOWED:
            out[c] = out[c] - before[f"c_{c}"].fill_null(0.0).to_numpy()
    first = at_day["t_first_day"].cast(pl.Int64).cast(pl.Float64).fill_null(math.nan).to_numpy()
    known = at_day["c_n"].fill_null(0.0).to_numpy() > 0
    out["first_day"] = np.where(known, first, np.nan)
    return {c: unsort(v, order) for c, v in out.items()}
