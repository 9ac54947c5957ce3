"""Unit values: persistent trader price tiers, small transaction noise, realistic marginals."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.synth import SynthConfig, generate
from clearlane.synth.trade import price_tiers


def _clean_log_uv(joined: pl.DataFrame) -> pl.DataFrame:
    return joined.filter(pl.col("mechanism").is_null()).with_columns(
        (pl.col("customs_value") / pl.col("net_mass_kg")).log().alias("luv"),
        pl.col("hs_code").str.slice(0, 6).alias("hs6"),
    )


def _spread(frame: pl.DataFrame, keys: list[str]) -> float:
    """Pooled robust spread of ln unit value around its cell median, cells of >= 5 items."""
    dev = frame.filter(pl.len().over(keys) >= 5).select(
        (pl.col("luv") - pl.col("luv").median().over(keys)).abs().median() * 1.4826
    )
    return float(dev.item())


def test_one_relationship_pays_a_stable_price_while_traders_differ(joined: pl.DataFrame) -> None:
    clean = _clean_log_uv(joined)
    market = _spread(clean, ["hs6", "origin_country"])
    relationship = _spread(clean, ["importer_id", "exporter_id", "hs6"])
    assert 0.15 < market < 0.45  # between traders: wide
    assert relationship < 0.6 * market  # repeated purchases: much tighter


def test_truth_carries_the_price_tier_and_it_explains_the_spread(joined: pl.DataFrame) -> None:
    clean = _clean_log_uv(joined)
    tier = clean["price_tier"].to_numpy()
    assert (tier > 0).all()
    resid = clean.with_columns((pl.col("luv") - pl.col("price_tier").log()).alias("luv"))
    assert _spread(resid, ["hs6", "origin_country"]) < 0.6 * _spread(clean, ["hs6", "origin_country"])


def test_price_tiers_are_persistent_per_key_and_seeded() -> None:
    importer = np.array([0, 0, 1, 1, 0])
    exporter = np.array([5, 5, 5, 5, 6])
    code = np.array([3, 3, 3, 3, 3])
    config = SynthConfig(seed=4)
    tiers = price_tiers(importer, exporter, code, 10, config)
    assert tiers[0] == tiers[1]  # same importer, exporter, code
    assert tiers[0] != tiers[2] and tiers[0] != tiers[4]
    np.testing.assert_array_equal(tiers, price_tiers(importer, exporter, code, 10, config))


def test_no_tiers_gives_plain_transaction_noise() -> None:
    flat = SynthConfig(n_items=3_000, seed=2, importer_price_sigma=0.0, importer_goods_price_sigma=0.0,
                       supplier_price_sigma=0.0)
    assert (generate(flat).truth["price_tier"] == 1.0).all()


@pytest.mark.parametrize("name", ["importer_price_sigma", "price_noise_sigma", "repeat_goods_share"])
def test_invalid_price_parameters_are_named(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        SynthConfig(**{name: -0.1}).validate()  # type: ignore[arg-type]
    assert name in str(info.value.problems)
