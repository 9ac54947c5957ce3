"""A small workspace for the models-lifecycle tests, built once per session and copied per test:
30 days of synthetic declarations (1,500 items) with a fraud model trained on the first 20 days
and promoted (so that the latest days are new to it, as after a real retraining interval);
``serving_lifecycle_workspace`` serves a copy with real uvicorn."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.conftest import Server, seed_accounts, test_settings
from tests.api.live import live_server

from clearlane.api import create_app
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


@contextmanager
def serving_lifecycle_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A copy of the lifecycle workspace served by real uvicorn, with one user and API key
    per role (as ``tests/api/conftest.py``)."""
    workspace = lifecycle_workspace(tmp_path_factory)
    root = workspace.path.parent
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLEARLANE_AUDIT_KEY", str(root / "audit.pem"))
        patch.setenv("CLEARLANE_AUDIT_CHECKPOINT_DIR", str(root))
        tokens = seed_accounts(workspace)
        settings = test_settings(workspace.path)
        with live_server(create_app(settings)) as url:
            yield Server(url, workspace, settings, tokens)


def wait_for_job(http: httpx.Client, location: str, seconds: float = 120.0) -> dict[str, Any]:
    """Poll a job until it is finished; its last state."""
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = http.get(location).json()
        if job["status"] not in ("queued", "running"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job still {job['status']} after {seconds} s: {job}")
        time.sleep(0.2)
