"""A workspace with data for the read endpoints, built once per session: synthetic declarations
(office PORT02 renamed ABJ01, the officer's office; one row with a negative value, quarantined),
the fraud model and anomaly detector trained and promoted, assessments, value bands, an HS
classifier and one selection under the shipped example rules. ``trained_server`` serves a copy
with real uvicorn and one API key per role (as ``tests/api/conftest.py``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
from tests.api.conftest import OFFICE, Server, seed_accounts, test_settings
from tests.api.live import live_server

from clearlane.api import create_app
from clearlane.ingest.profile import load_profile
from clearlane.services.hs import train_classifier
from clearlane.services.ingest import ingest_file
from clearlane.services.risk import assess_declarations, train_models
from clearlane.services.selection import select_for_inspection
from clearlane.services.valuation import build_workspace_bands
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate
from clearlane.valuation.bands import BandConfig

RULES = Path(str(resources.files("clearlane.rules").joinpath("examples/basic.yaml")))
OTHER_OFFICE = "PORT01"


def build_workspace(root: Path, *, hs: bool = True, select: bool = True) -> Workspace:
    """The workspace described in the module docstring, under ``root``."""
    data = generate(SynthConfig(n_items=1500, days=30, seed=5)).declarations
    data = data.with_columns(pl.col("office_id").replace({"PORT02": OFFICE}))
    # one rejected row, so that the quarantine is not empty
    data = data.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(-5.0)
                             .otherwise(pl.col("customs_value")).alias("customs_value"))
    root.mkdir(parents=True, exist_ok=True)
    data.write_parquet(root / "declarations.parquet")
    workspace = Workspace.create(root / "ws")
    ingest_file(workspace, root / "declarations.parquet", load_profile("canonical"))
    train_models(workspace, search=False, promote=True, seed=1)
    assess_declarations(workspace)
    build_workspace_bands(workspace, config=BandConfig(period="all", min_count=5),
                          national_currency="XOF")
    if hs:
        train_classifier(workspace)
    if select:
        select_for_inspection(workspace, rules_path=RULES, seed=1)
    return workspace


_BUILT: dict[str, Path] = {}


def key_actors(server: Server, role: str) -> set[str]:
    """The audit actor of the role's API key (``<role>-key``): ``key:NAME``, or
    ``key:NAME/PREFIX`` where the actor names the key's prefix too."""
    prefix = server.tokens[role].split(".")[0]
    return {f"key:{role}-key", f"key:{role}-key/{prefix}"}


def built_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the workspace built once per test session (a plain memo, not a fixture:
    a session fixture imported into several modules would be built once per module). Copy
    it before use (:func:`workspace_copy`): tests write audit entries and outcomes."""
    if "path" not in _BUILT:
        _BUILT["path"] = build_workspace(tmp_path_factory.mktemp("reads-build")).path
    return _BUILT["path"]


def workspace_copy(tmp_path_factory: pytest.TempPathFactory, name: str = "reads-ws"
                   ) -> Workspace:
    """A fresh copy of the built workspace, in its own folder."""
    target = tmp_path_factory.mktemp("reads") / name
    shutil.copytree(built_workspace(tmp_path_factory), target)
    return Workspace.open(target)


@pytest.fixture(scope="module")
def trained_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A copy of the built workspace served for one test module, with one user and API key
    per role (tests that write, such as recording outcomes, compare before and after)."""
    workspace = workspace_copy(tmp_path_factory)
    root = workspace.path.parent
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLEARLANE_AUDIT_KEY", str(root / "audit.pem"))
        patch.setenv("CLEARLANE_AUDIT_CHECKPOINT_DIR", str(root))
        tokens = seed_accounts(workspace)
        settings = test_settings(workspace.path)
        with live_server(create_app(settings)) as url:
            yield Server(url, workspace, settings, tokens)
