"""Use cases: list the ingest batches of a workspace, show one, and drop one.

Dropping a batch removes what its ingest wrote (its stored rows, quarantine, issues,
normalisations, conflicts and duplicate counts, and its batch record) in one transaction, so
the workspace is as it was before that ingest; the drop itself is logged in ``batch_drops``.
It is refused when something else relies on the batch's rows:

* risk assessments, lane decisions (with their rule hits and overrides) or inspection outcomes
  of its declarations: ``cascade=True`` removes those too and reports what it removed;
* a later batch whose rows met this batch's rows (skipped as exact copies, or recorded as
  conflicts against them): dropping would lose those rows, so the later batch must be dropped
  first (then its file ingested again). Batches ingested before schema 17 did not record which
  batch their duplicates met; for them only conflicts are known.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from clearlane.errors import ConflictError, NotFoundError
from clearlane.quality.compute import resolve_batch
from clearlane.quality.sql import SEVERITY_SQL, scalar
from clearlane.services import audit
from clearlane.store.connection import Connection
from clearlane.store.workspace import Workspace

BATCH_COLUMNS = (
    "batch_id",
    "source_file",
    "profile_name",
    "finished_at",
    "rows_read",
    "rows_accepted",
    "rows_rejected",
    "rows_conflict",
    "rows_duplicate",
    "rows_warned",
)

# Tables whose rows are about one declaration item, keyed (declaration_id, item_no).
_ITEM_DEPENDENTS = ("risk_assessments", "lane_decisions", "rule_hits", "outcomes", "lodgements",
                    "alerts")
# Case records hang off an alert (their files stay: attachments are stored once per content).
_CASE_TABLES = ("case_events", "case_attachments")
# The keys of a batch's declaration items (one parameter: the batch id).
_BATCH_KEYS = "SELECT declaration_id, item_no FROM declarations WHERE batch_id = ?"
# What ingest wrote for a batch, by batch_id (the batch record last).
_BATCH_TABLES = (
    "declarations",
    "quarantine",
    "ingest_issues",
    "conflicts",
    "normalisations",
    "ingest_duplicates",
    "ingest_batch_currency",
    "ingest_batches",
)


@dataclass(frozen=True)
class ReliantBatch:
    """A later batch whose rows met rows of the batch: duplicates skipped, conflicts recorded."""

    batch_id: str
    source_file: str | None
    duplicates: int
    conflicts: int


@dataclass(frozen=True)
class BatchDetails:
    """One batch: its record, what it holds now, its quarantine reasons and who relies on it."""

    batch_id: str
    record: dict[str, Any]
    stored_rows: int
    quarantined_rows: int
    conflicts: int
    reasons: tuple[tuple[str, str, int], ...]  # (field, reason, rows), most frequent first
    dependents: dict[str, int]  # table -> rows about this batch's declarations
    reliant: tuple[ReliantBatch, ...]


@dataclass(frozen=True)
class DropReport:
    """What a drop removed, table by table (``cascaded``: dependents removed by --cascade)."""

    batch_id: str
    source_file: str | None
    removed: dict[str, int]
    cascaded: dict[str, int] = field(default_factory=dict)
    dropped_at: datetime | None = None
    dropped_by: str = ""


def list_batches(workspace: Workspace) -> pl.DataFrame:
    """The ingest batches, oldest first, with their row counts as ingest recorded them."""
    return workspace.query(
        f"SELECT {', '.join(BATCH_COLUMNS)} FROM ingest_batches "
        "ORDER BY finished_at NULLS LAST, batch_id"
    )


def dropped_batches(workspace: Workspace) -> pl.DataFrame:
    """The log of dropped batches, newest first."""
    return workspace.query("SELECT * FROM batch_drops ORDER BY dropped_at DESC")


def batch_details(workspace: Workspace, batch: str) -> BatchDetails:
    """Details of one batch (an id, a unique prefix or ``latest``)."""
    with workspace.connect() as con:
        batch_id = _resolve(con, batch)
        record = _record(con, batch_id)
        reasons = con.execute(
            f"""SELECT coalesce(field, ''), reason, count(DISTINCT source_row) AS n
                FROM ingest_issues WHERE batch_id = ? AND {SEVERITY_SQL} = 'error'
                GROUP BY ALL ORDER BY n DESC, 1, 2""",
            [batch_id],
        ).fetchall()
        return BatchDetails(
            batch_id=batch_id,
            record=record,
            stored_rows=scalar(con, "SELECT count(*) FROM declarations WHERE batch_id = ?", [batch_id]),
            quarantined_rows=scalar(
                con, "SELECT count(*) FROM quarantine WHERE batch_id = ?", [batch_id]
            ),
            conflicts=scalar(con, "SELECT count(*) FROM conflicts WHERE batch_id = ?", [batch_id]),
            reasons=tuple((str(f), str(r), int(n)) for f, r, n in reasons),
            dependents=_dependents(con, batch_id),
            reliant=_reliant(con, batch_id),
        )


def drop_batch(
    workspace: Workspace,
    batch: str,
    *,
    cascade: bool = False,
    by: str | None = None,
    reason: str | None = None,
) -> DropReport:
    """Remove everything ingest wrote for ``batch``, in one transaction (see module docstring).

    Raises :class:`ConflictError` when later batches met its rows, or when assessments, lane
    decisions or outcomes concern its declarations and ``cascade`` is false.
    """
    by = by or _user()
    with workspace.transaction() as con:
        batch_id = _resolve(con, batch)
        record = _record(con, batch_id)
        reliant = _reliant(con, batch_id)
        if reliant:
            listed = "; ".join(
                f"{r.batch_id} ({r.source_file or '?'}): "
                + ", ".join(
                    part
                    for part in (
                        f"{r.duplicates:,} rows skipped as copies of its rows" if r.duplicates else "",
                        f"{r.conflicts:,} conflicts with its rows" if r.conflicts else "",
                    )
                    if part
                )
                for r in reliant
            )
            raise ConflictError(
                f"batch {batch_id} cannot be dropped: later batches met its rows, and dropping "
                f"it would lose theirs: {listed}. Drop those batches first (newest first), "
                "then ingest their files again after this drop."
            )
        dependents = _dependents(con, batch_id)
        if any(dependents.values()) and not cascade:
            found = ", ".join(f"{n:,} {table}" for table, n in dependents.items() if n)
            raise ConflictError(
                f"batch {batch_id} cannot be dropped: its declarations have {found}. "
                "Use --cascade to remove those too, or keep the batch."
            )
        cascaded = _remove_dependents(con, batch_id, dependents) if cascade else {}
        # a DELETE returns the number of rows it removed
        removed = {
            table: scalar(con, f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
            for table in _BATCH_TABLES
        }
        now = datetime.now(UTC)
        con.execute(
            """INSERT INTO batch_drops (batch_id, source_file, file_sha256, profile_name,
                   ingested_at, rows_accepted, dropped_at, dropped_by, reason, removed)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                batch_id,
                record.get("source_file"),
                record.get("file_sha256"),
                record.get("profile_name"),
                record.get("finished_at"),
                removed["declarations"],
                now,
                by,
                reason,
                json.dumps({"removed": removed, "cascaded": cascaded}, sort_keys=True),
            ],
        )
        audit.record(con, action="batch.drop", object_type="batch", object_id=batch_id,
                     change={"by": by, "reason": reason, "removed": removed,
                             "cascaded": cascaded})
    return DropReport(
        batch_id=batch_id,
        source_file=record.get("source_file"),
        removed=removed,
        cascaded=cascaded,
        dropped_at=now,
        dropped_by=by,
    )


