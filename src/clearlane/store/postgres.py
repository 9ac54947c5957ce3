"""A PostgreSQL connection that speaks the store contract (the DuckDB connection's surface).

Services call ``execute(sql, params)`` and read ``fetchone`` / ``fetchall`` / ``pl()``,
``register`` an Arrow table as a named relation, and ``begin`` / ``commit`` / ``rollback``.
:class:`PostgresConnection` gives the same surface on psycopg 3: statements are translated by
:mod:`clearlane.store.dialect`, sent with PostgreSQL's native ``$n`` parameters (a
``RawCursor``), and a registered table becomes a temporary table filled with ``COPY``.

Why psycopg and not SQLAlchemy Core: the services' SQL is hand-written analytical SQL that
already runs on DuckDB; a second query language would mean writing every query twice. psycopg
gives server-side parameters, ``COPY`` for bulk loads and plain transactions, which is all the
store needs (see docs/architecture.md).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
import psycopg
import pyarrow as pa
from polars import DataFrame
from psycopg.adapt import Loader

from clearlane.store.dialect import positional, to_postgres

_INSERT_BY_NAME = re.compile(
    r"^\s*INSERT\s+INTO\s+(\w+)\s+BY\s+NAME\s+SELECT\s+\*\s+FROM\s+(\w+)\s*$", re.IGNORECASE)
# type OID → polars dtype for result frames (anything else: let polars infer)
_POLARS_TYPES: dict[int, pl.DataType] = {
    16: pl.Boolean(),
    20: pl.Int64(), 21: pl.Int64(), 23: pl.Int64(),
    700: pl.Float64(), 701: pl.Float64(), 1700: pl.Float64(),
    25: pl.String(), 1043: pl.String(), 1042: pl.String(), 114: pl.String(), 3802: pl.String(),
    1082: pl.Date(), 1114: pl.Datetime("us"), 1184: pl.Datetime("us", "UTC"),
}


class _NumericLoader(Loader):
    """PostgreSQL ``numeric`` (``sum`` of integers, ``round``) as int when whole, else float,
    as DuckDB returns them (no ``Decimal`` leaking into services)."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if text.lstrip("-").isdigit():
            return int(text)
        return float(text)


