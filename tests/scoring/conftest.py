"""One small trained workspace for the scorer tests: synthetic declarations, the fraud model and
the anomaly detector registered, value bands and an HS classifier."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from clearlane.services.hs import train_classifier
from clearlane.services.risk import train_models
from clearlane.services.synth import ingest_synthetic, write_synthetic
from clearlane.services.valuation import build_workspace_bands
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig
from clearlane.valuation.bands import BandConfig


@pytest.fixture(scope="session")
def trained_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("scoring")
    ws = Workspace.create(root / "ws")
    files = write_synthetic(SynthConfig(n_items=2500, days=40, seed=11), root / "data")
    ingest_synthetic(ws, files.files)
    train_models(ws, seed=1, search=False)
    build_workspace_bands(ws, config=BandConfig(period="all", min_count=5),
                          national_currency="XOF")
    train_classifier(ws)
    return ws


@pytest.fixture
def workspace_copy(trained_workspace: Workspace, tmp_path: Path) -> Callable[[], Workspace]:
    """A fresh copy of the trained workspace, for tests that damage it."""
    def copy() -> Workspace:
        target = tmp_path / "copy"
        shutil.copytree(trained_workspace.path, target)
        return Workspace.open(target)
    return copy


@pytest.fixture(scope="session")
def declarations(trained_workspace: Workspace) -> pl.DataFrame:
    return trained_workspace.declarations()
