"""The fitted history lives in a dataset beside the model, not inside its artifact: the
artifact's size does not grow with the history, scores survive the round trip, a changed
history file is refused, and artifacts that still embed the history load as before."""

from __future__ import annotations

import copy
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from clearlane.artifacts import read_artifact, write_artifact
from clearlane.artifacts.envelope import default_history_dir, dumps, history_folder, loads
from clearlane.errors import ArtifactError, ArtifactIntegrityError, UntrustedArtifactError
from clearlane.features.pipeline import FeaturePipeline, FittedFeatures
from clearlane.models import registry
from clearlane.models.anomaly import AnomalyDetector
from clearlane.models.fraud import FraudModel
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

FAST_GRID = [{"num_leaves": 15, "max_depth": 6, "min_child_samples": 20}]


def _register(workspace: Workspace, model: Any, kind: str) -> registry.ModelRecord:
    return registry.register(workspace, model, kind, train_from=None, train_to=None, n_rows=1,
                             features=[], params={}, metrics={}, fingerprint="t")


def _history_rows(model: FraudModel) -> int:
    return sum(frame.height for frame in model.pipeline_.daily_.values())


def test_artifact_size_does_not_grow_with_the_history(tmp_path: Path) -> None:
    # the same period and boosting rounds; four times the declarations of history
    sizes: dict[int, int] = {}
    rows: dict[int, int] = {}
    history: dict[int, int] = {}
    for items in (8_000, 32_000):
        data = generate(SynthConfig(n_items=items, days=150, seed=3)).declarations
        model = FraudModel(grid=FAST_GRID, max_rounds=60, early_stopping_rounds=60,
                           n_jobs=1).fit(data)
        rows[items] = _history_rows(model)
        info = write_artifact(model, tmp_path / f"m{items}.clz", kind="fraud", version="v")
        sizes[items] = info.bytes
        history[items] = sum(p.stat().st_size for p in default_history_dir(info.path).iterdir())
    assert rows[32_000] > 2 * rows[8_000]  # the history really grew
    assert history[32_000] > 2 * history[8_000]  # and so did its dataset
    assert sizes[32_000] <= 1.2 * sizes[8_000], sizes


def test_registered_model_keeps_its_history_under_the_workspace(
        workspace: Workspace, fraud: FraudModel, anomaly: AnomalyDetector,
        split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    test = split[1]
    for model, kind in ((fraud, "fraud"), (anomaly, "anomaly")):
        record = _register(workspace, model, kind)
        path = registry.artifact_file(workspace, record)
        names = zipfile.ZipFile(path).namelist()
        assert not [n for n in names if n.startswith(("frames/", "history/"))], names
        folder = workspace.artifacts_dir / "history" / record.version
        manifest = read_artifact(path, trust=True)[1]
        assert manifest["history"]["path"] == f"../history/{record.version}"
        assert history_folder(path, manifest) == folder.resolve()
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            n.split("/")[1] for n in manifest["history"]["files"])
        loaded = registry.load_model(workspace, record)
        if kind == "fraud":
            np.testing.assert_allclose(loaded.predict_proba(test), fraud.predict_proba(test),
                                       rtol=0, atol=1e-9)
            record_scores = [loaded.score_record(r, reasons=0)["fraud_probability"]
                             for r in test.head(20).to_dicts()]
            np.testing.assert_allclose(record_scores, fraud.predict_proba(test.head(20)),
                                       rtol=0, atol=1e-9)
        else:
            np.testing.assert_allclose(loaded.score_samples(test), anomaly.score_samples(test),
                                       rtol=0, atol=1e-9)
        # the pipeline internals other code reads are there after loading
        for attribute in ("daily_", "state_", "history_end_", "extra_columns_"):
            assert hasattr(loaded.pipeline_, attribute)
        for name, frame in model.pipeline_.state_.items():
            assert loaded.pipeline_.state_[name].sort(["key", "day"]).equals(
                frame.sort(["key", "day"]))


def test_a_changed_history_file_is_refused(workspace: Workspace, fraud: FraudModel) -> None:
    record = _register(workspace, fraud, "fraud")
    folder = workspace.artifacts_dir / "history" / record.version
    victim = sorted(folder.iterdir())[0]
    payload = bytearray(victim.read_bytes())
    payload[-10] ^= 0xFF
    victim.write_bytes(bytes(payload))
    with pytest.raises(ArtifactIntegrityError, match=r"history dataset file .* does not match"):
        registry.load_model(workspace, record)
    victim.unlink()
    with pytest.raises(ArtifactError, match=r"cannot be read .* retrain with `clearlane train`"):
        registry.load_model(workspace, record)


def test_the_history_outside_the_trusted_folder_is_refused(
        workspace: Workspace, fraud: FraudModel, tmp_path: Path) -> None:
    path = workspace.artifacts_dir / "models" / "m.clz"
    write_artifact(fraud, path, kind="fraud", version="m", history=tmp_path / "elsewhere")
    with pytest.raises(UntrustedArtifactError, match=r"history dataset .* --trust-artifact"):
        read_artifact(path, trusted_dir=workspace.artifacts_dir)
    assert isinstance(read_artifact(path, trusted_dir=workspace.artifacts_dir, trust=True)[0],
                      FraudModel)


