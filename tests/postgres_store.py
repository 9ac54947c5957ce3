"""The store the tests run on: ``--store=duckdb`` (the default) or ``--store=postgresql``.

With ``--store=postgresql`` the server is the one named by ``CLEARLANE_TEST_POSTGRES_URL``, an
administrator's URL on which the tests may ``CREATE DATABASE`` (``make test-postgres`` starts
one with ``scripts/postgres_server.sh``); without it the session stops with a message, it never
skips. Then:

- ``Workspace.create(path)`` without a ``database_url`` puts each new workspace in a fresh
  database of its own (``cl_t_<uuid>``); created again at the same path, it gets the same one;
- a workspace folder copied from another (``shutil.copytree`` of a template workspace, then
  ``Workspace.open`` or ``Workspace.create``) gets a copy of the source's database
  (``CREATE DATABASE ... TEMPLATE``: the source's open sessions are ended first), and its
  ``store.json`` is pointed at it;
- every test, and every test module, has a fresh database named by ``CLEARLANE_DATABASE_URL``,
  for the CLI run in a subprocess (``clearlane init`` honours it);
- each database is dropped (``WITH (FORCE)``) when the test, the module or the session that
  created it ends;
- tests marked ``duckdb_only`` are skipped, with the reason shown by ``-ra``.

Tests marked ``postgresql_only`` are skipped under ``--store=duckdb``. The fixture
``postgres_database`` gives fresh database URLs on either store (tests that copy a workspace
between the two): under ``--store=duckdb`` it skips when ``CLEARLANE_TEST_POSTGRES_URL`` is unset.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from clearlane.store.workspace import Workspace

SERVER_ENV = "CLEARLANE_TEST_POSTGRES_URL"
"""An administrator's URL of the PostgreSQL server the tests use (they create databases)."""
DATABASE_ENV = "CLEARLANE_DATABASE_URL"
"""The database ``clearlane init`` puts a new workspace in (set per test and per module)."""
STORES = ("duckdb", "postgresql")
PREFIX = "cl_t_"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=STORES,
        default="duckdb",
        help="the store the workspaces of the tests live in: duckdb (default) or postgresql "
        f"(on the server named by {SERVER_ENV}; a fresh database per test)",
    )


def pytest_configure(config: pytest.Config) -> None:
    url = os.environ.get(SERVER_ENV, "").strip()
    if config.getoption("--store") == "postgresql":
        if not url:
            raise pytest.UsageError(
                f"--store=postgresql needs a PostgreSQL server: set {SERVER_ENV} to an "
                "administrator's URL on which the tests may CREATE DATABASE, e.g. "
                "postgresql://postgres@localhost:54321/postgres (`make test-postgres` starts a "
                "throwaway server with scripts/postgres_server.sh and sets it)"
            )
        config.stash[SERVER] = PostgresServer.connect(url)
    elif url:
        # the DuckDB run may still use the server (fixture postgres_database); a server that
        # does not answer fails the tests that need it
        try:
            config.stash[SERVER] = PostgresServer.connect(url)
        except pytest.UsageError as exc:
            config.stash[SERVER_ERROR] = str(exc)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(SERVER, None)
    if server is not None:
        server.close()


