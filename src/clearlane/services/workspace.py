"""Use cases: create a workspace, describe what it holds, list quarantined rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from clearlane.store.workspace import Workspace, WorkspaceSummary


def init_workspace(path: Path) -> tuple[Workspace, bool]:
    """Create the workspace (or upgrade an existing one); returns it and whether it was new."""
    existed = (path / "clearlane.duckdb").exists()
    return Workspace.create(path), not existed


def describe_workspace(workspace: Workspace) -> tuple[WorkspaceSummary, pl.DataFrame]:
    """The summary counts and the ingest batches, newest first."""
    batches = workspace.query(
        """SELECT batch_id, source_file, profile_name, finished_at, rows_read, rows_accepted,
                  rows_rejected, rows_duplicate, rows_conflict, rows_warned
           FROM ingest_batches ORDER BY finished_at DESC"""
    )
    return workspace.summary(), batches


def quarantined_rows(
    workspace: Workspace, batch_id: str | None = None, limit: int | None = 50
) -> pl.DataFrame:
    """Rejected rows with their reasons (one batch or all), oldest first."""
    where = "WHERE batch_id = ?" if batch_id else ""
    sql = f"SELECT batch_id, source_file, source_row, reasons, raw FROM quarantine {where} ORDER BY batch_id, source_row"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return workspace.query(sql, [batch_id] if batch_id else None)


def conflicting_rows(workspace: Workspace, limit: int | None = 50) -> pl.DataFrame:
    sql = "SELECT * FROM conflicts ORDER BY batch_id, source_row"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return workspace.query(sql)
