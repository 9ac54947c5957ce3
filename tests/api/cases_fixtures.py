"""Fixtures of the case tests: a served workspace with a selection whose red lanes opened
alerts in the test officer's office (ABJ01) and another office (PORT02), and several officer
keys of ABJ01 (to ask for "next" from many officers at once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.conftest import OFFICE, Server
from tests.api.guard_fixtures import audit_environment, new_workspace, running

from clearlane.selection import SelectionPolicy
from clearlane.services import accounts
from clearlane.services.ingest import ingest_file
from clearlane.services.selection import select_for_inspection
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

OTHER_OFFICE = "PORT02"
OFFICERS = 8


def selected_workspace(folder: Path) -> tuple[Workspace, dict[str, str]]:
    """A workspace with accounts, synthetic declarations (office PORT01 renamed ABJ01) and one
    selection (30 % random control in red: alerts without a model)."""
    workspace, tokens = new_workspace(folder)
    data = generate(SynthConfig(n_items=1200, days=10, seed=7)).declarations
    path = folder / "declarations.parquet"
    data.write_parquet(path)
    ingest_file(workspace, path, "canonical")
    with workspace.transaction() as con:
        con.execute("UPDATE declarations SET office_id = ? WHERE office_id = 'PORT01'", [OFFICE])
    select_for_inspection(workspace, policy=SelectionPolicy(red_rate=0.3, random_share=0.3), seed=1)
    for i in range(OFFICERS):
        accounts.add_user(workspace, f"officer{i}", "officer", "x" * 20, [OFFICE])
        tokens[f"officer{i}"] = accounts.create_key(workspace, f"officer{i}-key", "officer",
                                                    [OFFICE], 30).token
    return workspace, tokens


@pytest.fixture
def cases_server(tmp_path: Path) -> Iterator[Server]:
    with audit_environment(tmp_path):
        workspace, tokens = selected_workspace(tmp_path)
        with running(workspace, tokens) as server:
            yield server
