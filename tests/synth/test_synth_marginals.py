"""Marginal distributions look like real declaration data."""

from __future__ import annotations

import polars as pl

from clearlane.synth import SynthResult


def test_most_importers_lodge_few_declarations_and_a_few_lodge_most(
    synth_result: SynthResult,
) -> None:
    per = (
        synth_result.declarations.group_by("importer_id")
        .agg(pl.col("declaration_id").n_unique().alias("n"))
        .sort("n", descending=True)
    )
    counts = per["n"]
    assert counts.median() <= 5
    top = counts.head(max(1, len(counts) // 100)).sum() / counts.sum()
    assert top > 0.2  # top 1 % of importers lodge over a fifth of declarations
    assert counts.max() > 20 * counts.median()


def test_values_are_heavy_tailed(synth_result: SynthResult) -> None:
    values = synth_result.declarations["customs_value"]
    assert values.mean() > 2 * values.median()
    assert values.quantile(0.99) > 20 * values.median()


def test_offices_differ_in_size(synth_result: SynthResult) -> None:
    sizes = synth_result.declarations.group_by("office_id").len()["len"]
    assert sizes.len() == synth_result.config.n_offices
    assert sizes.max() > 5 * sizes.min()


def test_weekly_and_yearly_seasonality(synth_result: SynthResult) -> None:
    d = synth_result.declarations.with_columns(
        weekday=pl.col("declared_at").dt.weekday(), month=pl.col("declared_at").dt.month()
    )
    by_day = d.group_by("weekday").len().sort("weekday")["len"].to_list()
    assert by_day[6] < 0.3 * by_day[0]  # Sunday is quiet
    by_month = d.group_by("month").len()["len"]
    assert by_month.max() > 1.2 * by_month.min()


def test_several_items_per_declaration(synth_result: SynthResult) -> None:
    d = synth_result.declarations
    per = d.group_by("declaration_id").len()["len"]
    assert 2.0 < per.mean() < 3.0
    assert (per == 1).mean() > 0.25


def test_prices_depend_on_origin(joined: pl.DataFrame) -> None:
    clean = joined.filter(pl.col("mechanism").is_null()).with_columns(
        uv=pl.col("customs_value") / pl.col("net_mass_kg")
    )
    medians = clean.group_by("hs_code").agg(m=pl.col("uv").median())
    by_origin = (
        clean.join(medians, on="hs_code")
        .group_by("origin_country")
        .agg((pl.col("uv") / pl.col("m")).median().alias("r"))
    )
    level = dict(zip(by_origin["origin_country"], by_origin["r"], strict=True))
    assert level["CN"] < 0.9 < 1.1 < level["DE"]
