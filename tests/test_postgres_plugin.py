"""The tests' PostgreSQL wiring (tests/postgres_store.py) and the throwaway server script
(scripts/postgres_server.sh), each run for real: pytest in a subprocess, a server from scratch."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "postgres_server.sh"

INNER = '''
import os
from pathlib import Path

import pytest


def test_has_its_own_database() -> None:
    url = os.environ["CLEARLANE_DATABASE_URL"]
    assert url.rsplit("/", 1)[1].startswith("cl_t_")
    Path(os.environ["SEEN"]).write_text(url)


@pytest.mark.duckdb_only(reason="opens the DuckDB file")
def test_embedded_only() -> None:
    pass
'''


# A stand-in for the store: Workspace.create records its database in store.json and writes a
# row there; the plugin wraps it as it wraps the real one.
WORKSPACES = '''
import json
import os
import shutil
from pathlib import Path

import psycopg
import pytest

from clearlane.store.workspace import Workspace


def create(cls, path, database_url=None):
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    assert database_url is not None, "the plugin gives every new workspace a database"
    with psycopg.connect(database_url) as con:
        con.execute("CREATE TABLE IF NOT EXISTS marks (folder text)")
        con.execute("INSERT INTO marks VALUES (%s)", [path.name])
    (path / "store.json").write_text(json.dumps({"backend": "postgresql", "url": database_url}))
    return path


def open_(cls, path):
    return Path(path)


Workspace.create = classmethod(create)
Workspace.open = classmethod(open_)


def url(path):
    return json.loads((Path(path) / "store.json").read_text())["url"]


def marks(path):
    with psycopg.connect(url(path)) as con:
        return sorted(r[0] for r in con.execute("SELECT folder FROM marks"))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return Workspace.create(tmp_path_factory.mktemp("t") / "template")


def test_new_workspaces_get_their_own_databases(tmp_path):
    a, b = Workspace.create(tmp_path / "a"), Workspace.create(tmp_path / "b")
    assert url(a) != url(b) and url(a) != os.environ["CLEARLANE_DATABASE_URL"]
    assert Workspace.create(tmp_path / "a") == a and url(a) == url(tmp_path / "a")
    assert marks(a) == ["a", "a"] and marks(b) == ["b"]
    Path(os.environ["SEEN"]).open("a").write(url(a) + "\\n")


def test_a_copied_folder_gets_a_copy_of_the_database(tmp_path, template):
    shutil.copytree(template, tmp_path / "copy")
    copy = Workspace.open(tmp_path / "copy")
    assert url(copy) != url(template)
    assert marks(copy) == ["template"]  # the source's rows, in a database of its own
    Workspace.create(tmp_path / "copy")  # (create on the copy: the same, copied database)
    assert marks(copy) == ["copy", "template"] and marks(template) == ["template"]
    Path(os.environ["SEEN"]).open("a").write(url(copy) + "\\n" + url(template) + "\\n")


def test_the_template_outlives_the_test_that_copied_it_first(tmp_path, template):
    shutil.copytree(template, tmp_path / "again")
    assert marks(Workspace.open(tmp_path / "again")) == ["template"]
'''


def run_pytest(folder: Path, *args: str, env: dict[str, str],
               source: str = INNER) -> subprocess.CompletedProcess[str]:
    (folder / "test_inner.py").write_text(source, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.postgres_store",
         "-q", "-ra", "-o", "addopts=", "-o", "markers=duckdb_only: x", "--rootdir", str(folder),
         *args, str(folder / "test_inner.py")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


def test_postgresql_without_a_server_stops_the_session(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CLEARLANE_TEST_POSTGRES_URL"}
    result = run_pytest(tmp_path, "--store=postgresql", env=env)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "needs a PostgreSQL server: set CLEARLANE_TEST_POSTGRES_URL" in result.stderr


def test_each_test_gets_a_database_dropped_after_it(
    tmp_path: Path, postgres_database: Callable[[], str]
) -> None:
    server = postgres_database()  # a URL of the server's administrator role
    env = {**os.environ, "CLEARLANE_TEST_POSTGRES_URL": server, "SEEN": str(tmp_path / "seen")}
    result = run_pytest(tmp_path, "--store=postgresql", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped" in result.stdout
    assert "DuckDB-only, skipped under --store=postgresql: opens the DuckDB file" in result.stdout
    name = (tmp_path / "seen").read_text().rsplit("/", 1)[1]
    with psycopg.connect(server) as con:
        row = con.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone()
    assert row == (0,)  # dropped when the test ended


def test_workspaces_copies_and_their_databases(
    tmp_path: Path, postgres_database: Callable[[], str]
) -> None:
    server = postgres_database()
    seen = tmp_path / "seen"
    env = {**os.environ, "CLEARLANE_TEST_POSTGRES_URL": server, "SEEN": str(seen)}
    result = run_pytest(tmp_path, "--store=postgresql", env=env, source=WORKSPACES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    names = [line.rsplit("/", 1)[1] for line in seen.read_text().split()]
    assert len(set(names)) == 3
    with psycopg.connect(server) as con:
        left = con.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)",
                           [names]).fetchall()
    assert left == []  # every database dropped by the end of the session


def test_duckdb_is_the_default_and_sets_no_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CLEARLANE_DATABASE_URL"}
    result = run_pytest(tmp_path, env={**env, "SEEN": str(tmp_path / "seen")})
    assert result.returncode == 1  # the first test finds no CLEARLANE_DATABASE_URL
    assert "KeyError: 'CLEARLANE_DATABASE_URL'" in result.stdout
    assert "1 failed, 1 passed" in result.stdout  # the DuckDB-only test runs


def server_binaries_present() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or shutil.which("initdb") is not None


@pytest.mark.skipif(not server_binaries_present(),
                    reason="no PostgreSQL server binaries here (make test installs them)")
def test_the_server_script_starts_once_and_stops_clean() -> None:
    # under /tmp, not pytest's tmp_path: as root the server runs as `postgres`, which must
    # reach the folder (pytest's root-owned temporary folders are closed to other users)
    folder = Path(tempfile.mkdtemp(prefix="clearlane-pg-test."))

    def script(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", str(SCRIPT), *args, str(folder)], capture_output=True,
                              text=True, timeout=120)

    try:
        started = script("start")
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        assert url.startswith("postgresql://postgres@localhost:") and url.endswith("/postgres")
        again = script("start")  # already running: the same server
        assert (again.returncode, again.stdout.strip()) == (0, url)
        assert script("url").stdout.strip() == url
        with psycopg.connect(url) as con:
            row = con.execute("SHOW fsync").fetchone()
        assert row == ("off",)
    finally:
        stopped = script("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not folder.exists()
    assert script("stop").returncode == 0  # nothing left to stop
    gone = script("url")
    assert gone.returncode == 1 and "no server is running" in gone.stderr
