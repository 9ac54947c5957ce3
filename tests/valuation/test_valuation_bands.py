from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.valuation import (
    BandConfig,
    ExchangeRates,
    ValueBands,
    build_bands,
    check_prices,
    robust_band,
)

prices = st.lists(st.floats(min_value=1.0, max_value=1000.0), min_size=20, max_size=200)


@settings(max_examples=60, deadline=None)
@given(values=prices, n_out=st.integers(1, 4), big=st.booleans())
def test_band_stays_within_trimmed_range_when_extreme_outliers_added(values, n_out, big):
    # "extreme" = further than trim_k (4) robust spreads can reach: the spread is at most
    # 1.4826 × the sample's log range, so 7 log ranges (+ a factor 1e6) is always beyond it.
    spread = (max(values) / min(values)) ** 7 * 1e6
    extreme = max(values) * spread if big else min(values) / spread
    band = robust_band([*values, *([extreme] * n_out)])
    lo, hi = min(values), max(values)
    assert lo * (1 - 1e-9) <= band["low"] <= band["high"] <= hi * (1 + 1e-9)
    assert lo * (1 - 1e-9) <= band["trim_min"] and band["trim_max"] <= hi * (1 + 1e-9)
    assert band["n_trimmed"] <= len(values)


@settings(max_examples=40, deadline=None)
@given(values=prices)
def test_band_orders_low_median_high(values):
    band = robust_band(values)
    assert band["low"] <= band["median"] * (1 + 1e-9) and band["median"] <= band["high"] * (1 + 1e-9)


def test_sparse_cell_backs_off_to_hs6_and_reports_cell_size(declarations):
    bands = build_bands(declarations, config=BandConfig(period="all", min_count=20))
    result = check_prices(declarations, bands).frame
    vn = result.filter(pl.col("origin_country") == "VN")
    assert vn["kg_level"].to_list() == ["hs6"] * 3
    hs6_cell = bands.table.filter(
        (pl.col("level") == "hs6") & (pl.col("hs") == "610462") & (pl.col("basis") == "kg")
    )
    assert vn["kg_n"].to_list() == [hs6_cell["n_trimmed"][0]] * 3
    cn = result.filter(pl.col("origin_country") == "CN")
    assert set(cn["kg_level"].to_list()) == {"hs6_origin"}


def test_back_off_reaches_hs2_when_only_chapter_is_dense(declarations):
    odd = declarations.head(1).with_columns(pl.lit("61099000").alias("hs_code"))
    bands = build_bands(declarations, config=BandConfig(period="all"))
    result = check_prices(odd, bands)
    assert result.frame["kg_level"][0] == "hs2"


def test_under_valued_declaration_scores_higher_and_flags(declarations):
    bands = build_bands(declarations, config=BandConfig(period="quarter"))
    probe = declarations.head(10).with_columns(pl.col("customs_value") * 0.3)
    result = check_prices(probe, bands, vat_rate=18.0)
    base = check_prices(declarations.head(10), bands)
    assert (result.frame["price_score"] > base.frame["price_score"]).all()
    assert result.frame["price_flag"].all()
    assert (result.frame["revenue_at_risk"] > 0).all()
    reasons = result.reasons(5)
    codes = {r.code for r in reasons}
    assert "PRICE_BELOW_BAND" in codes
    for reason in reasons:
        assert "risk indicator" in reason.text.lower()
        assert "correct value" not in reason.text.lower().replace("not a correct", "")


def test_revenue_at_risk_is_duty_and_vat_on_the_gap(declarations):
    bands = build_bands(declarations, config=BandConfig(period="all"))
    probe = declarations.head(5).with_columns(pl.col("customs_value") * 0.2)
    frame = check_prices(probe, bands, vat_rate=18.0).frame
    expected = frame["estimated_undervalue"] * (0.20 + 0.18)
    assert frame["revenue_at_risk"].to_list() == pytest.approx(expected.to_list())


def test_currency_conversion_uses_rate_at_date(declarations):
    table = pl.DataFrame(
        {"currency": ["USD", "USD"], "valid_from": ["2020-01-01", "2024-04-01"], "national_per_unit": [500.0, 600.0]}
    )
    rates = ExchangeRates.from_frame(table, "XOF")
    bands = build_bands(declarations, config=BandConfig(period="quarter", currency="USD"), rates=rates)
    national = build_bands(declarations, config=BandConfig(period="quarter"))
    key = ["basis", "level", "hs", "origin", "unit", "period_start"]
    joined = bands.table.join(national.table, on=key, suffix="_x")
    q1 = joined.filter(pl.col("period") == "2024-Q1")
    q2 = joined.filter(pl.col("period") == "2024-Q2")
    assert (q1["median_x"] / q1["median"]).to_list() == pytest.approx([500.0] * q1.height)
    assert (q2["median_x"] / q2["median"]).to_list() == pytest.approx([600.0] * q2.height)
    with pytest.raises(ValidationError, match="no exchange rate for 'EUR'"):
        build_bands(declarations, config=BandConfig(currency="EUR"), rates=rates)


def test_unit_table_converts_dozens(declarations):
    dozens = declarations.with_columns(pl.col("quantity") / 12, pl.lit("DZN").alias("quantity_unit"))
    a = build_bands(declarations, config=BandConfig(period="all")).table.filter(pl.col("basis") == "unit")
    b = build_bands(dozens, config=BandConfig(period="all")).table.filter(pl.col("basis") == "unit")
    assert b["unit"].unique().to_list() == ["NAR"]
    assert b["median"].to_list() == pytest.approx(a["median"].to_list())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_import_round_trip(declarations, tmp_path, suffix):
    bands = build_bands(declarations, config=BandConfig(period="quarter"), version="v7")
    path = bands.write(tmp_path / f"bands{suffix}")
    back = ValueBands.read(path)
    assert back.meta == bands.meta
    assert back.table.shape == bands.table.shape
    for a, b in zip(back.table["median"].to_list(), bands.table["median"].to_list(), strict=True):
        assert math.isclose(a, b, rel_tol=1e-9)


def test_edited_band_file_is_rejected(declarations, tmp_path):
    path = build_bands(declarations).write(tmp_path / "b.csv")
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",", ",9", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError):
        ValueBands.read(path)


def test_invalid_config_names_the_value():
    with pytest.raises(ValidationError, match="period 'week'"):
        BandConfig(period="week").validate()
