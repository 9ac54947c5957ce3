"""Shared fixtures: a fresh workspace per test and the shared benchmark data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clearlane.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("CLEARLANE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "ws")


@pytest.fixture
def kcs_dir() -> Path:
    folder = shared_data_dir() / "kcs"
    if not (folder / "df_syn_train_eng.csv").exists():
        pytest.skip(f"KCS benchmark data not found in {folder}")
    return folder
