"""Moving whole tables between stores: read in batches, append, and a content digest.

Used by ``clearlane workspace copy``. Reading and digesting live in the store layer because
they are the one place that must know how each store streams rows: DuckDB hands out Arrow
record batches, PostgreSQL a server-side cursor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from clearlane.store.connection import Connection
from clearlane.store.postgres import PostgresConnection, copy_rows

BATCH_ROWS = 100_000


def table_names(con: Connection) -> list[str]:
    """The workspace's own tables (not the migration record), by name."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def column_names(con: Connection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()
    return [str(row[0]) for row in rows]


def read_batches(con: Connection, table: str, columns: list[str],
                 rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Every row of ``table`` (the named ``columns``), ``rows`` at a time, in no set order."""
    select = f"SELECT {', '.join(_quoted(c) for c in columns)} FROM {_quoted(table)}"
    if isinstance(con, duckdb.DuckDBPyConnection):
        reader = con.sql(select).to_arrow_reader(rows)
        assert reader is not None
        for batch in reader:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame
        return
    yield from _postgres_batches(con, select, rows)


def _postgres_batches(con: PostgresConnection, select: str,
                      rows: int) -> Iterator[pl.DataFrame]:
    # a named (server-side) cursor streams the table instead of loading it whole; it lives
    # in a transaction of its own
    with con.raw.transaction(), con.raw.cursor(name="clearlane_transfer") as cursor:
        cursor.execute(select)
        while True:
            chunk = cursor.fetchmany(rows)
            if not chunk:
                return
            names = [column.name for column in cursor.description or []]
            yield pl.DataFrame(chunk, schema=names, orient="row", infer_schema_length=None)


def append(con: Connection, table: str, frame: pl.DataFrame) -> None:
    """Append ``frame`` (columns named as the table's) to ``table``."""
    if frame.height == 0:
        return
    if isinstance(con, PostgresConnection):
        # COPY parses the text into each column's own type (no casts to write)
        copy_rows(con.raw, table, frame.columns, frame.to_arrow())
        return
    names = ", ".join(_quoted(c) for c in frame.columns)
    con.register("transfer_rows", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {_quoted(table)} ({names}) SELECT {names} FROM transfer_rows")
    finally:
        con.unregister("transfer_rows")


def content_digest(frames: Iterator[pl.DataFrame]) -> tuple[int, str]:
    """Row count and an order-independent digest of the rows' values.

    Each value is rendered as text (so a timestamp or a number reads the same whichever store
    returned it), each row hashed with SHA-256, and the row hashes summed modulo 2**256: the
    same rows in any order give the same digest; any changed value changes it.
    """
    total, count = 0, 0
    for frame in frames:
        texts = frame.select(pl.all().map_batches(_as_text, return_dtype=pl.String))
        for row in texts.iter_rows():
            line = "\x1f".join("\x00" if value is None else value for value in row)
            total = (total + int.from_bytes(hashlib.sha256(line.encode()).digest())) % 2**256
            count += 1
    return count, f"{total:064x}"


def _as_text(column: pl.Series) -> pl.Series:
    kind = column.dtype
    if kind == pl.Datetime or isinstance(kind, pl.Datetime):
        return column.dt.replace_time_zone(None).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
    if isinstance(kind, pl.List):
        return column.list.eval(pl.element().cast(pl.String)).list.join("\x1e")
    if kind.is_float():
        return column.round(9).cast(pl.String)
    return column.cast(pl.String)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def describe(con: Connection, select: str) -> list[tuple[str, str]]:
    """The (name, DuckDB type) of each column ``select`` returns, on either store."""
    if isinstance(con, duckdb.DuckDBPyConnection):
        return [(str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {select}").fetchall()]
    frame = con.execute(f"SELECT * FROM ({select}) described LIMIT 0").pl()
    with duckdb.connect() as memory:
        memory.register("described", frame.to_arrow())
        rows = memory.execute("DESCRIBE SELECT * FROM described").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def query_to_parquet(con: Connection, select: str, path: Path) -> None:
    """Write what ``select`` returns to the Parquet file ``path`` (zstd), on either store.

    DuckDB writes it itself; from PostgreSQL the rows are read once and written by an
    in-memory DuckDB, so both stores give the same file layout.
    """
    quoted = str(path).replace("'", "''")
    if isinstance(con, duckdb.DuckDBPyConnection):
        con.execute(f"COPY ({select}) TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)")
        return
    frame = con.execute(select).pl()
    with duckdb.connect() as memory:
        memory.register("rows", frame.to_arrow())
        memory.execute(f"COPY (SELECT * FROM rows) TO '{quoted}' (FORMAT parquet, "
                       "COMPRESSION zstd)")
