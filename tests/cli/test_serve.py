"""`clearlane serve` as a user runs it: the checks before start-up, a real server subprocess that
holds its workspace (another command is refused with the server's PID and URL, and works again
once the server stops), and the interactive docs served from packaged assets only."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from clearlane.api import docs
from clearlane.services import accounts
from clearlane.store.workspace import SERVED_FILE, Workspace

REPO = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k" * 40
BUSY = 6


def environment(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no CLEARLANE_* of the test process, a home and key of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARLANE_")}
    env.update({"COLUMNS": "200", "PYTHONPATH": str(REPO / "src"), "HOME": str(home),
                "CLEARLANE_AUDIT_KEY": str(home / "audit.pem"), **extra})
    return env


def clearlane(*args: str, env: dict[str, str],
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # a server that starts by mistake is killed by the timeout (the test fails, never hangs)
    return subprocess.run([sys.executable, "-m", "clearlane.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def said(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join((result.stdout + result.stderr).split())


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "ws")


# -- refused before start-up ------------------------------------------------------------------
def test_serve_refuses_the_placeholder_secret_without_dev(ws: Workspace, tmp_path: Path) -> None:
    result = clearlane("serve", "-w", str(ws.path), "--port", str(free_port()),
                       env=environment(tmp_path))
    assert result.returncode == 2, said(result)
    assert "placeholder secret" in said(result) and "CLEARLANE_SECRET_KEY" in said(result)
    assert "--dev" in said(result)
    assert "Traceback" not in result.stderr
    assert not (ws.path / SERVED_FILE).exists()


def test_serve_refuses_a_short_secret(ws: Workspace, tmp_path: Path) -> None:
    result = clearlane("serve", "-w", str(ws.path), "--port", str(free_port()),
                       env=environment(tmp_path, CLEARLANE_SECRET_KEY="short-secret"))
    assert result.returncode == 2, said(result)
    assert "too short" in said(result) and "CLEARLANE_SECRET_KEY" in said(result)
    # --dev relaxes the placeholder only, not a weak secret someone chose
    dev = clearlane("serve", "--dev", "-w", str(ws.path), "--port", str(free_port()),
                    env=environment(tmp_path, CLEARLANE_SECRET_KEY="short-secret"))
    assert dev.returncode == 2, said(dev)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_serve_refuses_more_than_one_worker(ws: Workspace, tmp_path: Path, how: str) -> None:
    args = ["--workers", "2"] if how == "option" else []
    extra = {"CLEARLANE_SECRET_KEY": GOOD_SECRET}
    if how == "environment":
        extra["CLEARLANE_WORKERS"] = "4"
    result = clearlane("serve", "-w", str(ws.path), "--port", str(free_port()), *args,
                       env=environment(tmp_path, **extra))
    assert result.returncode == 2, said(result)
    assert "workers" in said(result) and "one server process" in said(result)


def test_serve_refuses_a_missing_workspace(tmp_path: Path) -> None:
    result = clearlane("serve", "--dev", "-w", str(tmp_path / "nowhere"), "--port",
                       str(free_port()), env=environment(tmp_path))
    assert result.returncode == 3, said(result)
    assert "clearlane init" in said(result)


# -- a real server ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(ws: Workspace, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``clearlane serve --dev`` on ``ws`` until /health answers; killed if the test fails."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "clearlane.cli.main", "serve", "--dev", "--port", str(port),
         "-w", str(ws.path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health in 90 s"
            time.sleep(0.2)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


@pytest.mark.duckdb_only(reason="only the embedded file admits one process; PostgreSQL "
                         "serves the CLI and the server at once")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_served_workspace_refuses_the_cli_by_name_until_the_server_stops(
        ws: Workspace, tmp_path: Path, stop: signal.Signals) -> None:
    env = environment(tmp_path)
    accounts.add_user(ws, "ana", "analyst", "a long enough password")  # an audit entry
    with served(ws, env) as (server, url):
        health = httpx.get(f"{url}/health").json()
        assert health["status"] == "ok"
        record = json.loads((ws.path / SERVED_FILE).read_text())
        assert (record["pid"], record["url"]) == (server.pid, url)

        busy = clearlane("info", "-w", str(ws.path), env=env)
        assert busy.returncode == BUSY, said(busy)
        message = said(busy)
        assert "clearlane serve" in message
        assert f"PID {server.pid}" in message and url in message
        assert "Traceback" not in busy.stderr
        ingest = clearlane("users", "list", "-w", str(ws.path), env=env)
        assert ingest.returncode == BUSY and url in said(ingest)

        server.send_signal(stop)
        output, _ = server.communicate(timeout=60)
    assert server.returncode in (0, -stop), output
    assert "Traceback" not in output
    assert not (ws.path / SERVED_FILE).exists()
    # the server signed the audit head at shutdown, where the CLI looks for it
    assert (tmp_path / "ws.audit-checkpoint.json").exists()
    info = clearlane("info", "-w", str(ws.path), env=env)
    assert info.returncode == 0, said(info)
    verify = clearlane("audit", "verify", "-w", str(ws.path), env=env)
    assert verify.returncode == 0, said(verify)
    assert "it holds the checkpoint" in said(verify)


def test_a_stale_served_file_does_not_name_a_server(ws: Workspace, tmp_path: Path) -> None:
    """A served.json left by a killed server does not make the CLI refuse, or lie."""
    env = environment(tmp_path)
    (ws.path / SERVED_FILE).write_text(json.dumps({"pid": 1, "url": "http://127.0.0.1:9"}))
    info = clearlane("info", "-w", str(ws.path), env=env)
    assert info.returncode == 0, said(info)


# -- interactive docs -------------------------------------------------------------------------
class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.references += [v for k, v in attrs if k in ("src", "href") and v]


def test_the_docs_page_uses_only_local_assets(ws: Workspace, tmp_path: Path) -> None:
    if not docs.assets_installed():
        pytest.fail("the Swagger UI assets are not installed: run `make assets`")
    with served(ws, environment(tmp_path)) as (_, url):
        page = httpx.get(f"{url}/api/v1/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        parser = _References()
        parser.feed(page.text)
        assert len(parser.references) >= 2
        assert not re.findall(r"https?://", page.text), "the docs page names another host"
        for reference in parser.references:
            target = urljoin(f"{url}/api/v1/docs", reference)
            assert urlsplit(target).netloc == urlsplit(url).netloc
            asset = httpx.get(target)
            assert asset.status_code == 200, reference
            assert asset.headers["content-type"].split(";")[0] in ("text/css", "text/javascript")
            assert len(asset.content) > 1000
        # Swagger UI's validator badge would send the document's URL to validator.swagger.io
        assert "validatorUrl: null" in page.text
        spec = re.search(r'url: "([^"]+)"', page.text)
        assert spec is not None and spec[1].startswith("/")
        assert httpx.get(f"{url}{spec[1]}").json()["openapi"].startswith("3.1")
        missing = httpx.get(f"{url}/api/v1/docs/assets/..%2F..%2Fapp.py")
        assert missing.status_code == 404
