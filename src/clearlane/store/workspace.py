"""The workspace: a folder with an embedded DuckDB database (``clearlane.duckdb``) and artifacts.

Every write goes through a transaction; a crash mid-write leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import polars as pl
import psycopg

from clearlane.errors import (
    ClearlaneError,
    ConflictError,
    NotFoundError,
    StorageError,
    ValidationError,
    WorkspaceBusyError,
)
from clearlane.store.connection import Connection
from clearlane.store.dialect import COMPAT_FUNCTIONS
from clearlane.store.migrations import LATEST_VERSION, MIGRATIONS
from clearlane.store.postgres import PostgresConnection

DATABASE_FILE = "clearlane.duckdb"
STORE_FILE = "store.json"
"""In a workspace folder whose tables live on PostgreSQL: the database URL (no password)."""
SERVED_FILE = "served.json"
"""Written in the workspace folder while ``clearlane serve`` holds it: pid, URL, start time."""
# The order every declarations read returns: by date, then key.
DECLARATION_ORDER = "declared_at, declaration_id, item_no"


class SchemaVersionError(ClearlaneError):
    """The database was written by a newer Clearlane than this one."""


@dataclass(frozen=True)
class WorkspaceSummary:
    path: Path
    schema_version: int
    declarations: int
    batches: int
    quarantined: int
    conflicts: int
    first_date: Any
    last_date: Any
    labelled: int
    frauds: int


class Workspace:
    """A Clearlane workspace folder. Use :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, database_url: str | None = None) -> None:
        self.path = Path(path)
        if database_url is None and (self.path / STORE_FILE).exists():
            database_url = read_store_url(self.path)
        # None: the embedded DuckDB file; else the PostgreSQL database holding the tables
        self.database_url = database_url
        # set while a server holds the workspace (see :meth:`hold`)
        self._held: duckdb.DuckDBPyConnection | None = None
        self._write_lock: threading.RLock | None = None

    def exists(self) -> bool:
        """Whether the folder holds a workspace (its DuckDB file, or its PostgreSQL record)."""
        return self.database_url is not None or self.database.exists()

    @property
    def backend(self) -> str:
        """``"duckdb"`` (embedded, the default) or ``"postgresql"``."""
        return "duckdb" if self.database_url is None else "postgresql"

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def database(self) -> Path:
        return self.path / DATABASE_FILE

    @property
    def artifacts_dir(self) -> Path:
        """Folder for model artifacts and other files owned by the workspace."""
        return self.path / "artifacts"

    @property
    def reports_dir(self) -> Path:
        return self.path / "reports"

    @classmethod
    def create(cls, path: Path | str, database_url: str | None = None) -> Workspace:
        """Create (or upgrade) a workspace at ``path``; safe to call on an existing one.

        ``database_url`` (``postgresql://user@host:port/dbname``) puts the tables in that
        PostgreSQL database; the folder keeps artifacts and reports and names the database in
        :data:`STORE_FILE` (never its password: libpq reads ``PGPASSWORD`` or ``~/.pgpass``).
        """
        path = Path(path)
        if database_url is None and (path / STORE_FILE).exists():
            database_url = read_store_url(path)
        url = None if database_url is None else check_database_url(database_url)
        existing = (path / STORE_FILE).exists() and read_store_url(path)
        if url is not None and (path / DATABASE_FILE).exists():
            raise ConflictError(
                f"the workspace {str(path)!r} already keeps its tables in its own DuckDB file; "
                "copy it to PostgreSQL with `clearlane workspace copy` instead"
            )
        if url is not None and existing and existing != without_password(url):
            raise ConflictError(
                f"the workspace {str(path)!r} already uses {existing}, not "
                f"{without_password(url)}"
            )
        workspace = cls(path, url)
        try:
            workspace.path.mkdir(parents=True, exist_ok=True)
            workspace.artifacts_dir.mkdir(exist_ok=True)
            workspace.reports_dir.mkdir(exist_ok=True)
            if url is not None and not existing:
                write_atomically(workspace.path / STORE_FILE, json.dumps(
                    {"backend": "postgresql", "url": without_password(url)}, indent=2))
        except OSError as exc:
            _raise_plain(exc, workspace.path)
        workspace.migrate()
        return workspace

    @classmethod
    def open(cls, path: Path | str) -> Workspace:
        """Open an existing workspace, applying pending migrations."""
        path = Path(path)
        url = read_store_url(path) if (path / STORE_FILE).exists() else None
        workspace = cls(path, url)
        if url is None and not workspace.database.exists():
            raise NotFoundError(
                f"no workspace at {str(workspace.path)!r}; create one with `clearlane init`"
            )
        workspace.migrate()
        return workspace

    @property
    def served_file(self) -> Path:
        return self.path / SERVED_FILE

    @contextmanager
    def hold(self, url: str) -> Iterator[None]:
        """Keep the database open for this process (a server) until the block ends.

        Inside the block every :meth:`connect` is a cursor on the held connection (cheap, and
        ``read_only`` is ignored: DuckDB lets one process hold a file), and every
        :meth:`transaction` takes one process-wide lock, so concurrent requests write one at a
        time instead of failing on a write-write conflict. ``url`` is written to
        :data:`SERVED_FILE` so that another program refused by the lock can say who holds it.
        """
        if self.database_url is None:
            try:
                self._held = duckdb.connect(str(self.database))
            except (duckdb.Error, OSError) as exc:
                _raise_plain(exc, self.path)
        self._write_lock = threading.RLock()
        served = {"pid": os.getpid(), "url": url,
                  "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            self.served_file.write_text(json.dumps(served), encoding="utf-8")
        except OSError as exc:
            if self._held is not None:
                self._held.close()
            self._held = None
            _raise_plain(exc, self.path)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                self.served_file.unlink()
            if self._held is not None:
                self._held.close()
            self._held = None
            self._write_lock = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Connection]:
        """A connection to the workspace database, closed on exit.

        A busy workspace (another process holds it), a read-only folder or a full disk,
        met on connecting or inside the block, is raised as :class:`WorkspaceBusyError` or
        :class:`StorageError` with a plain message (see :func:`storage_error`). On
        PostgreSQL, an unreachable server or a refused login is a :class:`StorageError`.
        """
        if self.database_url is not None:
            with _postgres(self.database_url, self.path) as pg:
                yield pg
            return
        try:
            con = (self._held.cursor() if self._held is not None
                   else duckdb.connect(str(self.database), read_only=read_only))
        except (duckdb.Error, OSError) as exc:
            _raise_plain(exc, self.path)
        try:
            yield con
        except (duckdb.Error, OSError) as exc:
            _raise_plain(exc, self.path)
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self._write_lock or contextlib.nullcontext(), self.connect() as con:
            con.begin()
            try:
                yield con
            except BaseException:
                # A failed rollback (a full disk) changes nothing: closing discards the
                # uncommitted transaction; the first error is the one to report.
                with contextlib.suppress(duckdb.Error, psycopg.Error):
                    con.rollback()
                raise
            con.commit()

    def serialise(self, con: Connection, name: str) -> None:
        """Make writers of ``name`` (e.g. ``"ingest"``) take turns until ``con``'s
        transaction ends. DuckDB already admits one writing process; on PostgreSQL this is a
        transaction-scoped advisory lock, so a second writer waits instead of interleaving."""
        if isinstance(con, PostgresConnection):
            con.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"clearlane:{name}"])

    @contextmanager
    def staging(self, con: Connection) -> Iterator[duckdb.DuckDBPyConnection]:
        """An embedded DuckDB connection for in-memory work beside the store connection ``con``.

        On the DuckDB store it is ``con`` itself (staged tables live in its transaction); on
        PostgreSQL a private in-memory DuckDB, from which results are copied into the store.
        """
        if isinstance(con, duckdb.DuckDBPyConnection):
            yield con
            return
        memory = duckdb.connect()
        try:
            yield memory
        finally:
            memory.close()

    # -- schema ----------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self.connect() as con:
            return _schema_version(con)

    def migrate(self) -> list[int]:
        """Apply, in version order, every migration not yet recorded; returns those applied.

        A migration numbered below one already applied (work merged from a parallel branch)
        is still applied: the record of applied versions, not the highest one, decides.
        """
        applied: list[int] = []
        with self.connect() as con:
            if isinstance(con, PostgresConnection):
                # several processes may open one database at once: one migrates, the
                # others wait and find nothing left to do (the lock ends with the session)
                con.raw.execute("SELECT pg_advisory_lock(7305741)")
                for statement in COMPAT_FUNCTIONS:
                    con.raw.execute(statement)
            current = _schema_version(con)
            if current > LATEST_VERSION:
                raise SchemaVersionError(
                    f"workspace schema version {current} is newer than this Clearlane supports "
                    f"({LATEST_VERSION}); upgrade Clearlane"
                )
            done = _applied_versions(con)
            for migration in sorted(MIGRATIONS, key=lambda m: m.version):
                if migration.version in done:
                    continue
                con.begin()
                try:
                    con.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
                    )
                    for statement in migration.statements:
                        con.execute(statement)
                    con.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        [migration.version, migration.description, datetime.now(UTC)],
                    )
                except BaseException:
                    con.rollback()
                    raise
                con.commit()
                applied.append(migration.version)
        return applied

    # -- reading ---------------------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run a read query and return a polars DataFrame."""
        with self.connect(read_only=False) as con:
            if isinstance(con, PostgresConnection) and not params:
                return con.frame(sql)  # streamed: a large read is not built from tuples
            return con.sql(sql, params=params or None).pl()

    def declarations(
        self, columns: list[str] | None = None, where: str | None = None
    ) -> pl.DataFrame:
        """Canonical declarations ordered by date then id (``where`` is a SQL condition)."""
        cols = ", ".join(columns) if columns else "*"
        sql = f"SELECT {cols} FROM declarations"
        if where:
            sql += f" WHERE {where}"
        sql += f" ORDER BY {DECLARATION_ORDER}"
        return self.query(sql)

    def summary(self) -> WorkspaceSummary:
        with self.connect() as con:
            row = con.execute(
                """SELECT count(*), min(declared_at), max(declared_at),
                          count(*) FILTER (WHERE inspected), count(*) FILTER (WHERE fraud)
                   FROM declarations"""
            ).fetchone()
            assert row is not None
            batches = con.execute("SELECT count(*) FROM ingest_batches").fetchone()
            quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()
            conflicts = con.execute("SELECT count(*) FROM conflicts").fetchone()
            return WorkspaceSummary(
                path=self.path,
                schema_version=_schema_version(con),
                declarations=int(row[0]),
                batches=int(batches[0]) if batches else 0,
                quarantined=int(quarantined[0]) if quarantined else 0,
                conflicts=int(conflicts[0]) if conflicts else 0,
                first_date=row[1],
                last_date=row[2],
                labelled=int(row[3]),
                frauds=int(row[4]),
            )


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_READ_ONLY = ("read-only file system", "permission denied", "operation not permitted",
              "attempt to write a readonly database")
