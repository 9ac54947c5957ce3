"""Compiled trees (extra `fast`): a file planted in the cache is never loaded as native code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from clearlane.artifacts.envelope import dumps, loads
from clearlane.models import registry
from clearlane.models.fraud import FraudModel
from clearlane.store.workspace import Workspace

pytest.importorskip("lleaves", reason="the optional extra 'fast' (lleaves) is not installed")


def _cache_file(model: FraudModel) -> str:
    digest = hashlib.sha256(model.booster_.model_to_string().encode()).hexdigest()
    return f"{digest[:32]}.so"


def test_planted_and_changed_cache_files_are_not_loaded(
        workspace: Workspace, fraud: FraudModel, split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    record = registry.register(workspace, fraud, "fraud", train_from=None, train_to=None,
                               n_rows=1, features=[], params={}, metrics={}, fingerprint="t")
    rows = split[1].head(400)
    expected = fraud.predict_proba(rows)
    cache_dir = workspace.artifacts_dir / "compiled"
    name = _cache_file(fraud)
    cache_dir.mkdir(parents=True)
    planted = b"\x7fELF not the compiled trees"  # loading this as object code would fail
    (cache_dir / name).write_bytes(planted)

    model = registry.load_model(workspace, record)
    assert model.compile(cache_dir) and model.compiled
    np.testing.assert_allclose(model.predict_proba(rows), expected, rtol=1e-9, atol=1e-12)
    compiled = (cache_dir / name).read_bytes()
    assert compiled != planted  # compiled again and replaced
    recorded = workspace.query("SELECT file_sha256 FROM compiled_models WHERE file_name = ?", [name])
    assert recorded.item() == hashlib.sha256(compiled).hexdigest()

    # the recorded file is reused; a file changed after it was recorded is compiled again
    again = registry.load_model(workspace, record)
    assert again.compile(cache_dir)
    assert (cache_dir / name).read_bytes() == compiled
    (cache_dir / name).write_bytes(planted)
    third = registry.load_model(workspace, record)
    assert third.compile(cache_dir)
    np.testing.assert_allclose(third.predict_proba(rows), expected, rtol=1e-9, atol=1e-12)
    assert (cache_dir / name).read_bytes() != planted


def test_without_a_workspace_nothing_is_read_from_the_cache(
        tmp_path: Path, fraud: FraudModel, split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    cache_dir = tmp_path / "compiled"
    cache_dir.mkdir()
    name = _cache_file(fraud)
    (cache_dir / name).write_bytes(b"planted")
    rows = split[1].head(300)
    expected = fraud.predict_proba(rows)
    copy, _ = loads(dumps(fraud, kind="fraud", version="x")[0])
    assert copy.compile(cache_dir)
    np.testing.assert_allclose(copy.predict_proba(rows), expected, rtol=1e-9, atol=1e-12)
    assert (cache_dir / name).read_bytes() == b"planted"  # neither loaded nor trusted
