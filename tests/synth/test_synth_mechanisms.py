"""Every planted mechanism is present at its configured rate and visible in a simple statistic."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from clearlane.synth import MECHANISMS, SynthConfig, SynthResult, generate
from clearlane.synth.goods import duty_rate
from clearlane.synth.parties import PREFERENTIAL_ORIGINS


def _mech(name: str) -> pl.Expr:
    return (pl.col("mechanism") == name).fill_null(False)


def _clean() -> pl.Expr:
    return pl.col("mechanism").is_null()


def _ratio_to_hs6_clean_median(
    frame: pl.DataFrame, numerator: str, denominator: str
) -> pl.DataFrame:
    """Add ``ratio``: item's numerator/denominator over the median of clean items of its HS6."""
    per = frame.with_columns((pl.col(numerator) / pl.col(denominator)).alias("x"))
    medians = per.filter(_clean()).group_by("true_hs_code").agg(pl.col("x").median().alias("m"))
    return per.join(medians, on="true_hs_code").with_columns(ratio=pl.col("x") / pl.col("m"))


@pytest.mark.parametrize(
    "name", ["undervaluation", "misclassification", "false_origin", "concealment"]
)
def test_item_level_mechanisms_are_planted_at_their_rate(
    joined: pl.DataFrame, synth_config: SynthConfig, name: str
) -> None:
    rate = getattr(synth_config, f"{name}_rate")
    count = joined.filter(_mech(name)).height
    assert count == round(rate * joined.height)


def test_network_and_burst_importers_are_fraudulent_at_their_rate(
    joined: pl.DataFrame, synth_config: SynthConfig
) -> None:
    network = joined.filter(pl.col("risky_importer") & ~pl.col("burst_importer"))
    assert network.height > 200
    share = network.select(_mech("risky_network").mean()).item()
    assert share == pytest.approx(synth_config.risky_network_fraud_rate, abs=0.07)
    burst = joined.filter(pl.col("burst_importer"))
    assert burst.height > 200
    share = burst.select(_mech("new_importer_burst").mean()).item()
    assert share == pytest.approx(synth_config.burst_fraud_rate, abs=0.07)


def test_every_mechanism_is_present_and_no_other_label(joined: pl.DataFrame) -> None:
    present = set(joined["mechanism"].drop_nulls().unique())
    assert present == set(MECHANISMS)


def test_undervalued_items_have_low_unit_values(joined: pl.DataFrame) -> None:
    frame = _ratio_to_hs6_clean_median(joined, "customs_value", "net_mass_kg")
    under = frame.filter(_mech("undervaluation"))["ratio"].median()
    clean = frame.filter(_clean())["ratio"].median()
    assert clean == pytest.approx(1.0, abs=0.05)
    assert under < 0.7
    # declared = true x (1 - depth), depth within the configured range
    rows = joined.filter(_mech("undervaluation"))
    kept = (rows["customs_value"] / rows["true_customs_value"]).to_numpy()
    assert kept.min() >= 1 - 0.7 - 0.01 and kept.max() <= 1 - 0.2 + 0.01


@pytest.mark.parametrize("depth", [0.1, 0.3, 0.5])
def test_undervaluation_depth_is_configurable(depth: float) -> None:
    result = generate(SynthConfig(n_items=4_000, seed=3, undervaluation_depth=(depth, depth)))
    rows = result.declarations.join(result.truth, on=["declaration_id", "item_no"]).filter(
        _mech("undervaluation")
    )
    kept = (rows["customs_value"] / rows["true_customs_value"]).to_numpy()
    assert np.allclose(kept, 1 - depth, atol=0.01)


def test_misclassified_items_declare_a_lower_duty_code_of_the_same_chapter(
    joined: pl.DataFrame,
) -> None:
    rows = joined.filter(_mech("misclassification"))
    assert (rows["hs_code"] != rows["true_hs_code"]).all()
    assert (rows["hs_code"].str.slice(0, 2) == rows["true_hs_code"].str.slice(0, 2)).all()
    declared = np.array([duty_rate(c) for c in rows["hs_code"]])
    true = np.array([duty_rate(c) for c in rows["true_hs_code"]])
    assert (declared < true).all()
    assert (rows["tax_rate"] < rows["true_tax_rate"]).all()
    # everywhere else the declared code is the true code
    assert (joined.filter(~_mech("misclassification")).select(
        (pl.col("hs_code") == pl.col("true_hs_code")).all()
    )).item()


