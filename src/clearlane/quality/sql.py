"""SQL pieces shared by the quality metrics: the batch scope and severity classes."""

from __future__ import annotations

from typing import Any

from clearlane.store.connection import Connection

SEVERITY_SQL = (
    "CASE WHEN lower(severity) IN ('error', 'rejected', 'reject', 'fatal', 'critical') "
    "THEN 'error' WHEN lower(severity) IN ('info', 'note') THEN 'info' ELSE 'warning' END"
)
"""Maps an ingest issue's severity to error / warning / info (ingest writes ``rejected``)."""


# The quarantined rows still outstanding: not later stored (a quarantined row keeps its key as
# written; a fixed file stores that key), and for a key rejected by several files only the
# latest rejection. Rows whose key could not be read are each outstanding.
OUTSTANDING_QUARANTINE = """(SELECT batch_id, source_file, source_row, raw, reasons, declaration_id,
           item_no FROM (
    SELECT q.*, row_number() OVER (
               PARTITION BY q.declaration_id, q.item_no
               ORDER BY b.finished_at DESC NULLS LAST, q.batch_id DESC, q.source_row DESC) AS _rank
    FROM quarantine q LEFT JOIN ingest_batches b ON b.batch_id = q.batch_id
    WHERE NOT EXISTS (
        SELECT 1 FROM declarations d
        WHERE d.declaration_id = q.declaration_id AND d.item_no = TRY_CAST(q.item_no AS BIGINT))) ranked
    WHERE declaration_id IS NULL OR _rank = 1)"""

# The ingest issues of what is stored: rejections of outstanding quarantined rows, and
# warnings (or notes) of stored rows; issues of rows later stored or skipped as copies drop out.
def stored_issues_sql(outstanding: str) -> str:
    """:data:`STORED_ISSUES` reading the outstanding quarantine from ``outstanding``."""
    return f"""(SELECT i.* FROM ingest_issues i
    WHERE CASE WHEN {SEVERITY_SQL} = 'error'
          THEN EXISTS (SELECT 1 FROM {outstanding} o
                       WHERE o.batch_id = i.batch_id
                         AND o.source_row IS NOT DISTINCT FROM i.source_row)
          ELSE EXISTS (SELECT 1 FROM declarations d
                       WHERE d.batch_id = i.batch_id AND d.source_row = i.source_row) END)"""


STORED_ISSUES = stored_issues_sql(OUTSTANDING_QUARANTINE)


class Scope:
    """A SQL condition restricting a table to the batch (or everything) with its parameters.

    ``quarantine`` and ``issues`` name what the metrics read: for one batch, that batch's
    quarantine and issues as ingest recorded them; for the whole workspace, only what concerns
    what is stored now (:data:`OUTSTANDING_QUARANTINE`, :data:`STORED_ISSUES`), so a row
    rejected by one file and stored from a fixed one is not counted against the data twice.
    """

    def __init__(self, batch_id: str | None, alias: str = "") -> None:
        self.batch_id = batch_id
        prefix = f"{alias}." if alias else ""
        self.sql = f"{prefix}batch_id = ?" if batch_id is not None else "TRUE"
        self.params: list[Any] = [batch_id] if batch_id is not None else []
        self.quarantine = "quarantine" if batch_id is not None else OUTSTANDING_QUARANTINE
        self.issues = "ingest_issues" if batch_id is not None else STORED_ISSUES


def materialise(con: Connection, scope: Scope) -> list[str]:
    """For the whole workspace, compute the outstanding quarantine and the stored issues once
    into temporary tables that ``scope`` then reads; returns the tables to drop afterwards."""
    if scope.batch_id is not None:
        return []
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _quality_outstanding AS SELECT * FROM {OUTSTANDING_QUARANTINE}"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _quality_stored_issues AS "
        f"SELECT * FROM {stored_issues_sql('_quality_outstanding')}"
    )
    scope.quarantine, scope.issues = "_quality_outstanding", "_quality_stored_issues"
    return ["_quality_outstanding", "_quality_stored_issues"]


def scalar(con: Connection, sql: str, params: list[Any]) -> int:
    """The first column of the first row as an int (0 when NULL)."""
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
