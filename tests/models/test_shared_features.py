"""One fitted feature pipeline shared by the fraud model and the anomaly detector: the same
models as when each fits its own, with the history aggregated once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from clearlane.errors import ValidationError
from clearlane.features import FeaturePipeline, FittedFeatures
from clearlane.models.anomaly import GROUPS, AnomalyDetector
from clearlane.models.fraud import FraudModel
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthResult

FAST_GRID = [{"num_leaves": 15, "max_depth": 6, "min_child_samples": 20}]
LABELS = ["inspected", "fraud", "revenue_recovered"]


def close(a: np.ndarray, b: np.ndarray) -> None:
    """Equal up to float summation order: Polars' parallel group sums differ in the last
    bits between two fits of the same pipeline on the same rows (before this change too)."""
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)


@pytest.fixture(scope="module")
def shared(synth_split: tuple[pl.DataFrame, pl.DataFrame]) -> FittedFeatures:
    return FittedFeatures.fit(synth_split[0])


def test_a_subset_without_labels_is_the_pipeline_fitted_without_them(
        synth_split: tuple[pl.DataFrame, pl.DataFrame], shared: FittedFeatures) -> None:
    train, test = synth_split
    subset = shared.pipeline.subset(list(GROUPS), labels=False)
    own = FeaturePipeline(groups=list(GROUPS)).fit(train.drop(LABELS))
    assert subset.feature_names_ == own.feature_names_
    assert subset.get_params() == own.get_params()
    for frame in (train, test, pl.concat([train.tail(50), test.head(50)])):
        close(subset.transform_matrix(frame), own.transform_matrix(frame))
    record = test.row(3, named=True)
    close(subset.transform_vector(record), own.transform_vector(record))
    # with labels, the subset's fraud rates are those of the full pipeline
    labelled = shared.pipeline.subset(["importer"])
    columns = [shared.pipeline.feature_names_.index(f) for f in labelled.feature_names_]
    np.testing.assert_array_equal(labelled.transform_matrix(test),
                                  shared.pipeline.transform_matrix(test)[:, columns])


def test_a_subset_needs_groups_the_pipeline_has(shared: FittedFeatures) -> None:
    small = shared.pipeline.subset(["hs6"])
    with pytest.raises(ValidationError, match="importer"):
        small.subset(["importer"])


def test_the_detector_on_shared_features_is_the_same(
        synth_split: tuple[pl.DataFrame, pl.DataFrame], shared: FittedFeatures) -> None:
    train, test = synth_split
    own = AnomalyDetector(n_jobs=1).fit(train)
    on_shared = AnomalyDetector(n_jobs=1).fit(train, features=shared)
    close(own.medians_, on_shared.medians_)
    close(own.scales_, on_shared.scales_)
    close(own.score_samples(test), on_shared.score_samples(test))
    codes = [[[r.code for r in reasons] for reasons in model.explain(test.head(40))]
             for model in (own, on_shared)]
    assert codes[0] == codes[1]
    assert on_shared.pipeline_.group_names_ == list(GROUPS)
    # the detector learns nothing from outcomes, even from a labelled shared pipeline
    for state in on_shared.pipeline_.state_.values():
        assert state.select(pl.col("c_nfraud").abs().sum()).item() == 0.0


def test_the_fraud_model_on_shared_features_is_the_same(
        synth_split: tuple[pl.DataFrame, pl.DataFrame], shared: FittedFeatures) -> None:
    train, test = synth_split
    own = FraudModel(grid=FAST_GRID, max_rounds=120, n_jobs=1).fit(train)
    on_shared = FraudModel(grid=FAST_GRID, max_rounds=120, n_jobs=1).fit(train, features=shared)
    assert on_shared.pipeline_ is shared.pipeline
    close(own.predict_proba(test), on_shared.predict_proba(test))
    assert own.n_rounds_ == on_shared.n_rounds_


def test_features_of_other_rows_or_parameters_are_refused(
        synth_split: tuple[pl.DataFrame, pl.DataFrame], shared: FittedFeatures) -> None:
    train, _ = synth_split
    with pytest.raises(ValidationError, match="rows"):
        FraudModel(grid=FAST_GRID).fit(train.head(500), features=shared)
    with pytest.raises(ValidationError, match="parameters"):
        FraudModel(grid=FAST_GRID, feature_params={"window_days": 30}).fit(
            train, features=shared)
    narrow = FittedFeatures(shared.pipeline.subset(["importer", "hs6"]), shared.frame)
    with pytest.raises(ValidationError, match="parameters"):
        AnomalyDetector().fit(train, features=narrow)


def test_training_fits_one_pipeline_for_both_models(
        workspace: Workspace, synth_data: SynthResult, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from clearlane.services.ingest import ingest_file
    from clearlane.services.risk import train_models

    path = tmp_path / "decl.parquet"
    synth_data.declarations.head(3000).write_parquet(path)
    ingest_file(workspace, path, "canonical")
    fitted: list[list[str]] = []
    original = FeaturePipeline.fit

    def counting(self: FeaturePipeline, declarations: pl.DataFrame) -> FeaturePipeline:
        fitted.append(self.get_params()["groups"])
        return original(self, declarations)

    monkeypatch.setattr(FeaturePipeline, "fit", counting)
    result = train_models(workspace, search=False, seed=3)
    assert result.fraud is not None
    assert len(fitted) == 1


def test_the_subset_state_has_the_columns_of_a_fitted_one(
        synth_split: tuple[pl.DataFrame, pl.DataFrame], shared: FittedFeatures) -> None:
    own = FeaturePipeline(groups=list(GROUPS)).fit(synth_split[0].drop(LABELS))
    subset = shared.pipeline.subset(list(GROUPS), labels=False)
    for name, state in own.state_.items():
        assert_frame_equal(subset.state_[name].sort("key", "day"), state.sort("key", "day"),
                           check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
        assert_frame_equal(subset.daily_[name].sort("key", "day"),
                           own.daily_[name].sort("key", "day"),
                           check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