_FULL = ("no space left on device", "disk quota exceeded", "file too large")
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


def storage_error(exc: BaseException, path: Path) -> ClearlaneError | None:
    """The plain error for a storage failure of the workspace at ``path``, or None.

    Recognises DuckDB's lock conflict (``Could not set lock on file ... Conflicting lock is
    held in PROGRAM (PID n)``), a read-only file system or permission refusal, and a full disk
    (``No space left on device``, or the same errno from the OS); anything else is not a
    storage failure and returns None (the caller re-raises it).
    """
    message = str(exc)
    lowered = message.lower()
    number = exc.errno if isinstance(exc, OSError) else None
    if "could not set lock on file" in lowered or "conflicting lock" in lowered:
        holder = _LOCK_HOLDER.search(message)
        served = _served_by(path, holder["pid"] if holder else None)
        if served is not None:
            return WorkspaceBusyError(
                f"the workspace {str(path)!r} is being served by `clearlane serve` "
                f"(PID {served['pid']}) at {served['url']}: while it runs, use the API there "
                "(see docs/api.md), or stop the server and run the command again."
            )
        who = (
            f"{holder['program']} (PID {holder['pid']})" if holder else "another process"
        )
        stop = f"stop it (kill {holder['pid']})" if holder else "stop it"
        return WorkspaceBusyError(
            f"the workspace {str(path)!r} is busy: {who} has it open. Only one program can "
            f"use a workspace at a time: wait for that one to finish, or {stop} if it is "
            "stuck, then run the command again."
        )
    if number in _FULL_ERRNOS or any(text in lowered for text in _FULL):
        return StorageError(
            f"the disk holding the workspace {str(path)!r} is full ({_os_reason(exc)}); "
            "the write was rolled back and nothing was changed. Free some space (or move "
            "the workspace to a larger disk) and run the command again."
        )
    if (number in _READ_ONLY_ERRNOS or any(text in lowered for text in _READ_ONLY)) and (
        _inside(_named_file(exc), path)
    ):
        return StorageError(
            f"the workspace {str(path)!r} cannot be written: the folder or its database "
            f"file is read-only ({_os_reason(exc)}). Make it writable (or copy the "
            "workspace folder to a writable place and use that copy), then run the command "
            "again."
        )
    return None


