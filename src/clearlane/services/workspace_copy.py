"""Use case: copy a workspace to another store (DuckDB ↔ PostgreSQL), checked, all or nothing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from clearlane.errors import ConflictError, StorageError
from clearlane.services import audit
from clearlane.store.transfer import (
    append,
    column_names,
    content_digest,
    read_batches,
    table_names,
)
from clearlane.store.workspace import DATABASE_FILE, SERVED_FILE, STORE_FILE, Workspace

# files of the source folder that belong to its database, not to the workspace's content
_DATABASE_FILES = {DATABASE_FILE, DATABASE_FILE + ".wal", STORE_FILE, SERVED_FILE}

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class TableCopy:
    """One table copied: its rows, and the digest of its content on both sides."""

    table: str
    rows: int
    digest: str


@dataclass(frozen=True)
class CopyReport:
    source: str
    destination: str
    tables: tuple[TableCopy, ...]
    files: int

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def copy_workspace(source: Workspace, destination: Path, database_url: str | None = None,
                   progress: Progress | None = None) -> CopyReport:
    """Copy every table of ``source`` into a new workspace at ``destination``.

    ``database_url`` puts the copy's tables in that (empty) PostgreSQL database; without it
    they go into an embedded DuckDB file. The destination must hold no data yet. Every table
    is written in one transaction, then read back: its row count and content digest (see
    :func:`clearlane.store.transfer.content_digest`) must equal the source's, or nothing is
    kept. The folder's files (model artifacts, reports) are copied beside it.
    """
    target = Workspace.create(destination, database_url)
    if target.path.resolve() == source.path.resolve():
        raise ConflictError("the source and the destination are the same workspace")
    copied: list[TableCopy] = []
    with source.connect() as reader, target.transaction() as writer:
        tables = table_names(reader)
        for table in table_names(writer):
            row = writer.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            if row and int(row[0]):
                raise ConflictError(
                    f"the destination {str(destination)!r} already holds data (table {table}, "
                    f"{int(row[0]):,} rows); copy into a new folder and an empty database"
                )
        missing = sorted(set(tables) - set(table_names(writer)))
        if missing:
            raise ConflictError(f"the destination lacks the tables {', '.join(missing)}")
        for table in tables:
            columns = column_names(reader, table)
            for frame in read_batches(reader, table, columns):
                append(writer, table, frame)
                if progress is not None:
                    progress(table, frame.height)
            rows, digest = content_digest(read_batches(reader, table, columns))
            copied_rows, copied_digest = content_digest(read_batches(writer, table, columns))
            if (rows, digest) != (copied_rows, copied_digest):
                raise StorageError(
                    f"the copy of table {table} does not match its source ({rows:,} rows, "
                    f"digest {digest[:12]}; copy: {copied_rows:,} rows, digest "
                    f"{copied_digest[:12]}); nothing was kept"
                )
            copied.append(TableCopy(table, rows, digest))
        audit.record(writer, action="workspace.copy", object_type="workspace",
                     object_id=str(target.path),
                     change={"source": str(source.path), "source_store": source.backend,
                             "store": target.backend, "tables": len(copied),
                             "rows": sum(t.rows for t in copied)})
    files = _copy_files(source.path, target.path)
    return CopyReport(str(source.path), str(target.path), tuple(copied), files)


def _copy_files(source: Path, destination: Path) -> int:
    """Copy the folder's own files (artifacts, reports…) but not the database's."""
    count = 0
    for item in sorted(source.rglob("*")):
        relative = item.relative_to(source)
        if relative.parts[0] in _DATABASE_FILES or relative.parts[0] == "tmp" or item.is_dir():
            continue
        out = destination / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(item, out)
        count += 1
    return count