def _arrow_type_sql(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_integer(kind):
        return "BIGINT"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "DOUBLE PRECISION"
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMPTZ" if kind.tz else "TIMESTAMP"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _arrow_type_sql(kind.value_type) + "[]"
    return "TEXT"


class PostgresConnection:
    """One psycopg connection, autocommit unless inside :meth:`begin`; see module docstring."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self._cursor: psycopg.RawCursor[Any] = psycopg.RawCursor(raw)
        self._registered: set[str] = set()

    @classmethod
    def connect(cls, url: str) -> PostgresConnection:
        raw = psycopg.connect(url, autocommit=True)
        # DuckDB stores naive UTC timestamps; PostgreSQL converts in the session time zone
        raw.execute("SET TIME ZONE 'UTC'")
        raw.adapters.register_loader("numeric", _NumericLoader)
        return cls(raw)

    # -- statements ----------------------------------------------------------------------
    def execute(self, sql: str,
                parameters: Sequence[Any] | Mapping[str, Any] | None = None,
                ) -> PostgresConnection:
        if isinstance(parameters, Mapping):
            sql, names = positional(sql)
            parameters = [parameters[name] for name in names]
        by_name = _INSERT_BY_NAME.match(sql)
        if by_name:
            # DuckDB's INSERT … BY NAME: the source's own columns, named
            target, source = by_name.group(1), by_name.group(2)
            self._cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
                "ORDER BY ordinal_position", [source])
            listed = ", ".join(f'"{row[0]}"' for row in self._cursor.fetchall())
            sql = f"INSERT INTO {target} ({listed}) SELECT {listed} FROM {source}"
        statements = to_postgres(sql)
        for number, statement in enumerate(statements, start=1):
            last = number == len(statements)
            self._cursor.execute(statement, list(parameters or []) if last else None)
        return self

    def sql(self, sql: str, params: Sequence[Any] | None = None) -> PostgresConnection:
        return self.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> PostgresConnection:
        statements = to_postgres(sql)
        for statement in statements[:-1]:
            self._cursor.execute(statement)
        if statements:
            self._cursor.executemany(statements[-1], [list(row) for row in rows])
        return self

    # -- results -------------------------------------------------------------------------
    @property
    def description(self) -> list[Any] | None:
        return self._cursor.description

    @property
    def columns(self) -> list[str]:
        return [column.name for column in self._cursor.description or []]

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._cursor.description is None:
            return (self._cursor.rowcount,)  # DuckDB answers a write with its row count
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self._cursor.description is None:
            return [(self._cursor.rowcount,)]
        return self._cursor.fetchall()

    def pl(self) -> DataFrame:
        description = self._cursor.description or []
        rows = self._cursor.fetchall()
        names: list[str] = []
        for column in description:
            # a repeated name gets a suffix, as DuckDB's result frames do
            name, number = column.name, 0
            while name in names:
                number += 1
                name = f"{column.name}_{number}"
            names.append(name)
        schema = {
            name: _POLARS_TYPES.get(column.type_code)
            for name, column in zip(names, description, strict=True)
        }
        if all(kind is not None for kind in schema.values()):
            return pl.DataFrame(rows, schema=schema, orient="row")
        frame = pl.DataFrame(rows, schema=list(schema), orient="row")
        return frame.cast({k: v for k, v in schema.items() if v is not None})

    def frame(self, sql: str) -> DataFrame:
        """The rows of one parameterless query as a frame, streamed with ``COPY … TO STDOUT``
        (CSV parsed by polars): for large reads, far faster than fetching Python tuples.
        Falls back to :meth:`pl` when a column's type has no plain CSV form (arrays, JSON)."""
        statements = to_postgres(sql)
        for statement in statements[:-1]:
            self._cursor.execute(statement)
        query = statements[-1]
        self._cursor.execute(f"SELECT * FROM ({query}) _described LIMIT 0")
        description = self._cursor.description or []
        names = [column.name for column in description]
        kinds = [_POLARS_TYPES.get(column.type_code) for column in description]
        if len(set(names)) != len(names) or any(k is None for k in kinds):
            return self.execute(sql).pl()
        # booleans and timestamps arrive as text (t/f, with a zone) and are converted after
        read_as: dict[str, pl.DataType] = {
            n: (pl.String() if isinstance(k, pl.Boolean | pl.Datetime) else k)
            for n, k in zip(names, kinds, strict=True) if k is not None}
        buffer = io.BytesIO()
        with self.raw.cursor().copy(
                f"COPY ({query}) TO STDOUT (FORMAT csv, NULL '\\N')") as copy:
            for chunk in copy:
                buffer.write(chunk)
        buffer.seek(0)
        frame = pl.read_csv(buffer, has_header=False, new_columns=names, schema=read_as,
                            null_values="\\N", empty_string_is_null=False)
        conversions = []
        for name, kind in zip(names, kinds, strict=True):
            if isinstance(kind, pl.Boolean):
                conversions.append(pl.col(name).replace_strict(
                    {"t": True, "f": False}, default=None, return_dtype=pl.Boolean))
            elif isinstance(kind, pl.Datetime):
                parsed = pl.col(name).str.to_datetime(time_unit="us", time_zone=kind.time_zone,
                                                      strict=True)
                conversions.append(parsed.alias(name))
        return frame.with_columns(conversions) if conversions else frame

    def to_arrow_table(self) -> pa.Table:
        return self.pl().to_arrow()

    # -- registered relations ------------------------------------------------------------
    def register(self, name: str, table: pa.Table | DataFrame) -> PostgresConnection:
        """A temporary table ``name`` holding ``table`` (until :meth:`unregister`)."""
        if isinstance(table, DataFrame):
            table = table.to_arrow()
        columns = ", ".join(
            f'"{field.name}" {_arrow_type_sql(field.type)}' for field in table.schema
        )
        self._cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        self._cursor.execute(f'CREATE TEMP TABLE "{name}" ({columns})')
        self._registered.add(name)
        copy_rows(self.raw, name, [field.name for field in table.schema], table)
        return self

    def unregister(self, name: str) -> PostgresConnection:
        self._cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        self._registered.discard(name)
        return self

    # -- transactions ----------------------------------------------------------------------
    def begin(self) -> None:
        self._cursor.execute("BEGIN")

    def commit(self) -> None:
        self._cursor.execute("COMMIT")

    def rollback(self) -> None:
        self._cursor.execute("ROLLBACK")

    def __enter__(self) -> PostgresConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cursor(self) -> PostgresConnection:
        return PostgresConnection(self.raw)

    def close(self) -> None:
        self.raw.close()


def copy_rows(raw: psycopg.Connection[Any], table: str, columns: list[str],
              data: pa.Table) -> None:
    """Append ``data`` to ``table`` with ``COPY … FROM STDIN`` (CSV, ``\\N`` for NULL)."""
    if data.num_rows == 0:
        return
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    # PostgreSQL text cannot hold a NUL character (DuckDB's can): it is stored as the six
    # characters \u0000, its JSON escape (the quarantine keeps raw rows as JSON text)
    texts = [name for name, kind in frame.schema.items() if kind == pl.String]
    if texts:
        frame = frame.with_columns(
            pl.col(name).str.replace_all("\x00", "\\u0000", literal=True) for name in texts)
    # lists go as PostgreSQL array literals
    lists = [name for name, kind in frame.schema.items() if isinstance(kind, pl.List)]
    if lists:
        frame = frame.with_columns(
            ("{" + pl.col(name).cast(pl.List(pl.String)).list.eval(
                '"' + pl.element().str.replace_all('"', '\\"', literal=True) + '"'
            ).list.join(",") + "}").alias(name)
            for name in lists
        )
    quoted = ", ".join(f'"{name}"' for name in columns)
    with raw.cursor().copy(
        f'COPY "{table}" ({quoted}) FROM STDIN (FORMAT csv, NULL \'\\N\')'
    ) as copy:
        for chunk in _csv_chunks(frame):
            copy.write(chunk)


def _csv_chunks(frame: pl.DataFrame, rows: int = 100_000) -> Iterator[bytes]:
    for offset in range(0, frame.height, rows):
        buffer = io.BytesIO()
        frame.slice(offset, rows).write_csv(
            buffer, include_header=False, null_value="\\N", quote_style="non_numeric",
            datetime_format="%Y-%m-%d %H:%M:%S%.f",
        )
        yield buffer.getvalue()


@contextmanager
def connected(url: str) -> Iterator[PostgresConnection]:
    con = PostgresConnection.connect(url)
    try:
        yield con
    finally:
        con.close()