# -- pieces -----------------------------------------------------------------------------------
def _resolve(con: Connection, batch: str) -> str:
    batch_id = resolve_batch(con, batch)
    if batch_id is None:  # pragma: no cover - resolve_batch returns None only for None
        raise NotFoundError("no batch given")
    return batch_id


def _record(con: Connection, batch_id: str) -> dict[str, Any]:
    cursor = con.execute("SELECT * FROM ingest_batches WHERE batch_id = ?", [batch_id])
    row = cursor.fetchone()
    if row is None:  # rows stored without a batch record (written by a tool, not ingest)
        return {"batch_id": batch_id}
    names = [d[0] for d in cursor.description or []]
    return dict(zip(names, row, strict=True))


def _dependents(con: Connection, batch_id: str) -> dict[str, int]:
    """Rows of other tables about the batch's declaration items (and declarations)."""
    found = {
        table: scalar(
            con,
            f"SELECT count(*) FROM {table} WHERE (declaration_id, item_no) IN ({_BATCH_KEYS})",
            [batch_id],
        )
        for table in _ITEM_DEPENDENTS
    }
    found["lane_overrides"] = scalar(
        con,
        "SELECT count(*) FROM lane_overrides WHERE declaration_id IN "
        "(SELECT declaration_id FROM declarations WHERE batch_id = ?)",
        [batch_id],
    )
    return found


def _remove_dependents(
    con: Connection, batch_id: str, dependents: dict[str, int]
) -> dict[str, int]:
    """Delete the dependents of the batch's rows (``dependents``: their counts, from
    :func:`_dependents`); selections left without a lane too."""
    removed = dict(dependents)
    for table in _CASE_TABLES:
        removed[table] = scalar(
            con,
            f"DELETE FROM {table} WHERE alert_id IN (SELECT alert_id FROM alerts WHERE "
            f"(declaration_id, item_no) IN ({_BATCH_KEYS}))",
            [batch_id],
        )
    for table in _ITEM_DEPENDENTS:
        con.execute(
            f"DELETE FROM {table} WHERE (declaration_id, item_no) IN ({_BATCH_KEYS})", [batch_id]
        )
    con.execute(
        "DELETE FROM lane_overrides WHERE declaration_id IN "
        "(SELECT declaration_id FROM declarations WHERE batch_id = ?)",
        [batch_id],
    )
    removed["selections"] = scalar(
        con,
        "DELETE FROM selections WHERE selection_id NOT IN "
        "(SELECT DISTINCT selection_id FROM lane_decisions)",
        [],
    )
    return removed


def _reliant(con: Connection, batch_id: str) -> tuple[ReliantBatch, ...]:
    rows = con.execute(
        """WITH met AS (
               SELECT batch_id, sum(rows) AS duplicates, 0 AS conflicts FROM ingest_duplicates
               WHERE existing_batch_id = ? AND batch_id <> ? GROUP BY batch_id
               UNION ALL
               SELECT batch_id, 0, count(*) FROM conflicts
               WHERE existing_batch_id = ? AND batch_id <> ? GROUP BY batch_id)
           SELECT m.batch_id, any_value(b.source_file), sum(m.duplicates), sum(m.conflicts)
           FROM met m LEFT JOIN ingest_batches b USING (batch_id)
           GROUP BY m.batch_id ORDER BY m.batch_id""",
        [batch_id, batch_id, batch_id, batch_id],
    ).fetchall()
    return tuple(
        ReliantBatch(str(b), None if f is None else str(f), int(d), int(c)) for b, f, d, c in rows
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return "unknown"
