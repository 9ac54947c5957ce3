"""History carried forward month by month gives the features of the single-machine pipeline
on the whole batch, row for row."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from clearlane.features.history import cumulative_state
from clearlane.features.pipeline import FeaturePipeline
from clearlane.scale.carry import advance_pipeline, carried_features
from clearlane.synth import SynthConfig, generate

VALUE_SUMS = ("uv_dev_", "uv_z_")
"""Features computed from sums of log unit values: summed in another order when carried, so
equal to rounding only. The z-scores subtract nearly equal sums of squares, which magnifies
the last bits to about 1e-8; the single-machine pipeline itself gives the same rows values
that differ that much when the batch around them changes (March alone, or March and April).
Every other feature is a count, an outcome sum or a category code: bit-identical."""


@pytest.fixture(scope="module")
def declarations() -> pl.DataFrame:
    return generate(SynthConfig(n_items=3000, days=150, seed=5)).declarations


def months(frame: pl.DataFrame) -> list[pl.DataFrame]:
    keyed = frame.with_columns(ym=pl.col("declared_at").dt.strftime("%Y-%m"))
    return [part.drop("ym") for _, part in
            keyed.sort("ym", maintain_order=True).group_by("ym", maintain_order=True)]


def assert_same_features(expected: pl.DataFrame, got: pl.DataFrame) -> None:
    assert got.columns == expected.columns and got.height == expected.height
    for name in expected.columns:
        a, b = expected[name].to_numpy(), got[name].to_numpy()
        if name.startswith(VALUE_SUMS):
            np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9, equal_nan=True, err_msg=name)
        else:
            assert np.array_equal(a, b, equal_nan=True), name


@pytest.mark.parametrize("window", [365, 30, None])
def test_month_by_month_features_equal_the_whole_batch(declarations: pl.DataFrame,
                                                       window: int | None) -> None:
    # fitted on six weeks; the batch holds those weeks again and four later months
    history = declarations.filter(pl.col("declared_at") < date(2024, 2, 15))
    pipeline = FeaturePipeline(window_days=window).fit(history)
    expected = pipeline.transform(declarations)
    parts = months(declarations)
    assert len(parts) == 5
    got = pl.concat(carried_features(pipeline, parts))
    assert_same_features(expected, got)


def test_carrying_leaves_the_fitted_pipeline_unchanged(declarations: pl.DataFrame) -> None:
    history = declarations.filter(pl.col("declared_at") < date(2024, 2, 1))
    pipeline = FeaturePipeline().fit(history)
    later = declarations.filter(pl.col("declared_at") >= date(2024, 3, 1))
    before = pipeline.transform(later)
    advanced = advance_pipeline(pipeline, declarations.filter(
        pl.col("declared_at").is_between(date(2024, 2, 1), date(2024, 2, 29))))
    assert advanced.history_end_ == date(2024, 2, 29)
    assert pipeline.history_end_ == max(history["declared_at"])
    assert pipeline.transform(later).equals(before)
    # the carried history sees February: later importers' counts grow
    assert (advanced.transform(later)["importer_n"].to_numpy()
            >= before["importer_n"].to_numpy()).all()
    assert not advanced.transform(later)["importer_n"].equals(before["importer_n"])


def test_carried_rows_never_add_their_outcomes(declarations: pl.DataFrame) -> None:
    history = declarations.filter(pl.col("declared_at") < date(2024, 2, 1))
    pipeline = FeaturePipeline().fit(history)
    february = declarations.filter(
        pl.col("declared_at").is_between(date(2024, 2, 1), date(2024, 2, 29)))
    assert february["inspected"].fill_null(False).any()
    later = declarations.filter(pl.col("declared_at") >= date(2024, 3, 1))
    with_labels = advance_pipeline(pipeline, february).transform(later)
    without = advance_pipeline(pipeline, february.drop("inspected", "fraud",
                                                       "revenue_recovered")).transform(later)
    assert with_labels.equals(without)


def test_the_carried_history_keeps_the_window_not_every_day(declarations: pl.DataFrame) -> None:
    history = declarations.filter(pl.col("declared_at") < date(2024, 2, 1))
    pipeline = FeaturePipeline(window_days=30).fit(history)
    unbounded = FeaturePipeline(window_days=None).fit(history)
    carried, kept = pipeline, unbounded
    for part in months(declarations.filter(pl.col("declared_at") >= date(2024, 2, 1))):
        carried, kept = advance_pipeline(carried, part), advance_pipeline(kept, part)
    days = carried.daily_["all"]["day"]
    # one folded row (dated on the first day) and the days of the last window
    assert days.min() == pipeline.history_start_
    assert days.len() <= 31 < kept.daily_["all"].height
    for name, frame in carried.daily_.items():
        assert frame.height < kept.daily_[name].height, name
        # the same keys, with the same first day
        first = frame.group_by("key").agg(pl.col("day").min()).sort("key")
        assert first.equals(kept.daily_[name].group_by("key").agg(pl.col("day").min())
                            .sort("key")), name


@pytest.mark.parametrize("window", [30, None])
def test_the_carried_state_is_the_state_of_the_carried_days(declarations: pl.DataFrame,
                                                            window: int | None) -> None:
    # the state is extended, not rebuilt: it must be what rebuilding would give, bit for bit
    history = declarations.filter(pl.col("declared_at") < date(2024, 2, 1))
    carried = FeaturePipeline(window_days=window).fit(history)
    for part in months(declarations.filter(pl.col("declared_at") >= date(2024, 2, 1))):
        carried = advance_pipeline(carried, part)
        # after every month (a 31-day month folds its own first day with a 30-day window)
        for name, daily in carried.daily_.items():
            expected = cumulative_state(daily).sort(["key", "day"])
            got = carried.state_[name].sort(["key", "day"])
            assert got.columns == expected.columns, name
            assert got.equals(expected), name
