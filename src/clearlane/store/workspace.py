"""The workspace: a folder with an embedded DuckDB database (``clearlane.duckdb``) and artifacts.

Every write goes through a transaction; a crash mid-write leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import polars as pl

from clearlane.errors import (
    ClearlaneError,
    NotFoundError,
    StorageError,
    WorkspaceBusyError,
)
from clearlane.store.migrations import LATEST_VERSION, MIGRATIONS

DATABASE_FILE = "clearlane.duckdb"
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

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # set while a server holds the workspace (see :meth:`hold`)
        self._held: duckdb.DuckDBPyConnection | None = None
        self._write_lock: threading.RLock | None = None

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
    def create(cls, path: Path | str) -> Workspace:
        """Create (or upgrade) a workspace at ``path``; safe to call on an existing one."""
        workspace = cls(Path(path))
        try:
            workspace.path.mkdir(parents=True, exist_ok=True)
            workspace.artifacts_dir.mkdir(exist_ok=True)
            workspace.reports_dir.mkdir(exist_ok=True)
        except OSError as exc:
            _raise_plain(exc, workspace.path)
        workspace.migrate()
        return workspace

    @classmethod
    def open(cls, path: Path | str) -> Workspace:
        """Open an existing workspace, applying pending migrations."""
        workspace = cls(Path(path))
        if not workspace.database.exists():
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
            self._held.close()
            self._held = None
            _raise_plain(exc, self.path)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                self.served_file.unlink()
            self._held.close()
            self._held = None
            self._write_lock = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the workspace database, closed on exit.

        A busy workspace (another process holds it), a read-only folder or a full disk,
        met on connecting or inside the block, is raised as :class:`WorkspaceBusyError` or
        :class:`StorageError` with a plain message (see :func:`storage_error`).
        """
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
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self._write_lock or contextlib.nullcontext(), self.connect() as con:
            con.begin()
            try:
                yield con
            except BaseException:
                # A failed rollback (a full disk) changes nothing: closing discards the
                # uncommitted transaction; the first error is the one to report.
                with contextlib.suppress(duckdb.Error):
                    con.rollback()
                raise
            con.commit()

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


def _applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    if not _schema_version(con):
        return set()
    return {int(row[0]) for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0
