"""Loading never runs code from a file: pickles, planted zips and changed files are refused."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clearlane.artifacts import read_artifact, write_artifact
from clearlane.artifacts.envelope import ENVELOPE_VERSION, FORMAT, history_folder, read_manifest
from clearlane.errors import (
    ArtifactError,
    ArtifactIntegrityError,
    ClearlaneError,
    LegacyArtifactError,
    UntrustedArtifactError,
)
from clearlane.models import registry
from clearlane.models.anomaly import AnomalyDetector
from clearlane.models.persistence import load_artifact
from clearlane.store.workspace import Workspace


class Payload:
    """Unpickling this creates ``marker``: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@pytest.fixture
def registered(workspace: Workspace, anomaly: AnomalyDetector) -> tuple[registry.ModelRecord, Path]:
    record = registry.register(workspace, anomaly, "anomaly", train_from=None, train_to=None,
                               n_rows=1, features=[], params={}, metrics={}, fingerprint="t")
    return record, workspace.path / record.artifact_path


def _zip(state: Any, members: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None
         ) -> bytes:
    """A self-consistent artifact: its manifest lists every member with the right hash."""
    members = {"state.json": json.dumps(state).encode(), **(members or {})}
    manifest = {"format": FORMAT, "envelope_version": ENVELOPE_VERSION, "kind": "anomaly",
                "version": "x", "members": {n: {"sha256": hashlib.sha256(d).hexdigest(),
                                                "bytes": len(d)} for n, d in members.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in {**members, **(extra or {})}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _refused(workspace: Workspace, record: registry.ModelRecord, path: Path, marker: Path,
             error: type[Exception] = ClearlaneError) -> None:
    """Refused through the registry and directly (trusted, no registry hash); nothing ran."""
    with pytest.raises(ClearlaneError):
        registry.load_model(workspace, record)
    with pytest.raises(error):
        load_artifact(path, trust=True)
    assert not marker.exists()


def test_a_pickle_written_over_a_model_file_is_refused(
        workspace: Workspace, registered: tuple[registry.ModelRecord, Path], tmp_path: Path) -> None:
    record, path = registered
    marker = tmp_path / "ran"
    path.write_bytes(pickle.dumps(Payload(marker)))
    _refused(workspace, record, path, marker, ArtifactError)


def test_a_pickle_envelope_with_a_self_consistent_header_is_refused(
        workspace: Workspace, registered: tuple[registry.ModelRecord, Path], tmp_path: Path) -> None:
    record, path = registered
    marker = tmp_path / "ran"
    payload = pickle.dumps(Payload(marker))
    header = {"format": "clearlane-model", "envelope_version": 1, "kind": "anomaly",
              "model_version": record.version, "payload_sha256": hashlib.sha256(payload).hexdigest()}
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    _refused(workspace, record, path, marker, LegacyArtifactError)
    with pytest.raises(LegacyArtifactError, match="clearlane train"):
        registry.load_model(workspace, record)


def test_a_pickled_npy_member_in_a_self_consistent_zip_is_refused(
        workspace: Workspace, registered: tuple[registry.ModelRecord, Path], tmp_path: Path) -> None:
    record, path = registered
    marker = tmp_path / "ran"
    buffer = io.BytesIO()
    np.save(buffer, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    path.write_bytes(_zip({"$": "ndarray", "member": "arrays/0.npy"},
                          {"arrays/0.npy": buffer.getvalue()}))
    _refused(workspace, record, path, marker, ArtifactError)
    with pytest.raises(ArtifactError, match="not a plain NumPy array"):
        load_artifact(path, trust=True)


@pytest.mark.parametrize("state", [
    {"$": "object", "class": "os.system", "state": {}},
    {"$": "object", "class": "subprocess.Popen", "state": {"args": "touch x"}},
    {"$": "object", "class": "builtins.eval", "state": {}},
    {"model": {"$": "function", "name": "builtins.eval"}},
    {"$": "stateless", "class": "os.system"},
])
def test_a_zip_naming_an_unlisted_type_is_refused(
        workspace: Workspace, registered: tuple[registry.ModelRecord, Path], tmp_path: Path,
        state: dict[str, Any]) -> None:
    record, path = registered
    path.write_bytes(_zip(state))
    _refused(workspace, record, path, tmp_path / "ran", ArtifactError)
    named = state.get("class") or state["model"]["name"]
    with pytest.raises(ArtifactError, match=named):
        load_artifact(path, trust=True)


def test_members_must_match_the_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m.clz"
    path.write_bytes(_zip({"a": 1}, extra={"arrays/9.npy": b"unlisted"}))
    with pytest.raises(ArtifactError, match="do not match its manifest"):
        load_artifact(path, trust=True)
    good = _zip({"a": 1})
    path.write_bytes(good.replace(b'{"a": 1}', b'{"a": 2}'))  # a member changed in place
    with pytest.raises(ArtifactError):
        load_artifact(path, trust=True)


def test_a_changed_file_fails_the_registry_hash(
        workspace: Workspace, registered: tuple[registry.ModelRecord, Path]) -> None:
    record, path = registered
    write_artifact({"another": "model"}, path, kind="anomaly", version=record.version)
    with pytest.raises(ArtifactIntegrityError) as caught:
        registry.load_model(workspace, record)
    message = str(caught.value)
    assert str(path) in message and record.artifact_sha256 in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() in message and "retrain" in message
    assert load_artifact(path, trust=True) == {"another": "model"}  # a valid file, not this one


@pytest.mark.parametrize("damage", ["truncate", "foreign", "empty"])
def test_corrupt_truncated_or_foreign_files_are_refused(
        workspace: Workspace, registered: tuple[registry.ModelRecord, Path], damage: str) -> None:
    record, path = registered
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "foreign": b"declaration_id,hs\n1,2\n",
                      "empty": b""}[damage])
    with pytest.raises(ArtifactIntegrityError):
        registry.load_model(workspace, record)
    with pytest.raises(ArtifactError):
        load_artifact(path, trust=True)


def test_outside_the_workspace_needs_trust(
        workspace: Workspace, registered: tuple[registry.ModelRecord, Path], tmp_path: Path,
        anomaly: AnomalyDetector) -> None:
    _, path = registered
    outside = tmp_path / "elsewhere" / "m.clz"
    outside.parent.mkdir()
    shutil.copy(path, outside)
    # the artifact alone is not the model: its history dataset is named, relative to it
    with pytest.raises(ArtifactError, match="history dataset file"):
        read_artifact(outside, trust=True)
    named = history_folder(path, read_manifest(path))
    assert named is not None
    copied = history_folder(outside, read_manifest(outside))
    assert copied is not None
    shutil.copytree(named, copied)
    with pytest.raises(UntrustedArtifactError, match="--trust-artifact"):
        read_artifact(outside, trusted_dir=workspace.artifacts_dir)
    loaded, manifest = read_artifact(outside, trusted_dir=workspace.artifacts_dir, trust=True)
    assert isinstance(loaded, AnomalyDetector) and manifest["kind"] == "anomaly"
    # a link inside the artifacts folder to a file outside it is outside
    link = workspace.artifacts_dir / "link.clz"
    link.symlink_to(outside)
    with pytest.raises(UntrustedArtifactError):
        read_artifact(link, trusted_dir=workspace.artifacts_dir)


def test_a_registry_row_pointing_outside_is_refused(
        workspace: Workspace, registered: tuple[registry.ModelRecord, Path], tmp_path: Path) -> None:
    record, path = registered
    outside = tmp_path / "outside.clz"
    shutil.copy(path, outside)
    moved = registry.ModelRecord(**{**record.__dict__, "artifact_path": "../outside.clz"})
    with pytest.raises(UntrustedArtifactError):
        registry.load_model(workspace, moved)


def test_an_artifact_of_the_wrong_class_for_its_kind_is_refused(
        workspace: Workspace, anomaly: AnomalyDetector) -> None:
    record = registry.register(workspace, anomaly, "fraud", train_from=None, train_to=None,
                               n_rows=1, features=[], params={}, metrics={}, fingerprint="t")
    with pytest.raises(ArtifactError, match="AnomalyDetector"):
        registry.load_model(workspace, record)
