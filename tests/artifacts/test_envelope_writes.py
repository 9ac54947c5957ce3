"""Writes are atomic; the manifest describes the file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from clearlane.artifacts import read_artifact, read_manifest, write_artifact


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "artifacts" / "m.clz"
    first = write_artifact({"v": 1}, path, kind="test", version="1")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_artifact({"v": 2}, path, kind="test", version="2")
    monkeypatch.undo()
    assert list(path.parent.iterdir()) == [path]
    assert read_artifact(path, trust=True)[0] == {"v": 1}
    assert first.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_manifest_records_kind_version_libraries_and_member_hashes(tmp_path: Path) -> None:
    info = write_artifact({"x": [1, 2]}, tmp_path / "m.clz", kind="test", version="v9",
                          meta={"note": "n"})
    manifest = read_manifest(info.path)
    assert manifest == info.manifest
    assert (manifest["kind"], manifest["version"], manifest["meta"]) == ("test", "v9", {"note": "n"})
    assert {"numpy", "lightgbm", "polars"} <= set(manifest["libraries"])
    assert set(manifest["members"]) == {"state.json"}
    assert len(manifest["members"]["state.json"]["sha256"]) == 64
