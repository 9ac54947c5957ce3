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

__all__ = ["Connection"]
