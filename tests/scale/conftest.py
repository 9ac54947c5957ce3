"""A small trained workspace for the scale tests: four months of synthetic declarations, the
models trained on the first seven weeks only (so later months are scored with the history
carried forward), and its declarations exported as a month-partitioned dataset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from clearlane.scale.dataset import Manifest
from clearlane.services.risk import train_models
from clearlane.services.scale import export_parquet
from clearlane.services.synth import ingest_synthetic, write_synthetic
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig

TRAIN_TO = date(2024, 2, 20)


@dataclass(frozen=True)
class ScaleSetup:
    workspace: Workspace
    dataset: Path
    manifest: Manifest
    root: Path


@pytest.fixture(scope="session")
def scale_setup(tmp_path_factory: pytest.TempPathFactory) -> ScaleSetup:
    root = tmp_path_factory.mktemp("scale")
    ws = Workspace.create(root / "ws")
    files = write_synthetic(SynthConfig(n_items=2500, days=120, seed=11), root / "data")
    ingest_synthetic(ws, files.files)
    train_models(ws, seed=1, search=False, date_to=TRAIN_TO, promote=True)
    manifest = export_parquet(ws, root / "declarations")
    return ScaleSetup(ws, root / "declarations", manifest, root)


@pytest.fixture(scope="session")
def training_setup(tmp_path_factory: pytest.TempPathFactory) -> ScaleSetup:
    """Large enough for a stable AUC (at 20,000 items the held-out AUC moved by up to 0.01
    with where the rows landed): 60,000 items over six months, trained on four."""
    root = tmp_path_factory.mktemp("scale-training")
    ws = Workspace.create(root / "ws")
    files = write_synthetic(SynthConfig(n_items=60_000, days=180, seed=3), root / "data")
    ingest_synthetic(ws, files.files)
    train_models(ws, seed=1, search=False, date_to=date(2024, 4, 30), promote=True)
    manifest = export_parquet(ws, root / "declarations")
    return ScaleSetup(ws, root / "declarations", manifest, root)
