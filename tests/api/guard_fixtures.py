"""Helpers of the security tests: a server that can be stopped and started again on one workspace,
the audit key and checkpoint folder of the test's own, and raw access to the database.

The shared ``server`` fixture (``tests/api/conftest.py``) serves one workspace for one test; the
tests here also need a server per module (the authorization matrix, the fuzzing), a server with
other settings (a short session lifetime), and a stopped server (audit tampering).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi import FastAPI
from tests.api.conftest import Server, seed_accounts, test_settings
from tests.api.live import live_server

from clearlane.api import create_app
from clearlane.audit import AuditEntry, read_entries
from clearlane.store.connection import Connection
from clearlane.store.postgres import PostgresConnection
from clearlane.store.workspace import Workspace


@contextmanager
def audit_environment(folder: Path) -> Iterator[Path]:
    """The audit key and the checkpoint folder in ``folder`` (never the user's ~/.config).

    The audit service reads them from the environment at call time; a CLI subprocess started
    inside the block inherits them.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLEARLANE_AUDIT_KEY", str(folder / "audit.pem"))
        patch.setenv("CLEARLANE_AUDIT_CHECKPOINT_DIR", str(folder))
        yield folder


def new_workspace(folder: Path) -> tuple[Workspace, dict[str, str]]:
    """A workspace ``folder/ws`` with one user and one API key per role."""
    workspace = Workspace.create(folder / "ws")
    return workspace, seed_accounts(workspace)


@contextmanager
def running(workspace: Workspace, tokens: dict[str, str], app: FastAPI | None = None,
            **overrides: Any) -> Iterator[Server]:
    """A real uvicorn server on ``workspace`` (settings of ``test_settings`` and ``overrides``)
    until the block ends; at its end the server has stopped and let the workspace go."""
    settings = test_settings(workspace.path, **overrides)
    with live_server(app or create_app(settings)) as url:
        yield Server(url, workspace, settings, tokens)


@contextmanager
def serving_fresh_workspace(folder: Path) -> Iterator[Server]:
    """A new workspace in ``folder`` (one user and key per role), served until the block
    ends, with the audit key and checkpoints kept in ``folder``."""
    with audit_environment(folder):
        workspace, tokens = new_workspace(folder)
        with running(workspace, tokens) as server:
            yield server


def database(workspace: Workspace) -> Connection:
    """A raw connection to the workspace database, as someone with the file would open it.

    While a server of this test process holds the workspace, DuckDB gives this process
    another connection to the same database instance (the lock is per process); once the
    server has stopped, this is the attacker's own connection to the file. On PostgreSQL it
    is a connection of its own to the workspace's database, autocommitting each statement.
    """
    if workspace.database_url is not None:
        return PostgresConnection.connect(workspace.database_url)
    return duckdb.connect(str(workspace.database))


def entries(workspace: Workspace) -> list[AuditEntry]:
    """The audit chain as stored, read through :func:`database` (also while served)."""
    with database(workspace) as con:
        return read_entries(con)


def cookie_of(response: Any, name: str) -> str:
    """The raw ``Set-Cookie`` header of ``response`` that sets ``name``."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return str(header)
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers}")