def test_false_origin_claims_a_preferential_origin_the_goods_do_not_have(
    joined: pl.DataFrame,
) -> None:
    rows = joined.filter(_mech("false_origin"))
    assert rows["origin_country"].is_in(list(PREFERENTIAL_ORIGINS)).all()
    assert not rows["true_origin_country"].is_in(list(PREFERENTIAL_ORIGINS)).any()
    # visible: declared origin differs from the country of departure far more often
    mismatch = rows.select((pl.col("origin_country") != pl.col("departure_country")).mean()).item()
    clean = joined.filter(_clean() & pl.col("origin_country").is_in(list(PREFERENTIAL_ORIGINS)))
    clean_mismatch = clean.select(
        (pl.col("origin_country") != pl.col("departure_country")).mean()
    ).item()
    disguised = 1 - mismatch
    assert disguised == pytest.approx(0.4, abs=0.07)  # false_origin_disguised_share
    assert clean_mismatch < 0.1
    assert (rows["tax_rate"] == 18.0).all()


def test_concealed_items_have_too_much_mass_for_their_value_and_quantity(
    joined: pl.DataFrame,
) -> None:
    by_value = _ratio_to_hs6_clean_median(joined, "customs_value", "net_mass_kg")
    by_qty = _ratio_to_hs6_clean_median(joined, "quantity", "net_mass_kg")
    assert by_value.filter(_mech("concealment"))["ratio"].median() < 0.75
    assert by_qty.filter(_mech("concealment"))["ratio"].median() < 0.75
    assert by_qty.filter(_clean())["ratio"].median() == pytest.approx(1.0, abs=0.05)
    # value per unit stays normal: only the mass betrays the hidden goods
    per_unit = _ratio_to_hs6_clean_median(joined, "customs_value", "quantity")
    assert per_unit.filter(_mech("concealment"))["ratio"].median() == pytest.approx(1.0, abs=0.2)


def test_risky_brokers_concentrate_fraud(joined: pl.DataFrame) -> None:
    fraud = pl.col("mechanism").is_not_null()
    per_broker = joined.group_by("declarant_id").agg(
        fraud.mean().alias("rate"), pl.col("risky_broker").first().alias("risky"), pl.len()
    )
    risky = per_broker.filter(pl.col("risky"))
    others = per_broker.filter(~pl.col("risky") & (pl.col("len") >= 50))
    assert risky.height >= 1
    # risky importers route almost all their declarations through the risky brokers
    imp = joined.filter(pl.col("risky_importer") & ~pl.col("burst_importer"))
    assert imp["risky_broker"].mean() > 0.85
    # the network is visible: its items are fraudulent several times more often than the rest
    net = joined.filter(pl.col("risky_broker") & pl.col("risky_importer")).select(fraud.mean())
    assert net.item() > 4 * joined.select(fraud.mean()).item()
    assert others.height > 0


def test_burst_importers_are_new_short_lived_and_fraudulent(
    joined: pl.DataFrame, synth_config: SynthConfig
) -> None:
    spans = joined.filter(pl.col("burst_importer")).group_by("importer_id").agg(
        first=pl.col("declared_at").min(), last=pl.col("declared_at").max()
    )
    assert spans.height == synth_config.n_bursts * synth_config.importers_per_burst
    days = (spans["last"] - spans["first"]).dt.total_days()
    assert days.max() < synth_config.burst_window_days
    fraud = pl.col("mechanism").is_not_null()
    new_rate = joined.filter(pl.col("burst_importer")).select(fraud.mean()).item()
    assert new_rate > 4 * joined.filter(~pl.col("burst_importer")).select(fraud.mean()).item()


def test_evaded_revenue_is_the_tax_difference(joined: pl.DataFrame) -> None:
    rows = joined.filter(pl.col("mechanism").is_not_null())
    true_tax = rows["true_customs_value"] * rows["true_tax_rate"] / 100
    assert np.allclose(rows["evaded_revenue"], (true_tax - rows["taxes_paid"]).clip(0), atol=2.0)
    assert (rows["evaded_revenue"] > 0).mean() > 0.99
    assert (joined.filter(_clean())["evaded_revenue"] == 0).all()


def test_zero_rates_plant_nothing() -> None:
    result: SynthResult = generate(
        SynthConfig(
            n_items=3_000, seed=2, undervaluation_rate=0, misclassification_rate=0,
            false_origin_rate=0, concealment_rate=0, risky_network_fraud_rate=0,
            burst_fraud_rate=0,
        )
    )
    assert result.truth["mechanism"].null_count() == 3_000
    assert not result.declarations["fraud"].fill_null(False).any()
