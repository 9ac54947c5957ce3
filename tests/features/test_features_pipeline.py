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


def test_batch_after_history_equals_the_general_path() -> None:
    data = _frame(400, seed=3)
    cut = date(2024, 1, 25)
    train = data.filter(pl.col("declared_at") < cut)
    test = data.filter(pl.col("declared_at") >= cut).drop("fraud", "inspected")
    pipeline = FeaturePipeline().fit(train)
    fast = pipeline.transform(test.reverse())  # the fast path: every row after the history
    general = pipeline.transform(pl.concat([train.head(1).drop("fraud", "inspected"),
                                            test.reverse()])).slice(1)  # forces the general path
    np.testing.assert_allclose(fast.to_numpy(), general.to_numpy(), rtol=1e-9, equal_nan=True)


def test_history_counts_cover_the_rolling_window() -> None:
    old = date(2023, 1, 2)
    rows = pl.DataFrame({
        "declaration_id": ["A", "B", "C"], "item_no": [1, 1, 1],
        "declared_at": [old, old + timedelta(days=300), old + timedelta(days=400)],
        "importer_id": ["I1"] * 3, "hs_code": ["690722"] * 3,
        "inspected": [True, True, False], "fraud": [True, False, None],
    })
    features = FeaturePipeline(window_days=365).fit_transform(rows)
    # C (day 400) sees B (day 300) but not A (day 0, more than 365 days earlier)
    assert features["importer_n"].to_list() == [0.0, 1.0, 1.0]
    assert features["importer_n_fraud"].to_list() == [0.0, 1.0, 0.0]
    # seniority still counts from the first declaration ever
    assert features["importer_days_since_first"][2] == 400
    cumulative = FeaturePipeline(window_days=None).fit_transform(rows)
    assert cumulative["importer_n"].to_list() == [0.0, 1.0, 2.0]
    later = {"declaration_id": "D", "item_no": 1, "declared_at": old + timedelta(days=700),
             "importer_id": "I1", "hs_code": "690722"}
    pipeline = FeaturePipeline(window_days=365).fit(rows)
    assert pipeline.transform_record(later)["importer_n"][0] == 1.0  # only C is in the window
    assert pipeline.transform(pl.DataFrame([later]))["importer_n"][0] == 1.0


def test_empty_batch_gives_empty_features() -> None:
    data = _frame()
    pipeline = FeaturePipeline().fit(data)
    features = pipeline.transform(data.head(0))
    assert features.height == 0 and features.columns == pipeline.feature_names_


def test_batch_with_unseen_and_missing_keys_equals_the_general_path() -> None:
    data = _frame(400, seed=5)
    cut = date(2024, 1, 25)
    train = data.filter(pl.col("declared_at") < cut)
    test = data.filter(pl.col("declared_at") >= cut).drop("fraud", "inspected")
    n = test.height
    test = test.with_columns(  # new importers (some repeated), missing and new sellers
        pl.Series("importer_id", [f"NEW{i % 7}" if i % 3 == 0 else v
                                  for i, v in enumerate(test["importer_id"].to_list())]),
        pl.Series("exporter_id", [None if i % 5 == 0 else ("S9" if i % 4 == 0 else v)
                                  for i, v in enumerate(test["exporter_id"].to_list())]),
    )
    assert n > 50
    pipeline = FeaturePipeline().fit(train)
    fast = pipeline.transform(test)
    general = pipeline.transform(pl.concat([train.head(1).drop("fraud", "inspected"), test])
                                 ).slice(1)
    np.testing.assert_allclose(fast.to_numpy(), general.to_numpy(), rtol=1e-9, equal_nan=True)
    assert fast["importer_n"].max() > 0  # the batch's own earlier rows of new importers count


def test_batch_feature_rows_equal_the_whole_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    from clearlane.features.batch import BatchFeatures

    data = _frame(400, seed=4)
    cut = date(2024, 1, 25)
    pipeline = FeaturePipeline().fit(data.filter(pl.col("declared_at") < cut))
    test = data.filter(pl.col("declared_at") >= cut).drop("fraud", "inspected")
    whole = pipeline.transform(test).to_numpy()
    monkeypatch.setattr(BatchFeatures, "block_rows", 7)  # many blocks, a partial last one
    batch = pipeline.batch(test)
    np.testing.assert_array_equal(batch.matrix(), whole)
    rows = np.array([0, 5, 3, test.height - 1])
    np.testing.assert_array_equal(batch.matrix(rows), whole[rows])
    assert batch.matrix().flags.c_contiguous
