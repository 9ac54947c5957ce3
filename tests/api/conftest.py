"""API fixtures: a workspace with one user and one API key per role, served by real uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from tests.api.live import client, live_server

from clearlane.accounts.roles import ROLES
from clearlane.api import create_app
from clearlane.services import accounts
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

PASSWORD = "correct horse battery staple"
OFFICE = "ABJ01"


@dataclass
class Server:
    """A running server, its workspace and a token per role (officers scoped to OFFICE)."""

    url: str
    workspace: Workspace
    settings: Settings
    tokens: dict[str, str]

    def client(self, role: str | None = None) -> httpx.Client:
        return client(self.url, self.tokens[role] if role else None)


def test_settings(path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"workspace": path, "secret_key": SecretStr("t" * 40),
                                 "audit_checkpoint_dir": path.parent, "login_max_failures": 3}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def seed_accounts(workspace: Workspace) -> dict[str, str]:
    """One user (NAME = role) and one API key per role; returns role → key token."""
    tokens = {}
    for role in ROLES:
        offices = [OFFICE] if role == "officer" else []
        accounts.add_user(workspace, role, role, PASSWORD, offices)
        tokens[role] = accounts.create_key(workspace, f"{role}-key", role, offices, 30).token
    return tokens


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("CLEARLANE_AUDIT_KEY", str(tmp_path / "audit.pem"))
    monkeypatch.setenv("CLEARLANE_AUDIT_CHECKPOINT_DIR", str(tmp_path))
    workspace = Workspace.create(tmp_path / "ws")
    tokens = seed_accounts(workspace)
    settings = test_settings(workspace.path)
    with live_server(create_app(settings)) as url:
        yield Server(url, workspace, settings, tokens)
