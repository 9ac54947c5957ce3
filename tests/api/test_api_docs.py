"""Every API route is documented in docs/api.md, and the workspace a server holds is refused
to other `clearlane` commands with the message that page quotes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.api.conftest import Server

from clearlane.api import create_app
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "api.md"


def test_every_route_of_the_openapi_document_is_in_api_md(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "ws")
    app = create_app(Settings(workspace=workspace.path,
                              secret_key=SecretStr("d" * 40)))
    operations = [f"{method.upper()} {path}"
                  for path, item in app.openapi()["paths"].items() for method in item]
    assert "GET /api/v1/declarations/{declaration_id}" in operations  # the walk reaches routes
    text = DOC.read_text(encoding="utf-8")
    missing = [op for op in operations if f"`{op}" not in text]
    assert not missing, f"routes missing from docs/api.md: {missing}"


@pytest.mark.duckdb_only(reason="only the embedded file admits one process; PostgreSQL "
                         "serves the CLI and the server at once")
def test_a_served_workspace_refuses_the_cli_naming_the_server(server: Server) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(
        [sys.executable, "-m", "clearlane.cli.main", "info", "--workspace",
         str(server.workspace.path)], capture_output=True, text=True, env=env, timeout=120)
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert "being served by `clearlane serve`" in output
    # the fixture's app was built without url=, so served.json names the settings' address
    served = json.loads((server.workspace.path / "served.json").read_text(encoding="utf-8"))
    assert served["pid"] == os.getpid()
    assert f"(PID {served['pid']}) at {served['url']}:" in output
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    assert "## One server per workspace" in DOC.read_text(encoding="utf-8")
    assert "while it runs, use the API there (see docs/api.md)" in text
