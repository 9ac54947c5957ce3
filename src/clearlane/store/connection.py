"""The store contract's connection type: what services receive from ``Workspace.connect``.

Both stores give the same surface (``execute`` with ``?`` parameters, ``fetchone``,
``fetchall``, ``pl()``, ``register`` / ``unregister`` of an Arrow table, ``begin`` /
``commit`` / ``rollback``); services never ask which one they hold.
"""

from __future__ import annotations

from typing import TypeAlias

import duckdb

from clearlane.store.postgres import PostgresConnection

Connection: TypeAlias = duckdb.DuckDBPyConnection | PostgresConnection


def stored_order(con: Connection, key: str) -> str:
    """The SQL ordering "as written" of an append-only table whose own order column is
    ``key``: DuckDB's ``rowid`` (the physical order, so rows swapped in place are seen), and
    ``key`` on PostgreSQL, where a row's physical place changes with every update and vacuum.
    """
    return "rowid" if isinstance(con, duckdb.DuckDBPyConnection) else key


__all__ = ["Connection", "stored_order"]
