"""Leakage, alignment and guard tests for the history feature pipeline."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.features import FeaturePipeline


def _frame(n: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = date(2024, 1, 1)
    return pl.DataFrame({
        "declaration_id": [f"D{i:05d}" for i in range(n)],
        "item_no": [1] * n,
        "declared_at": [start + timedelta(days=int(d)) for d in np.sort(rng.integers(0, 40, n))],
        "importer_id": rng.choice(["I1", "I2", "I3", "I4"], n).tolist(),
        "declarant_id": rng.choice(["B1", "B2"], n).tolist(),
        "exporter_id": rng.choice(["S1", "S2", None], n).tolist(),
        "hs_code": rng.choice(["690722", "690721", "850152"], n).tolist(),
        "origin_country": rng.choice(["CN", "VN"], n).tolist(),
        "office_id": rng.choice(["O1", "O2"], n).tolist(),
        "customs_value": rng.uniform(0, 1e5, n).round(2).tolist(),
        "net_mass_kg": rng.choice([0.0, 10.0, 100.0], n).tolist(),
        "tax_rate": rng.choice([0.0, 8.0], n).tolist(),
        "inspected": rng.random(n) < 0.6,
        "fraud": rng.random(n) < 0.3,
        "revenue_recovered": rng.uniform(0, 1000, n).tolist(),
        "extra": ['{"Tax Type": "A"}'] * n,
    })


def test_features_are_aligned_and_finite() -> None:
    data = _frame()
    features = FeaturePipeline().fit_transform(data)
    assert features.height == data.height
    values = features.to_numpy()
    assert not np.isinf(values).any()  # zero masses and values never give infinities


def test_first_day_sees_no_history() -> None:
    data = _frame()
    features = FeaturePipeline().fit_transform(data)
    first = (data["declared_at"] == data["declared_at"].min()).to_numpy()
    assert (features["importer_n"].to_numpy()[first] == 0).all()
    assert (features["hs6_insp"].to_numpy()[first] == 0).all()


def test_same_day_rows_do_not_see_each_other() -> None:
    data = _frame().with_columns(pl.lit(date(2024, 3, 1)).alias("declared_at"))
    features = FeaturePipeline().fit_transform(data)
    assert (features["importer_n"].to_numpy() == 0).all()
    assert (features["importer_n_fraud"].to_numpy() == 0).all()


def test_counts_equal_a_naive_loop() -> None:
    data = _frame(120)
    features = FeaturePipeline().fit_transform(data)
    rows = data.to_dicts()
    for i in (5, 60, 119):
        before = [r for r in rows if r["declared_at"] < rows[i]["declared_at"]
                  and r["importer_id"] == rows[i]["importer_id"]]
        frauds = sum(1 for r in before if r["inspected"] and r["fraud"])
        assert features["importer_n"][i] == len(before)
        assert features["importer_n_fraud"][i] == frauds


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=39), st.integers(min_value=0, max_value=10_000))
def test_changing_a_future_label_never_changes_a_past_feature(cut_day: int, seed: int) -> None:
    data = _frame(150, seed)
    cut = date(2024, 1, 1) + timedelta(days=cut_day)
    future = (data["declared_at"] >= cut).to_numpy()
    flipped = data.with_columns(
        pl.when(pl.Series(future)).then(~pl.col("fraud")).otherwise(pl.col("fraud")).alias("fraud"),
        pl.when(pl.Series(future)).then(pl.col("customs_value") * 3).otherwise(
            pl.col("customs_value")).alias("customs_value"),
    )
    a = FeaturePipeline().fit_transform(data).filter(pl.Series(~future))
    b = FeaturePipeline().fit_transform(flipped).filter(pl.Series(~future))
    assert a.equals(b)


def test_adding_later_rows_does_not_change_earlier_features() -> None:
    data = _frame()
    cut = date(2024, 1, 20)
    early = data.filter(pl.col("declared_at") < cut)
    a = FeaturePipeline().fit_transform(early)
    b = FeaturePipeline().fit_transform(data).head(early.height)
    assert a.equals(b)


def test_transform_never_reads_labels_of_scored_rows() -> None:
    data = _frame()
    cut = date(2024, 1, 25)
    train = data.filter(pl.col("declared_at") < cut)
    test = data.filter(pl.col("declared_at") >= cut)
    pipeline = FeaturePipeline().fit(train)
    a = pipeline.transform(test)
    b = pipeline.transform(test.with_columns(~pl.col("fraud")))
    c = pipeline.transform(test.drop("fraud", "inspected"))
    assert a.equals(b) and a.equals(c)
    # but later test rows do count earlier test declarations
    assert a["importer_n"].max() > pipeline.transform(test.head(1))["importer_n"].max() - 1


def test_single_record_matches_batch() -> None:
    data = _frame()
    pipeline = FeaturePipeline().fit(data)
    record = data.row(10, named=True) | {"declared_at": date(2024, 6, 1)}
    one = pipeline.transform_record(record)
    batch = pipeline.transform(pl.DataFrame([record]))
    np.testing.assert_allclose(one.to_numpy(), batch.to_numpy(), equal_nan=True)


def test_unknown_group_is_named() -> None:
    with pytest.raises(Exception, match="unknown history group"):
        FeaturePipeline(groups=["nope"]).fit(_frame())
