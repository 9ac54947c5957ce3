"""Use cases: create a workspace, describe what it holds, list quarantined rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from clearlane.quality.sql import SEVERITY_SQL
from clearlane.store.workspace import DATABASE_FILE, STORE_FILE, Workspace, WorkspaceSummary


def init_workspace(path: Path, database_url: str | None = None) -> tuple[Workspace, bool]:
    """Create the workspace (or upgrade an existing one); returns it and whether it was new.

    ``database_url`` puts its tables in that PostgreSQL database (see docs/deploy.md).
    """
    existed = (path / DATABASE_FILE).exists() or (path / STORE_FILE).exists()
    return Workspace.create(path, database_url), not existed


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
    """Rejected rows with their reasons and raw content (one batch or all), oldest first."""
    where = "WHERE batch_id = ?" if batch_id else ""
    sql = (
        "SELECT batch_id, source_file, source_row, declaration_id, item_no, reasons, raw "
        f"FROM quarantine {where} ORDER BY batch_id, source_row"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return workspace.query(sql, [batch_id] if batch_id else None)


def quarantine_problems(
    workspace: Workspace, batch_id: str | None = None, limit: int | None = 50
) -> pl.DataFrame:
    """One line per problem of a quarantined row: its file, row, field, offending value and
    reason (a row rejected for two fields gives two lines), oldest first.

    A quarantined row with no recorded issue (written by an older Clearlane) shows its
    reasons text with no field or value.
    """
    where = "WHERE q.batch_id = ?" if batch_id else ""
    sql = f"""SELECT q.batch_id, q.source_file, q.source_row, i.field, i.value,
                     coalesce(i.reason, q.reasons) AS reason
              FROM quarantine q
              LEFT JOIN (SELECT * FROM ingest_issues WHERE {SEVERITY_SQL} = 'error') i
                ON i.batch_id = q.batch_id AND i.source_row IS NOT DISTINCT FROM q.source_row
              {where}
              ORDER BY q.batch_id, q.source_row, i.field NULLS FIRST, i.reason"""
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return workspace.query(sql, [batch_id] if batch_id else None)


def conflicting_rows(
    workspace: Workspace, batch_id: str | None = None, limit: int | None = 50
) -> pl.DataFrame:
    """Conflicts (a key seen again with different content; the stored row was kept) with the
    incoming row's canonical values as JSON (``incoming``), oldest first."""
    where = "WHERE batch_id = ?" if batch_id else ""
    sql = f"SELECT * FROM conflicts {where} ORDER BY batch_id, source_row"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return workspace.query(sql, [batch_id] if batch_id else None)


def conflicts_for_review(conflicts: pl.DataFrame) -> pl.DataFrame:
    """``conflicts`` with the incoming row spread into ``incoming_<field>`` columns (the JSON
    kept too), for a reviewer's spreadsheet; unchanged when no row holds incoming content."""
    if not conflicts.height or conflicts.get_column("incoming").null_count() == conflicts.height:
        return conflicts
    decoded = conflicts.get_column("incoming").str.json_decode(infer_schema_length=None)
    spread = decoded.struct.unnest()
    spread = spread.rename({name: f"incoming_{name}" for name in spread.columns})
    return pl.concat([conflicts, spread], how="horizontal")