def pytest_report_header(config: pytest.Config) -> str:
    store = config.getoption("--store")
    server = config.stash.get(SERVER, None)
    where = f" on {without_password(server.url)}" if store == "postgresql" and server else ""
    return f"store: {store}{where}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    store = config.getoption("--store")
    for item in items:
        if store == "postgresql" and (marker := item.get_closest_marker("duckdb_only")):
            why = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(
                reason=f"DuckDB-only, skipped under --store=postgresql{': ' + why if why else ''}"
            ))
        elif store == "duckdb" and item.get_closest_marker("postgresql_only"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only: run with --store=postgresql"))


@dataclass
class PostgresServer:
    """The tests' server: one autocommit administrator connection that creates and drops."""

    url: str
    con: Any
    created: set[str] = field(default_factory=set)

    @classmethod
    def connect(cls, url: str) -> PostgresServer:
        import psycopg

        try:
            con = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise pytest.UsageError(
                f"the PostgreSQL server of {SERVER_ENV} ({without_password(url)}) does not "
                f"answer: {str(exc).strip()}"
            ) from exc
        allowed = con.execute(
            "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not (allowed and allowed[0]):
            con.close()
            raise pytest.UsageError(
                f"the role of {SERVER_ENV} ({without_password(url)}) may not CREATE DATABASE; "
                "give it CREATEDB or use the server's superuser"
            )
        return cls(url, con)

    def create_database(self, template: str | None = None) -> str:
        """A fresh, empty database (or a copy of the database ``template`` names); its URL
        (the server's URL, another database)."""
        name = f"{PREFIX}{uuid.uuid4().hex}"
        # FILE_COPY (PostgreSQL 15+) copies a small database faster than the WAL_LOG default
        strategy = " STRATEGY FILE_COPY" if self.con.info.server_version >= 150000 else ""
        if template is None:
            self.con.execute(f"CREATE DATABASE {name}{strategy}")
        else:
            self._copy(database_name(template), name, strategy)
        self.created.add(name)
        return database_url(self.url, name)

    def _copy(self, source: str, name: str, strategy: str) -> None:
        import psycopg

        for attempt in range(10):
            # a template may have no other session: end those the source's owner left open
            self.con.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", [source])
            try:
                self.con.execute(f"CREATE DATABASE {name} TEMPLATE {source}{strategy}")
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 9:
                    raise
                time.sleep(0.1)

    def drop_database(self, url: str) -> None:
        name = database_name(url)
        if name in self.created:
            # FORCE: a server or pool the test left open does not keep its database alive
            self.con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            self.created.discard(name)

    def close(self) -> None:
        for name in sorted(self.created):
            with contextlib.suppress(Exception):
                self.con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.created.clear()
        self.con.close()


SERVER = pytest.StashKey[PostgresServer]()
SERVER_ERROR = pytest.StashKey[str]()


def database_url(server_url: str, name: str) -> str:
    """``server_url`` with its database replaced by ``name`` (user, host, port, query kept)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class DatabaseScope:
    """The databases made while one session, module or test runs, dropped when it ends."""

    server: PostgresServer
    urls: list[str] = field(default_factory=list)

    def new(self, template: str | None = None) -> str:
        url = self.server.create_database(template)
        self.urls.append(url)
        return url

    def drop(self) -> None:
        for url in self.urls:
            self.server.drop_database(url)
        self.urls.clear()


@dataclass
class WorkspaceDatabases:
    """Which database each workspace folder of the run has: a new one per new folder, in the
    innermost scope; a copy of the source's for a folder copied from a known workspace."""

    scopes: list[DatabaseScope]
    by_path: dict[Path, str] = field(default_factory=dict)

    def for_create(self, path: Path) -> str | None:
        """The database ``Workspace.create(path)`` without a URL uses."""
        key = path.resolve()
        if key in self.by_path:
            return self.by_path[key]  # created again (an upgrade): the same database
        if (path / STORE_FILE).exists():
            return self.adopt(path)
        if (path / "clearlane.duckdb").exists():
            return None  # an embedded workspace the test built itself: it stays one
        url = self.scopes[-1].new()
        self.by_path[key] = url
        return url

    def before_open(self, path: Path) -> None:
        """Before ``Workspace.open(path)``: a copied folder gets its own database."""
        if path.resolve() not in self.by_path and (path / STORE_FILE).exists():
            self.adopt(path)

    def adopt(self, path: Path) -> str | None:
        """A folder with a ``store.json`` not seen yet. Copied from a workspace of this run
        (``shutil.copytree`` of a template workspace), it gets a copy of that workspace's
        database, named in its ``store.json``, so that the copies do not share their tables;
        the source's database then lives until the session ends (more copies may follow).
        Made by another process (a CLI run with ``CLEARLANE_DATABASE_URL``), it keeps its own.
        """
        url = stored_database_url(path)
        if url is None:
            return None
        name = database_name(url)
        source = next((u for u in self.by_path.values() if database_name(u) == name), None)
        if source is not None:
            for scope in self.scopes[1:]:
                if source in scope.urls:
                    scope.urls.remove(source)
                    self.scopes[0].urls.append(source)
            copy = self.scopes[-1].new(template=source)
            point_store_file(path, name, database_name(copy))
            url = copy
        self.by_path[path.resolve()] = url
        return url


STORE_FILE = "store.json"


def stored_database_url(path: Path) -> str | None:
    """The PostgreSQL URL a workspace folder's ``store.json`` names, if it has one."""
    try:
        stored = json.loads((path / STORE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    values = stored.values() if isinstance(stored, dict) else []
    return next((v for v in values
                 if isinstance(v, str) and v.startswith(("postgresql://", "postgres://"))), None)


def point_store_file(path: Path, old: str, new: str) -> None:
    """Make the URLs in ``path``'s ``store.json`` name the database ``new`` instead of ``old``."""
    file = path / STORE_FILE
    stored = json.loads(file.read_text(encoding="utf-8"))
    for key, value in stored.items():
        if isinstance(value, str) and value.startswith(("postgresql://", "postgres://")):
            parts = urlsplit(value)
            if parts.path.lstrip("/") == old:
                stored[key] = urlunsplit(parts._replace(path=f"/{new}"))
    file.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")


STATE = pytest.StashKey[WorkspaceDatabases]()


def _server(config: pytest.Config) -> PostgresServer | None:
    return config.stash.get(SERVER, None)


def _postgres_store(config: pytest.Config) -> WorkspaceDatabases | None:
    return config.stash.get(STATE, None) if config.getoption("--store") == "postgresql" else None


@pytest.fixture(scope="session")
def store_backend(pytestconfig: pytest.Config) -> str:
    """The store this run's workspaces live in: ``"duckdb"`` or ``"postgresql"``."""
    return str(pytestconfig.getoption("--store"))


@pytest.fixture(scope="session", autouse=True)
def _postgres_workspaces(pytestconfig: pytest.Config) -> Iterator[None]:
    """Under ``--store=postgresql``: ``Workspace.create`` without a URL gets a fresh database."""
    server = _server(pytestconfig)
    if pytestconfig.getoption("--store") != "postgresql" or server is None:
        yield
        return
    session = DatabaseScope(server)
    state = WorkspaceDatabases([session])
    pytestconfig.stash[STATE] = state
    original_create = Workspace.create.__func__
    original_open = Workspace.open.__func__

    def create(cls: type[Workspace], path: Path | str, database_url: str | None = None,
               **kwargs: Any) -> Workspace:
        if database_url is None:
            database_url = state.for_create(Path(path))
        return original_create(cls, path, database_url=database_url, **kwargs)

    def open_(cls: type[Workspace], path: Path | str, **kwargs: Any) -> Workspace:
        state.before_open(Path(path))
        return original_open(cls, path, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Workspace, "create", classmethod(create))
        patch.setattr(Workspace, "open", classmethod(open_))
        yield
    del pytestconfig.stash[STATE]
    session.drop()


@contextlib.contextmanager
def _database_scope(state: WorkspaceDatabases) -> Iterator[None]:
    scope = DatabaseScope(state.scopes[0].server)
    state.scopes.append(scope)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATABASE_ENV, scope.new())
        try:
            yield
        finally:
            state.scopes.remove(scope)
            for key in [k for k, url in state.by_path.items() if url in scope.urls]:
                del state.by_path[key]
            scope.drop()


@pytest.fixture(scope="module", autouse=True)
def _postgres_module_database(pytestconfig: pytest.Config) -> Iterator[None]:
    """The databases a module-scoped fixture creates live until the module ends."""
    state = _postgres_store(pytestconfig)
    if state is None:
        yield
        return
    with _database_scope(state):
        yield


@pytest.fixture(autouse=True)
def _postgres_test_database(pytestconfig: pytest.Config) -> Iterator[None]:
    """Each test's own databases: its workspaces' and ``CLEARLANE_DATABASE_URL``'s."""
    state = _postgres_store(pytestconfig)
    if state is None:
        yield
        return
    with _database_scope(state):
        yield


@pytest.fixture
def postgres_database(pytestconfig: pytest.Config) -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases (their URLs), dropped after the test."""
    server = _server(pytestconfig)
    if error := pytestconfig.stash.get(SERVER_ERROR, None):
        pytest.fail(error)
    if server is None:
        pytest.skip(f"needs a PostgreSQL server: set {SERVER_ENV} (make test starts one)")
    scope = DatabaseScope(server)
    yield scope.new
    scope.drop()
