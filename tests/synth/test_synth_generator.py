from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.reference.hs_nomenclature import check_hs_code
from clearlane.schema.fields import KEY_FIELDS, canonical_schema
from clearlane.synth import SynthConfig, SynthResult, generate


def test_declarations_have_exactly_the_canonical_schema(synth_result: SynthResult) -> None:
    assert dict(synth_result.declarations.schema) == canonical_schema()


def test_truth_is_keyed_like_the_declarations(synth_result: SynthResult) -> None:
    truth, decl = synth_result.truth, synth_result.declarations
    assert truth.height == decl.height == 60_000
    assert truth.select(KEY_FIELDS).equals(decl.select(KEY_FIELDS))
    assert decl.select(KEY_FIELDS).is_unique().all()
    for column in ("mechanism", "true_hs_code", "true_customs_value", "true_origin_country",
                   "evaded_revenue"):
        assert column in truth.columns


def test_same_seed_gives_identical_frames_and_another_seed_does_not() -> None:
    first = generate(SynthConfig(n_items=3_000, seed=5))
    again = generate(SynthConfig(n_items=3_000, seed=5))
    other = generate(SynthConfig(n_items=3_000, seed=6))
    assert first.declarations.equals(again.declarations)
    assert first.truth.equals(again.truth)
    assert not first.declarations.equals(other.declarations)


def test_codes_are_valid_hs_2022_and_countries_iso(synth_result: SynthResult) -> None:
    d, t = synth_result.declarations, synth_result.truth
    codes = set(d["hs_code"].unique()) | set(t["true_hs_code"].unique())
    assert all(len(c) == 6 and check_hs_code(c) is None for c in codes)
    countries = (
        set(d["origin_country"].unique()) | set(d["departure_country"].unique())
        | set(t["true_origin_country"].unique())
    )
    assert all(pycountry.countries.get(alpha_2=c) is not None for c in countries)
    assert synth_result.config.home_country not in set(t["true_origin_country"])
    assert all(pycountry.currencies.get(alpha_3=c) is not None for c in d["currency"].unique())


def test_required_fields_present_and_values_in_range(synth_result: SynthResult) -> None:
    d = synth_result.declarations
    cfg = synth_result.config
    for column in ("declaration_id", "declared_at", "hs_code", "goods_description",
                   "importer_id", "declarant_id", "office_id", "customs_value"):
        assert d[column].null_count() == 0, column
    assert d["declared_at"].min() >= cfg.start
    assert d["declared_at"].max() <= cfg.start + timedelta(days=cfg.days - 1)
    assert (d["customs_value"] > 0).all()
    assert (d["net_mass_kg"] > 0).all()
    assert (d["gross_mass_kg"] >= d["net_mass_kg"]).all()
    assert (d["fob_value"] <= d["customs_value"]).all()
    assert d["declared_at"].is_sorted()


def test_taxes_paid_is_customs_value_times_rate(synth_result: SynthResult) -> None:
    d = synth_result.declarations
    expected = (d["customs_value"] * d["tax_rate"] / 100).round(0)
    assert np.allclose(d["taxes_paid"].to_numpy(), expected.to_numpy(), atol=1.0)
    assert set(d["tax_rate"].unique()) <= {r + 18.0 for r in (0.0, 5.0, 10.0, 20.0, 35.0)}


def test_outcomes_only_observable_when_inspected(joined: pl.DataFrame) -> None:
    not_inspected = joined.filter(~pl.col("inspected"))
    for column in ("fraud", "revenue_recovered", "critical", "finding", "inspected_at",
                   "officer_id"):
        assert not_inspected[column].null_count() == not_inspected.height, column
    inspected = joined.filter(pl.col("inspected"))
    assert inspected["fraud"].null_count() == 0
    # fraud is found only where a mechanism was planted, and recovers exactly the evaded revenue
    found = inspected.filter(pl.col("fraud"))
    assert found["mechanism"].null_count() == 0
    assert np.allclose(found["revenue_recovered"], found["evaded_revenue"])
    assert (inspected.filter(~pl.col("fraud"))["revenue_recovered"] == 0).all()
    assert (found["evaded_revenue"] > 0).all()
    assert (inspected["inspected_at"] >= inspected["declared_at"]).all()
    assert not inspected.filter(~pl.col("fraud"))["critical"].any()


def test_inspection_share_is_realistic_and_biased_towards_fraud(joined: pl.DataFrame) -> None:
    share = joined["inspected"].mean()
    assert 0.15 <= share <= 0.30
    planted = joined["mechanism"].is_not_null()
    rate_fraud = joined.filter(planted)["inspected"].mean()
    rate_clean = joined.filter(~planted)["inspected"].mean()
    assert rate_fraud > 1.5 * rate_clean
    # the random share keeps some clean items under inspection
    assert rate_clean > 0.1


def test_extra_is_json_with_kept_columns(synth_result: SynthResult) -> None:
    decoded = synth_result.declarations["extra"].head(200).str.json_decode()
    fields = {f.name for f in decoded.dtype.fields}  # type: ignore[attr-defined]
    assert {"incoterm", "payment_type", "container"} <= fields


@pytest.mark.parametrize(
    "changes",
    [{"n_items": 0}, {"undervaluation_rate": 1.5}, {"undervaluation_depth": (0.5, 0.2)},
     {"currency": "EURO"}, {"n_importers": 1}],
)
def test_invalid_config_is_rejected_with_the_field_named(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        SynthConfig(**changes).validate()  # type: ignore[arg-type]
    assert next(iter(changes)) in str(info.value)


@settings(max_examples=12, deadline=None)
@given(
    n_items=st.integers(min_value=1, max_value=400),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    days=st.integers(min_value=1, max_value=800),
)
def test_any_small_config_gives_a_consistent_frame(n_items: int, seed: int, days: int) -> None:
    cfg = SynthConfig(n_items=n_items, seed=seed, days=days, start=date(2023, 6, 1))
    result = generate(cfg)
    d = result.declarations
    assert d.height == result.truth.height == n_items
    assert dict(d.schema) == canonical_schema()
    assert d.select(KEY_FIELDS).is_unique().all()
    assert d["declared_at"].max() <= cfg.start + timedelta(days=days - 1)
    assert d["item_no"].min() == 1
