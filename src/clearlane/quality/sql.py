"""SQL pieces shared by the quality metrics: the batch scope and severity classes."""

from __future__ import annotations

from typing import Any

import duckdb

SEVERITY_SQL = (
    "CASE WHEN lower(severity) IN ('error', 'rejected', 'reject', 'fatal', 'critical') "
    "THEN 'error' WHEN lower(severity) IN ('info', 'note') THEN 'info' ELSE 'warning' END"
)
"""Maps an ingest issue's severity to error / warning / info (ingest writes ``rejected``)."""


class Scope:
    """A SQL condition restricting a table to the batch (or everything) with its parameters."""

    def __init__(self, batch_id: str | None, alias: str = "") -> None:
        self.batch_id = batch_id
        prefix = f"{alias}." if alias else ""
        self.sql = f"{prefix}batch_id = ?" if batch_id is not None else "TRUE"
        self.params: list[Any] = [batch_id] if batch_id is not None else []


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> int:
    """The first column of the first row as an int (0 when NULL)."""
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
