"""Importer history: the first band level, time-ordered, with the trader comparison kept."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.valuation import BandConfig, build_bands, check_prices
from clearlane.valuation.check import calibrate_history
from clearlane.valuation.history import HistoryConfig, build_importer_history
from clearlane.valuation.revenue import GapMixture, apply_expected_revenue, fit_gap_mixture


def make_market(seed: int = 1, n: int = 3_000, start: date = date(2024, 1, 1)) -> pl.DataFrame:
    """HS 610462 from CN: 60 importers, each at its own persistent price tier (σ 0.4) with
    small noise (σ 0.05) around 10 XOF/kg; importer I000 pays 2× and I001 0.25× the market."""
    rng = np.random.default_rng(seed)
    importer = rng.integers(0, 60, n)
    tier = rng.normal(0.0, 0.4, 60)
    tier[0], tier[1] = np.log(2.0), np.log(0.25)
    kg = np.round(rng.lognormal(3.0, 0.5, n), 1) + 0.1
    value = np.round(kg * 10.0 * np.exp(tier[importer] + rng.normal(0.0, 0.05, n)), 2)
    return pl.DataFrame({
        "declaration_id": [f"H{seed}-{i:05d}" for i in range(n)],
        "item_no": [1] * n,
        "declared_at": [start + timedelta(days=int(d)) for d in rng.integers(0, 180, n)],
        "importer_id": [f"I{i:03d}" for i in importer],
        "exporter_id": [f"E{i:03d}" for i in importer],
        "hs_code": ["61046200"] * n,
        "origin_country": ["CN"] * n,
        "quantity": kg,
        "quantity_unit": ["KGM"] * n,
        "net_mass_kg": kg,
        "customs_value": value,
        "tax_rate": [20.0] * n,
    })


def probe(importer: str, price_per_kg: float, day: date = date(2024, 8, 1)) -> pl.DataFrame:
    return pl.DataFrame({
        "declaration_id": ["P1"], "item_no": [1], "declared_at": [day], "importer_id": [importer],
        "exporter_id": [f"E{importer[1:]}"], "hs_code": ["61046200"], "origin_country": ["CN"],
        "quantity": [100.0], "quantity_unit": ["KGM"], "net_mass_kg": [100.0],
        "customs_value": [100.0 * price_per_kg], "tax_rate": [20.0],
    })


@pytest.fixture(scope="module")
def market() -> pl.DataFrame:
    return make_market()


@pytest.fixture(scope="module")
def bands(market: pl.DataFrame):  # type: ignore[no-untyped-def]
    return build_bands(market, config=BandConfig(period="all", min_count=5))


def test_own_history_flags_a_premium_importer_declaring_the_market_price(market, bands) -> None:  # type: ignore[no-untyped-def]
    history = build_importer_history(market, bands)
    declared = probe("I000", 10.0)  # the market median, but half of what I000 always pays
    plain = check_prices(declared, bands)
    own = check_prices(declared, bands, history=history)
    assert not plain.frame["price_flag"][0]
    assert own.frame["price_flag"][0]
    assert own.frame["kg_level"][0] == "importer_exporter_hs6"
    assert own.frame["price_score"][0] > 1  # log10 odds of under-valuation: over 10 to 1
    text = " ".join(r.text for r in own.reasons(0))
    n = own.frame["kg_n"][0]
    assert f"this importer's {n:,} previous declarations of HS 610462 from E000" in text
    assert "risk indicator" in text.lower()


def test_a_declaration_inside_the_history_window_never_uses_it(market, bands) -> None:  # type: ignore[no-untyped-def]
    history = build_importer_history(market, bands)
    inside = probe("I000", 10.0, day=history.window_end)  # type: ignore[arg-type]
    result = check_prices(inside, bands, history=history).frame
    assert result["kg_level"][0] == "hs6_origin"
    assert result["trader_z"][0] is None


def test_too_few_earlier_declarations_back_off_to_the_market(market, bands) -> None:  # type: ignore[no-untyped-def]
    sparse = pl.concat([market, probe("I999", 30.0, date(2024, 2, 1)), probe("I999", 30.0, date(2024, 3, 1))])
    history = build_importer_history(sparse, bands, config=HistoryConfig(min_count=3))
    result = check_prices(probe("I999", 30.0), bands, history=history).frame
    assert result["kg_level"][0] == "hs6_origin"


def test_consistent_under_valuer_is_still_compared_with_the_market(market, bands) -> None:  # type: ignore[no-untyped-def]
    history = build_importer_history(market, bands)
    result = check_prices(probe("I001", 2.5), bands, history=history)  # in line with its own history
    row = result.frame.row(0, named=True)
    assert row["kg_level"] == "importer_exporter_hs6" and not row["kg_below"]
    assert row["trader_flag"] and row["trader_z"] > 2
    assert row["price_flag"]
    assert "PRICE_TRADER_BELOW_MARKET" in {r.code for r in result.reasons(0)}


def test_history_is_built_only_from_the_rows_given(market, bands) -> None:  # type: ignore[no-untyped-def]
    early = market.filter(pl.col("declared_at") < date(2024, 4, 1))
    history = build_importer_history(early, bands)
    assert history.window_end is not None and history.window_end < date(2024, 4, 1)
    assert int(history.cells.filter(pl.col("level") == "importer_hs6")["n"].sum()) == early.height


def test_calibrated_history_scores_lower_prices_higher(market, bands) -> None:  # type: ignore[no-untyped-def]
    history = calibrate_history(market, bands, weeks=8)
    assert history.calibration is not None and history.calibration.rows > 0
    probes = pl.concat([probe("I000", price) for price in (20.0, 15.0, 10.0, 5.0)])
    scores = check_prices(probes, bands, history=history).frame["price_score"].to_list()
    assert scores == sorted(scores)


def test_first_time_buyer_gets_the_exporters_price_level(market, bands) -> None:  # type: ignore[no-untyped-def]
    # every third declaration of the market is bought from EPREM at twice the buyer's usual price
    third = pl.int_range(pl.len()) % 3 == 0
    premium_market = market.with_columns(
        pl.when(third).then(pl.lit("EPREM")).otherwise(pl.col("exporter_id")).alias("exporter_id"),
        pl.when(third).then(pl.col("customs_value") * 2.0).otherwise(pl.col("customs_value")).alias("customs_value"),
    )
    history = build_importer_history(premium_market, bands)
    new_buyer = probe("I999", 10.0)  # no history of its own
    premium = check_prices(new_buyer.with_columns(pl.lit("EPREM").alias("exporter_id")), bands, history=history)
    unknown = check_prices(new_buyer.with_columns(pl.lit("E999").alias("exporter_id")), bands, history=history)
    assert premium.frame["kg_level"][0] == unknown.frame["kg_level"][0] == "hs6_origin"
    assert premium.frame["kg_band_median"][0] > 1.5 * unknown.frame["kg_band_median"][0]


def test_calibrated_check_uses_the_history_mixture(market, bands) -> None:  # type: ignore[no-untyped-def]
    history = calibrate_history(market, bands, weeks=8)
    assert history.calibration is not None
    probes = pl.concat([probe("I000", price) for price in (20.0, 10.0, 5.0)])
    frame = check_prices(probes, bands, history=history).frame
    cal = history.calibration
    again = apply_expected_revenue(frame, GapMixture(*cal.mixture), cal.factors, 0.0)
    assert frame["undervaluation_probability"].to_list() == again["undervaluation_probability"].to_list()


# Derandomized: in 60 random draws the total fell within 0.92-1.18 of the planted one, and about
# one draw in a hundred lands just past 1.2 (an EM local optimum); CI must not depend on the draw.
@settings(max_examples=10, deadline=None, derandomize=True)
@given(pi=st.floats(0.02, 0.1), depth=st.sampled_from([0.3, 0.5]), seed=st.integers(0, 10_000))
def test_gap_mixture_recovers_share_and_depth(pi: float, depth: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 20_000
    s = rng.choice([0.1, 0.15, 0.3], n)
    fraud = rng.random(n) < pi
    d = rng.normal(0.0, s) + np.where(fraud, -np.log(1 - depth), 0.0)
    fit = fit_gap_mixture(d, s)
    assert 0 < fit.pi < 3 * pi and fit.delta > 0
    expected = (fit.posterior(d, s) * np.expm1(fit.gap(d, s))).sum()
    planted = np.expm1(np.where(fraud, -np.log(1 - depth), 0.0)).sum()
    assert expected == pytest.approx(planted, rel=0.2)