def _served_by(path: Path, pid: str | None) -> dict[str, Any] | None:
    """The served-file record of the server holding ``path``, if the lock holder is one."""
    try:
        served = json.loads((Path(path) / SERVED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(served, dict) or "url" not in served or "pid" not in served:
        return None
    if pid is not None and str(served["pid"]) != pid:
        return None  # a stale file: the lock is held by some other program
    return served


def _raise_plain(exc: duckdb.Error | OSError, path: Path) -> NoReturn:
    """Raise the plain error for ``exc`` when it is a storage failure, else ``exc`` itself."""
    mapped = storage_error(exc, path)
    if mapped is None:
        raise exc
    raise mapped from exc


_QUOTED_FILE = re.compile(r'(?:file|directory) "(?P<name>[^"]+)"', re.IGNORECASE)


def _named_file(exc: BaseException) -> str | None:
    """The file an OS or DuckDB error names, if it names one."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return str(exc.filename)
    found = _QUOTED_FILE.search(str(exc))
    return found["name"] if found else None


def _inside(name: str | None, folder: Path) -> bool:
    """Whether ``name`` (None: unnamed, assumed the workspace's) lies in ``folder``."""
    if name is None:
        return True
    try:
        return Path(name).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def _os_reason(exc: BaseException) -> str:
    """The OS's own words for ``exc`` (DuckDB's text after its last colon)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).rsplit(": ", 1)[-1].strip() or type(exc).__name__


def date_window_sql(date_from: date | None, date_to: date | None) -> str | None:
    """A SQL condition on ``declared_at`` for an inclusive date window (None: no bound)."""
    clauses = []
    if date_from:
        clauses.append(f"declared_at >= DATE '{date_from.isoformat()}'")
    if date_to:
        clauses.append(f"declared_at <= DATE '{date_to.isoformat()}'")
    return " AND ".join(clauses) or None


def atomic_write(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file in the same folder (whole or
    not at all); the artifacts use it too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


def check_database_url(url: str) -> str:
    """``url`` when it names a PostgreSQL database, else a plain error saying what is valid."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ValidationError(f"database URL {url!r} is not valid: {exc}") from exc
    if not url.startswith(("postgresql://", "postgres://")) or not parts.get("dbname"):
        raise ValidationError(
            f"database URL {without_password(url)!r} is not supported: give "
            "postgresql://USER@HOST:PORT/DBNAME (the password goes in ~/.pgpass or PGPASSWORD)"
        )
    return url


def without_password(url: str) -> str:
    """``url`` with any password removed (the form written to :data:`STORE_FILE`)."""
    return re.sub(r"^(postgres(?:ql)?://[^:/@]+):[^@]*@", r"\1@", url)


def read_store_url(path: Path) -> str:
    """The database URL recorded in the workspace folder ``path``."""
    try:
        record = json.loads((Path(path) / STORE_FILE).read_text(encoding="utf-8"))
        return str(record["url"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(
            f"the workspace {str(path)!r} names its database in {STORE_FILE}, which cannot "
            f"be read ({exc}); restore it from the backup of the folder"
        ) from exc


@contextmanager
def _postgres(url: str, path: Path) -> Iterator[PostgresConnection]:
    try:
        con = PostgresConnection.connect(url)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise StorageError(
            f"cannot reach the PostgreSQL database {without_password(url)} of the workspace "
            f"{str(path)!r}: {reason}. Check that the server runs and that the password is in "
            "~/.pgpass or PGPASSWORD, then run the command again."
        ) from exc
    try:
        yield con
    except psycopg.errors.DiskFull as exc:
        raise StorageError(
            f"the disk of the PostgreSQL database {without_password(url)} is full; the write "
            "was rolled back and nothing was changed"
        ) from exc
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        raise StorageError(
            f"the PostgreSQL database {without_password(url)} is read-only (a standby?): "
            "point the workspace at the primary"
        ) from exc
    finally:
        with contextlib.suppress(psycopg.Error):
            con.close()


def _applied_versions(con: Connection) -> set[int]:
    if not _schema_version(con):
        return set()
    return {int(row[0]) for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def _schema_version(con: Connection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations' "
        "AND table_schema = current_schema()"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0