def test_resaving_replaces_the_history_folder(tmp_path: Path, fraud: FraudModel,
                                              anomaly: AnomalyDetector) -> None:
    path = tmp_path / "m.clz"
    write_artifact(fraud, path, kind="fraud", version="a")
    write_artifact(anomaly, path, kind="anomaly", version="b")
    manifest = read_artifact(path, trust=True)[1]
    assert sorted(p.name for p in default_history_dir(path).iterdir()) == sorted(
        n.split("/")[1] for n in manifest["history"]["files"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bytes_only_artifacts_embed_the_history(
        tmp_path: Path, fraud: FraudModel, split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    payload, manifest = dumps(fraud, kind="fraud", version="v")
    assert "history" not in manifest
    copy, _ = loads(payload, kind="fraud")
    np.testing.assert_array_equal(copy.predict_proba(split[1]), fraud.predict_proba(split[1]))
    # an artifact with a history dataset cannot be loaded from its bytes alone
    info = write_artifact(fraud, tmp_path / "m.clz", kind="fraud", version="v")
    with pytest.raises(ArtifactError, match="separate dataset"):
        loads(info.path.read_bytes(), kind="fraud")


def test_artifacts_that_embed_the_full_history_still_load(
        tmp_path: Path, fraud: FraudModel, split: tuple[pl.DataFrame, pl.DataFrame],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the layout written before history datasets: daily_ and state_ inside the artifact
    def old_getstate(self: FeaturePipeline) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_keyed_history", None)
        return state

    with monkeypatch.context() as patch:
        patch.setattr(FeaturePipeline, "__getstate__", old_getstate)
        patch.delattr(FeaturePipeline, "EXTERNAL_STATE")
        patch.delattr(FeaturePipeline, "DERIVED_STATE")
        info = write_artifact(fraud, tmp_path / "old.clz", kind="fraud", version="old")
    assert "history" not in info.manifest and not default_history_dir(info.path).exists()
    assert sum(n.startswith("frames/") for n in zipfile.ZipFile(info.path).namelist()) == 2 * len(
        fraud.pipeline_.daily_)
    loaded, _ = read_artifact(info.path, trust=True)
    np.testing.assert_array_equal(loaded.predict_proba(split[1]), fraud.predict_proba(split[1]))


def test_pipeline_state_round_trip_is_exact(split: tuple[pl.DataFrame, pl.DataFrame],
                                            tmp_path: Path) -> None:
    train, test = split
    pipeline = FeaturePipeline(window_days=30).fit(train)
    info = write_artifact(pipeline, tmp_path / "p.clz", kind="test", version="p")
    loaded, _ = read_artifact(info.path, trust=True)
    assert loaded.transform(test).equals(pipeline.transform(test))
    assert loaded.transform(train).equals(pipeline.transform(train))
    later = test.with_columns(pl.col("declared_at").dt.offset_by("1d"))
    assert loaded.transform(later).equals(pipeline.transform(later))
    assert date.fromisoformat(str(loaded.history_end_)) == pipeline.history_end_


def test_the_detector_trained_beside_the_fraud_model_shares_its_history(
        workspace: Workspace, split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    train, test = split
    shared = FittedFeatures.fit(train)
    fraud = FraudModel(grid=FAST_GRID, max_rounds=40, n_jobs=1).fit(train, features=shared)
    detector = AnomalyDetector(n_jobs=1).fit(train, features=shared)
    fraud_record = _register(workspace, fraud, "fraud")
    folder = workspace.artifacts_dir / "history" / fraud_record.version
    files = sorted(p.name for p in folder.iterdir())
    record = registry.register(workspace, detector, "anomaly", train_from=None, train_to=None,
                               n_rows=1, features=[], params={}, metrics={}, fingerprint="t",
                               history_of=fraud_record.version)
    path = registry.artifact_file(workspace, record)
    manifest = read_artifact(path, trust=True)[1]
    assert manifest["history"]["path"] == f"../history/{fraud_record.version}"
    assert not (workspace.artifacts_dir / "history" / record.version).exists()
    # every table of the detector is one of the fraud model's: nothing was added
    assert sorted(p.name for p in folder.iterdir()) == files
    assert {n.split("/")[1] for n in manifest["history"]["files"]} < set(files)
    loaded = registry.load_model(workspace, record)
    np.testing.assert_array_equal(loaded.score_samples(test), detector.score_samples(test))
    # the detector never sees outcomes: its loaded history has none
    for frame in loaded.pipeline_.daily_.values():
        assert frame.select(pl.col("insp", "nfraud", "rev").abs().sum()).sum_horizontal().item() == 0
    for name, frame in detector.pipeline_.state_.items():
        assert loaded.pipeline_.state_[name].sort(["key", "day"]).equals(
            frame.sort(["key", "day"]))
    # a copy (what the scale path's carry makes) keeps the zeroed history
    twin = copy.copy(loaded.pipeline_)
    assert all(twin.daily_[n].equals(f) for n, f in loaded.pipeline_.daily_.items())
    # saved again on its own, it has its own dataset, and scores the same
    again = registry.register(workspace, loaded, "anomaly", train_from=None, train_to=None,
                              n_rows=1, features=[], params={}, metrics={}, fingerprint="t")
    assert (workspace.artifacts_dir / "history" / again.version).is_dir()
    np.testing.assert_array_equal(registry.load_model(workspace, again).score_samples(test),
                                  detector.score_samples(test))


def test_import_copies_the_history_into_the_workspace(
        workspace: Workspace, tmp_path: Path, fraud: FraudModel,
        split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    path = tmp_path / "office" / "m.clz"
    write_artifact(fraud, path, kind="fraud", version="m")
    record = registry.import_model(workspace, path, trust=True)
    assert (workspace.artifacts_dir / "history" / record.version).is_dir()
    default_history_dir(path).rename(tmp_path / "gone")  # the workspace copy stands alone
    loaded = registry.load_model(workspace, record)
    np.testing.assert_array_equal(loaded.predict_proba(split[1]), fraud.predict_proba(split[1]))
