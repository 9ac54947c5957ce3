"""Training out of core, one month at a time, gives the pipeline, the features and the models
that `clearlane train` fits on the same declarations held in memory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.features.incremental import IncrementalFit
from clearlane.features.pipeline import FeaturePipeline
from clearlane.models import registry
from clearlane.models.anomaly import SIGNALS
from clearlane.models.fraud import labelled_mask
from clearlane.scale.dataset import read_partition
from clearlane.scale.fitting import gather_training_data, in_window, window_months
from clearlane.services.risk import TRAINING_COLUMNS, load_for_training
from clearlane.services.scale import train_out_of_core
from clearlane.store.workspace import Workspace
from conftest import TRAIN_TO, ScaleSetup

SIGNAL_NAMES = [name for name, _, _ in SIGNALS]


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(["key", "day"])


def test_the_pipeline_and_features_are_those_of_a_fit_in_memory(scale_setup: ScaleSetup) -> None:
    data = load_for_training(scale_setup.workspace, None, TRAIN_TO)
    whole = FeaturePipeline().fit(data)
    features = whole.transform(data)
    got = gather_training_data(scale_setup.dataset, scale_setup.manifest, TRAINING_COLUMNS,
                               date_to=TRAIN_TO, signal_names=SIGNAL_NAMES)
    pipeline = got.pipeline
    assert pipeline.get_params() == whole.get_params()
    assert pipeline.extra_columns_ == whole.extra_columns_ and whole.extra_columns_
    assert pipeline.category_columns_ == whole.category_columns_
    assert pipeline.vocab_ == whole.vocab_
    assert pipeline.feature_names_ == whole.feature_names_
    assert (pipeline.history_start_, pipeline.history_end_, pipeline.history_rows_) == (
        whole.history_start_, whole.history_end_, whole.history_rows_)
    assert (got.rows, got.first, got.last) == (data.height, whole.history_start_, TRAIN_TO)
    for name in whole.daily_:
        assert _sorted(pipeline.daily_[name]).equals(_sorted(whole.daily_[name])), name
        assert _sorted(pipeline.state_[name]).equals(_sorted(whole.state_[name])), name
    mask = labelled_mask(data)
    expected = features.filter(pl.Series(mask)).to_numpy()
    assert got.X.shape == expected.shape
    np.testing.assert_array_equal(got.X, expected)  # NaN where NaN, every value the same
    np.testing.assert_array_equal(got.y, data["fraud"].cast(pl.Boolean).to_numpy()[mask])
    assert got.signals.equals(features.select(got.signals.columns))
    assert set(got.signals.columns) == set(SIGNAL_NAMES) & set(whole.feature_names_)
    assert got.fingerprint == registry.data_fingerprint(data)


def test_the_models_are_those_of_train(scale_setup: ScaleSetup, tmp_path: Path) -> None:
    reference = {kind: registry.get_model(scale_setup.workspace, None, kind=kind)
                 for kind in ("fraud", "anomaly")}
    workspace = Workspace.create(tmp_path / "ws")  # no declarations: the dataset is enough
    trained = train_out_of_core(workspace, scale_setup.dataset, date_to=TRAIN_TO, seed=1,
                                search=False, promote=True)
    assert trained.fraud is not None and trained.fraud.status == "promoted"
    for kind, record in (("fraud", trained.fraud), ("anomaly", trained.anomaly)):
        assert record.data_fingerprint == reference[kind].data_fingerprint
        assert record.n_rows == reference[kind].n_rows
        assert str(record.train_to)[:10] == str(reference[kind].train_to)[:10]
        assert record.params["trained_on"] == "parquet"
    mine = registry.load_model(workspace, trained.fraud)
    theirs = registry.load_model(scale_setup.workspace, reference["fraud"])
    assert mine.booster_.model_to_string() == theirs.booster_.model_to_string()
    assert mine.revenue_basis_ == theirs.revenue_basis_
    if theirs.revenue_booster_ is not None:
        assert (mine.revenue_booster_.model_to_string()
                == theirs.revenue_booster_.model_to_string())
    assert mine.calibration_ == theirs.calibration_
    assert mine.validation_metrics_ == theirs.validation_metrics_
    detector = registry.load_model(workspace, trained.anomaly)
    theirs_detector = registry.load_model(scale_setup.workspace, reference["anomaly"])
    np.testing.assert_array_equal(detector.medians_, theirs_detector.medians_)
    np.testing.assert_array_equal(detector.scales_, theirs_detector.scales_)
    sample = load_for_training(scale_setup.workspace, date(2024, 3, 1), None).head(300)
    np.testing.assert_allclose(mine.predict_proba(sample), theirs.predict_proba(sample),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(detector.score_samples(sample),
                               theirs_detector.score_samples(sample), rtol=0, atol=1e-12)


def test_a_window_picks_its_months_and_rows(scale_setup: ScaleSetup) -> None:
    months = window_months(scale_setup.manifest, date(2024, 2, 1), date(2024, 2, 20))
    assert [p.year_month for p in months] == ["2024-02"]
    frame = in_window(read_partition(scale_setup.dataset, months[0]), date(2024, 2, 10),
                      date(2024, 2, 20))
    days = frame["declared_at"].cast(pl.Date)
    assert frame.height and days.min() == date(2024, 2, 10) and days.max() == date(2024, 2, 20)


def test_an_empty_window_is_refused(scale_setup: ScaleSetup, tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "ws")
    with pytest.raises(ValidationError, match="no declarations"):
        train_out_of_core(workspace, scale_setup.dataset, date_from=date(2030, 1, 1))
    assert registry.list_models(workspace) == []


def test_months_out_of_time_order_are_refused(scale_setup: ScaleSetup) -> None:
    first, second = (read_partition(scale_setup.dataset, p)
                     for p in scale_setup.manifest.partitions[:2])
    fit = IncrementalFit(FeaturePipeline())
    fit.count(first)
    fit.count(second)
    fit.add(second)
    with pytest.raises(ValidationError, match="time order"):
        fit.add(first)
    with pytest.raises(ValidationError, match="before adding"):
        fit.count(first)


@pytest.mark.parametrize("params", [{"window_days": None},
                                    {"window_days": 20, "extra_columns": ["incoterm"],
                                     "groups": ["importer", "hs6"]}])
def test_other_pipeline_parameters_and_an_empty_month(scale_setup: ScaleSetup,
                                                      params: dict[str, object]) -> None:
    months = [read_partition(scale_setup.dataset, p) for p in scale_setup.manifest.partitions]
    empty = months[1].head(0)
    data = pl.concat(months)
    whole = FeaturePipeline(**params).fit(data)  # type: ignore[arg-type]
    fit = IncrementalFit(FeaturePipeline(**params))  # type: ignore[arg-type]
    for month in (months[0], empty, *months[1:]):
        fit.count(month)
    batches = [fit.add(month) for month in (months[0], empty, *months[1:])]
    pipeline = fit.pipeline()
    assert pipeline.vocab_ == whole.vocab_ and pipeline.extra_columns_ == whole.extra_columns_
    got = pl.concat([pl.DataFrame(b.arrays()) for b in batches if b.height])
    assert got.equals(whole.transform(data))
    assert batches[1].height == 0
