"""A small workspace for the models-lifecycle tests, built once per session and copied per test:
30 days of synthetic declarations (1,500 items) with a fraud model trained on the first 20 days
and promoted (so that the latest days are new to it, as after a real retraining interval)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from clearlane.ingest.profile import load_profile
from clearlane.services.ingest import ingest_file
from clearlane.services.risk import train_models
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

PROMOTED_TO = date(2024, 1, 20)
"""The last day the promoted model trained on (the data runs 2024-01-01 … 2024-01-30)."""

_BUILT: dict[str, Path] = {}


def build(root: Path) -> Workspace:
    data = generate(SynthConfig(n_items=1500, days=30, seed=5)).declarations
    root.mkdir(parents=True, exist_ok=True)
    data.write_parquet(root / "declarations.parquet")
    workspace = Workspace.create(root / "ws")
    ingest_file(workspace, root / "declarations.parquet", load_profile("canonical"))
    train_models(workspace, date_to=PROMOTED_TO, search=False, promote=True, seed=1)
    return workspace


def lifecycle_workspace(tmp_path_factory: pytest.TempPathFactory, name: str = "ws") -> Workspace:
    """A fresh copy of the built workspace."""
    if "path" not in _BUILT:
        _BUILT["path"] = build(tmp_path_factory.mktemp("lifecycle-build")).path
    target = tmp_path_factory.mktemp("lifecycle") / name
    shutil.copytree(_BUILT["path"], target)
    return Workspace.open(target)
