"""Compute the data-quality report from the workspace database, in SQL.

Nothing is loaded into Python row by row: every metric is an aggregate query over the
``declarations``, ``quarantine``, ``ingest_issues``, ``conflicts``, ``normalisations`` and
``ingest_batches`` tables, so the report scales to millions of declaration items.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from clearlane.errors import NotFoundError
from clearlane.quality.duplicates import duplicate_summary
from clearlane.quality.issues import derived_issue_summaries, ingest_issue_summaries
from clearlane.quality.range_checks import HS_CONVENTION_START, RANGE_CHECKS, render
from clearlane.quality.report import (
    BatchSummary,
    FieldQuality,
    IssueExample,
    MonthlyVolume,
    QualityReport,
    RangeCheckResult,
    RowCounts,
)
from clearlane.quality.score import score_report
from clearlane.quality.sql import SEVERITY_SQL, Scope, materialise, scalar
from clearlane.quality.unit_values import (
    DEFAULT_MIN_CELL_SIZE,
    DEFAULT_THRESHOLD,
    unit_value_summary,
)
from clearlane.schema.fields import DECLARATION_FIELDS
from clearlane.store.connection import Connection

Progress = Callable[[float, float | None], None]

_TEXT_KINDS = {"str", "hs", "country", "currency"}
_SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
_STEPS = 7


def resolve_batch(con: Connection, batch: str | None) -> str | None:
    """The batch id for ``batch``: an exact id, a unique prefix, or ``latest``; None = all."""
    if batch is None:
        return None
    if batch == "latest":
        row = con.execute(
            "SELECT batch_id FROM ingest_batches ORDER BY finished_at DESC NULLS LAST, "
            "started_at DESC NULLS LAST LIMIT 1"
        ).fetchone()
        if row is None:
            raise NotFoundError("no ingest batch in this workspace; ingest a file first")
        return str(row[0])
    known = [
        str(r[0])
        for r in con.execute(
            "SELECT batch_id FROM ingest_batches UNION SELECT DISTINCT batch_id FROM declarations"
        ).fetchall()
    ]
    if batch in known:
        return batch
    matches = [b for b in known if b.startswith(batch)]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(sorted(known)[:10]) or "none"
    what = "matches several batches" if matches else "is not a batch of this workspace"
    raise NotFoundError(f"batch {batch!r} {what}; known batches: {listed} (or use 'latest')")


def compute_quality_report(
    con: Connection,
    batch_id: str | None = None,
    *,
    as_of: date | None = None,
    earliest: date = HS_CONVENTION_START,
    threshold: float = DEFAULT_THRESHOLD,
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE,
    examples: int = 3,
    top_issues: int = 15,
    progress: Progress | None = None,
) -> QualityReport:
    """The data-quality report of the whole workspace, or of one ingest batch.

    ``as_of`` is the report date (default: today, UTC) used by the future-date check.
    ``batch_id`` may be an id, a unique prefix or ``latest``. Unit-value outliers use
    ``threshold`` on the robust z-score and test only HS6 cells with ``min_cell_size`` items.
    """
    as_of = as_of or datetime.now(UTC).date()
    batch_id = resolve_batch(con, batch_id)
    scope = Scope(batch_id)

    def step(done: int) -> None:
        if progress is not None:
            progress(float(done), float(_STEPS))

    step(0)
    temporary = materialise(con, scope)
    try:
        return _report(con, batch_id, scope, as_of, earliest, threshold, min_cell_size,
                       examples, top_issues, step)
    finally:
        for table in temporary:
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _report(
    con: Connection,
    batch_id: str | None,
    scope: Scope,
    as_of: date,
    earliest: date,
    threshold: float,
    min_cell_size: int,
    examples: int,
    top_issues: int,
    step: Callable[[int], None],
) -> QualityReport:
    batches = _batches(con, scope)
    rejected = scalar(con, f"SELECT count(*) FROM {scope.quarantine} WHERE {scope.sql}", scope.params)
    conflicts = scalar(con, f"SELECT count(*) FROM conflicts WHERE {scope.sql}", scope.params)
    accepted = scalar(con, f"SELECT count(*) FROM declarations WHERE {scope.sql}", scope.params)
    read_by_ingest = sum(b.rows_read for b in batches)
    if batch_id is None:
        # the whole workspace is judged on what it holds: stored rows, each outstanding
        # rejected row once, and the warnings of stored rows
        warned_rows = scalar(
            con,
            f"SELECT count(DISTINCT (batch_id, source_row)) FROM {scope.issues} "
            f"WHERE {SEVERITY_SQL} <> 'error'",
            [],
        )
        read = accepted + rejected
    else:
        warned_rows = (
            sum(b.rows_warned for b in batches)
            if batches
            else scalar(
                con,
                f"SELECT count(DISTINCT (batch_id, source_row)) FROM ingest_issues "
                f"WHERE {scope.sql} AND {SEVERITY_SQL} <> 'error'",
                scope.params,
            )
        )
        read = read_by_ingest if batches else accepted + rejected
    rows = RowCounts(
        read=read,
        accepted=accepted,
        rejected=rejected,
        warned=warned_rows,
        duplicate_skipped=sum(b.rows_duplicate for b in batches),
        conflicts=conflicts,
        read_by_ingest=read_by_ingest,
        # one batch counts its whole quarantine as rejected: nothing resolved to count
        resolved=scalar(con, "SELECT count(*) FROM quarantine", []) - rejected
        if batch_id is None
        else 0,
    )
    if batch_id is not None and not batches and accepted == 0 and rejected == 0:
        raise NotFoundError(f"batch {batch_id!r} holds nothing in this workspace")
    step(1)
    fields = _fields(con, scope, rows)
    step(2)
    ranges, rows_out_of_range = _ranges(con, scope, as_of, earliest, examples)
    step(3)
    duplicates = duplicate_summary(con, scope, conflicts, rows.duplicate_skipped, examples)
    step(4)
    unit_values = unit_value_summary(
        con, batch_id, threshold=threshold, min_cell_size=min_cell_size, top=10
    )
    step(5)
    issues = ingest_issue_summaries(con, scope, examples, top_issues)
    issues += derived_issue_summaries(ranges, duplicates, unit_values)
    issues.sort(key=lambda i: (_SEVERITY_RANK[i.severity], -i.count, i.reason))
    step(6)
    dates = con.execute(
        f"SELECT min(declared_at), max(declared_at) FROM declarations WHERE {scope.sql}",
        scope.params,
    ).fetchone()
    months = _monthly_volume(con, scope)
    notes: list[str] = []
    sparse = [m.month.strftime("%Y-%m") for m in months if m.sparse]
    if sparse:
        notes.append(
            f"{len(sparse)} month(s) hold under a quarter of the median month's items "
            f"(a gap in the data?): {', '.join(sparse[:12])}"
        )
    if rows.read == 0:
        notes.append("The scope holds no rows: ingest a file first.")
    if batch_id is not None and not batches and accepted:
        notes.append("No ingest batch is recorded: rows read = accepted + rejected.")
    if rows.resolved:
        notes.append(
            f"{rows.resolved:,} quarantined row(s) are not counted: their key was stored later "
            "(a fixed file) or rejected again by a later file."
        )
    score = score_report(rows, fields, rows_out_of_range, duplicates, unit_values)
    step(7)
    return QualityReport(
        generated_at=datetime.now(UTC),
        as_of=as_of,
        batch_id=batch_id,
        rows=rows,
        batches=tuple(batches),
        fields=tuple(fields),
        duplicates=duplicates,
        ranges=tuple(ranges),
        unit_values=unit_values,
        top_issues=tuple(issues[:top_issues]),
        score=score,
        first_date=_as_date(dates[0]) if dates else None,
        last_date=_as_date(dates[1]) if dates else None,
        months=months,
        notes=tuple(notes),
    )


# -- pieces -----------------------------------------------------------------------------------
def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


SPARSE_MONTH_SHARE = 0.25


def _monthly_volume(
    con: Connection, scope: Scope
) -> tuple[MonthlyVolume, ...]:
    """Items per calendar month, every month between the first and the last (0 included)."""
    found = con.execute(
        f"""WITH counts AS (
                SELECT date_trunc('month', declared_at)::DATE AS month, count(*) AS n
                FROM declarations WHERE {scope.sql} AND declared_at IS NOT NULL GROUP BY 1),
            span AS (
                SELECT unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH))::DATE
                       AS month
                FROM counts)
            SELECT span.month, coalesce(counts.n, 0) FROM span LEFT JOIN counts USING (month)
            ORDER BY 1""",
        scope.params,
    ).fetchall()
    if not found:
        return ()
    counts = sorted(int(n) for _, n in found)
    median = counts[len(counts) // 2] if len(counts) % 2 else (
        (counts[len(counts) // 2 - 1] + counts[len(counts) // 2]) / 2
    )
    last = len(found) - 1
    return tuple(
        MonthlyVolume(
            month=_as_date(m) or date.min,
            rows=int(n),
            sparse=0 < i < last and int(n) < SPARSE_MONTH_SHARE * median,
        )
        for i, (m, n) in enumerate(found)
    )


def _batches(con: Connection, scope: Scope) -> list[BatchSummary]:
    result = con.execute(
        f"""SELECT batch_id, source_file, profile_name, finished_at,
                   coalesce(rows_read, 0), coalesce(rows_accepted, 0), coalesce(rows_rejected, 0),
                   coalesce(rows_duplicate, 0), coalesce(rows_conflict, 0), coalesce(rows_warned, 0)
            FROM ingest_batches WHERE {scope.sql}
            ORDER BY finished_at NULLS LAST, batch_id""",
        scope.params,
    ).fetchall()
    return [
        BatchSummary(
            batch_id=str(r[0]), source_file=str(r[1]), profile_name=r[2], finished_at=r[3],
            rows_read=int(r[4]), rows_accepted=int(r[5]), rows_rejected=int(r[6]),
            rows_duplicate=int(r[7]), rows_conflict=int(r[8]), rows_warned=int(r[9]),
        )
        for r in result
    ]


def _fields(con: Connection, scope: Scope, rows: RowCounts) -> list[FieldQuality]:
    """Completeness (one scan of declarations) and validity (ingest issues) per field."""
    present_exprs = []
    for f in DECLARATION_FIELDS:
        if f.kind in _TEXT_KINDS:
            present_exprs.append(f"count(nullif(trim({f.name}), ''))")
        else:
            present_exprs.append(f"count({f.name})")
    present_row = con.execute(
        f"SELECT {', '.join(present_exprs)} FROM declarations WHERE {scope.sql}", scope.params
    ).fetchone()
    present = [int(v) for v in present_row] if present_row else [0] * len(DECLARATION_FIELDS)
    issue_counts: dict[tuple[str, str], int] = {}
    for field, severity, n in con.execute(
        f"""SELECT coalesce(field, ''), {SEVERITY_SQL} AS sev, count(*) FROM {scope.issues}
            WHERE {scope.sql} GROUP BY ALL""",
        scope.params,
    ).fetchall():
        issue_counts[(str(field), str(severity))] = int(n)
    normalised = {
        str(f): int(n)
        for f, n in con.execute(
            f"SELECT field, sum(rows) FROM normalisations WHERE {scope.sql} GROUP BY field",
            scope.params,
        ).fetchall()
    }
    out: list[FieldQuality] = []
    for f, n_present in zip(DECLARATION_FIELDS, present, strict=True):
        rejected = issue_counts.get((f.name, "error"), 0)
        warned = issue_counts.get((f.name, "warning"), 0)
        out.append(
            FieldQuality(
                name=f.name,
                kind=f.kind,
                required=f.required,
                outcome=f.outcome,
                present=n_present,
                completeness=n_present / rows.accepted if rows.accepted else 0.0,
                rejected=rejected,
                warned=warned,
                validity=max(0.0, 1.0 - (rejected + warned) / rows.read) if rows.read else 1.0,
                normalised=normalised.get(f.name, 0),
            )
        )
    return out


def _example_rows(
    con: Connection, sql: str, params: list[Any], field: str | None, reason: str
) -> tuple[IssueExample, ...]:
    """Examples from a query returning (declaration_id, item_no, batch_id, source_row, value)."""
    found = con.execute(
        f"""SELECT e.*, b.source_file FROM ({sql}) e
            LEFT JOIN ingest_batches b ON b.batch_id = e.batch_id
            ORDER BY e.batch_id, e.source_row, e.declaration_id, e.item_no""",
        params,
    ).fetchall()
    return tuple(
        IssueExample(
            batch_id=r[2], source_file=r[5], row=None if r[3] is None else int(r[3]),
            field=field, value=None if r[4] is None else str(r[4]), reason=reason,
            declaration_id=None if r[0] is None else str(r[0]),
            item_no=None if r[1] is None else int(r[1]),
        )
        for r in found
    )


def _ranges(
    con: Connection, scope: Scope, as_of: date, earliest: date, examples: int
) -> tuple[list[RangeCheckResult], int]:
    """Every range check in one scan; examples only for the checks that found something."""
    predicates = [render(c, as_of, earliest) for c in RANGE_CHECKS]
    counts = []
    for check, predicate in zip(RANGE_CHECKS, predicates, strict=True):
        counts.append(f"count(*) FILTER (WHERE coalesce({check.applies}, false))")
        counts.append(f"count(*) FILTER (WHERE {predicate})")
    any_violation = " OR ".join(
        p for c, p in zip(RANGE_CHECKS, predicates, strict=True) if c.severity != "info"
    )
    row = con.execute(
        f"SELECT {', '.join(counts)}, count(*) FILTER (WHERE {any_violation}) "
        f"FROM declarations WHERE {scope.sql}",
        scope.params,
    ).fetchone()
    assert row is not None
    results: list[RangeCheckResult] = []
    for i, (check, predicate) in enumerate(zip(RANGE_CHECKS, predicates, strict=True)):
        applicable, violations = int(row[2 * i]), int(row[2 * i + 1])
        found: tuple[IssueExample, ...] = ()
        if violations:
            found = _example_rows(
                con,
                f"""SELECT declaration_id, item_no, batch_id, source_row, {check.value} AS value
                    FROM declarations WHERE {scope.sql} AND {predicate}
                    ORDER BY batch_id, source_row, declaration_id, item_no LIMIT {int(examples)}""",
                scope.params,
                check.field,
                check.description,
            )
        results.append(
            RangeCheckResult(
                code=check.code, field=check.field, description=check.description,
                severity=check.severity, applicable=applicable, violations=violations,
                share=violations / applicable if applicable else 0.0, examples=found,
            )
        )
    return results, int(row[-1])


