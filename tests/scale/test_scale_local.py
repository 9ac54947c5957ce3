"""`scale assess` without a cluster scores a large dataset in this process with compiled trees,
as `assess` does, and gives the same scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from clearlane.models.fraud import FraudModel
from clearlane.scale.dataset import read_partition, verify_dataset
from clearlane.services import scale as scale_service
from clearlane.services.risk import assess_declarations
from conftest import ScaleSetup


def test_a_large_dataset_is_scored_here_with_compiled_trees(
        scale_setup: ScaleSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lleaves", reason="the optional extra 'fast' (lleaves) is not installed")
    compiled: list[bool] = []
    original = FraudModel.compile

    def spy(self: FraudModel, cache_dir: Path, cache: Any = None) -> bool:
        done = original(self, cache_dir, cache)
        compiled.append(done)
        return done

    monkeypatch.setattr(FraudModel, "compile", spy)
    monkeypatch.setattr(scale_service, "COMPILE_FROM_ROWS", scale_setup.manifest.rows)
    single = assess_declarations(scale_setup.workspace).assessments  # too small to compile
    assert compiled == []
    scale_service.assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "out",
                                 store=False)
    assert compiled == [True]
    manifest = verify_dataset(tmp_path / "out")
    got = pl.concat([read_partition(tmp_path / "out", p) for p in manifest.partitions])
    both = single.join(got, on=["declaration_id", "item_no"], suffix="_p")
    assert both.height == single.height
    assert (both["fraud_probability"] - both["fraud_probability_p"]).abs().max() <= 1e-9  # type: ignore[operator]
    assert (both["expected_revenue"] - both["expected_revenue_p"]).abs().max() <= 1e-6  # type: ignore[operator]


def test_the_detector_scores_from_the_fraud_models_batch_as_from_its_own(
        scale_setup: ScaleSetup) -> None:
    models = scale_service.load_scoring_models(scale_setup.workspace, explain_share=1.0)
    assert models.shared_history  # `train` fits both models on one pipeline
    fraud, detector = models.models["fraud"], models.models["anomaly"]
    data = pl.concat([read_partition(scale_setup.dataset, p)
                      for p in scale_setup.manifest.partitions])  # inside and after the history
    batch = detector.pipeline_.unlabelled_batch(fraud.pipeline_.batch(data))
    own_scores, own_reasons = detector.score_explained(data)
    scores, reasons = detector.score_explained(data, batch=batch)
    # Equal up to rounding: a batch's own rows are summed in one running sum across keys, so
    # the last bits depend on how each pipeline numbers the keys.
    np.testing.assert_allclose(scores, own_scores, rtol=1e-12, atol=0)
    assert reasons == own_reasons


def test_a_detector_with_a_history_of_its_own_is_not_shared(scale_setup: ScaleSetup) -> None:
    from datetime import date

    from clearlane.models.anomaly import AnomalyDetector
    from clearlane.services.risk import load_for_training

    fraud = scale_service.load_scoring_models(scale_setup.workspace).models["fraud"]
    own = AnomalyDetector().fit(load_for_training(scale_setup.workspace, None, date(2024, 2, 19)))
    assert not own.pipeline_.shares_history_of(fraud.pipeline_)
    assert fraud.pipeline_.shares_history_of(fraud.pipeline_) is False  # it has outcome sums
