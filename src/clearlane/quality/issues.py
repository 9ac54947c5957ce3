"""Top issues: ingest issues grouped by reason, plus the findings of the other checks."""

from __future__ import annotations

from clearlane.quality.report import (
    DuplicateSummary,
    IssueExample,
    IssueSummary,
    RangeCheckResult,
    Severity,
    UnitValueSummary,
)
from clearlane.quality.sql import SEVERITY_SQL, Scope
from clearlane.store.connection import Connection


def ingest_issue_summaries(
    con: Connection, scope: Scope, examples: int, top: int
) -> list[IssueSummary]:
    """Ingest issues grouped by severity, field and reason (numbers in reasons ignored)."""
    key = r"regexp_replace(reason, '[0-9]+', '#', 'g')"
    groups = con.execute(
        f"""SELECT {SEVERITY_SQL} AS sev, field, {key} AS reason_key, count(*) AS n,
                   mode(reason) AS reason, count(DISTINCT reason) AS variants
            FROM {scope.issues} WHERE {scope.sql}
            GROUP BY ALL ORDER BY n DESC, reason_key LIMIT {int(top)}""",
        scope.params,
    ).fetchall()
    out: list[IssueSummary] = []
    for severity, field, reason_key, n, reason, variants in groups:
        field_sql = "field IS NULL" if field is None else "field = ?"
        params = [*scope.params, *([] if field is None else [field]), reason_key, reason]
        # Examples of the most common wording first, so the label and examples agree.
        found = con.execute(
            f"""SELECT batch_id, source_file, source_row, value, reason FROM {scope.issues}
                WHERE {scope.sql} AND {SEVERITY_SQL} = '{severity}' AND {field_sql}
                      AND {key} = ?
                ORDER BY reason IS DISTINCT FROM ?, batch_id, source_row
                LIMIT {int(examples)}""",
            params,
        ).fetchall()
        label = str(reason) + (f" (and {int(variants) - 1} similar)" if variants > 1 else "")
        out.append(
            IssueSummary(
                source="ingest", severity=_severity(severity), field=field, reason=label,
                count=int(n),
                examples=tuple(
                    IssueExample(
                        batch_id=r[0], source_file=r[1], row=None if r[2] is None else int(r[2]),
                        field=field, value=r[3], reason=str(r[4]),
                    )
                    for r in found
                ),
            )
        )
    # Quarantined rows whose reasons were not itemised as issues (older or external batches).
    orphan_sql = f"""
        FROM {scope.quarantine} q WHERE {Scope(scope.batch_id, "q").sql} AND NOT EXISTS (
            SELECT 1 FROM ingest_issues i WHERE i.batch_id = q.batch_id
              AND i.source_row IS NOT DISTINCT FROM q.source_row AND {SEVERITY_SQL} = 'error')"""
    for reasons, n in con.execute(
        f"SELECT reasons, count(*) AS n {orphan_sql} GROUP BY reasons ORDER BY n DESC, reasons "
        f"LIMIT {int(top)}",
        scope.params,
    ).fetchall():
        found = con.execute(
            f"SELECT batch_id, source_file, source_row, raw {orphan_sql} AND reasons = ? "
            f"ORDER BY batch_id, source_row LIMIT {int(examples)}",
            [*scope.params, reasons],
        ).fetchall()
        out.append(
            IssueSummary(
                source="ingest", severity="error", field=None, reason=f"rejected: {reasons}",
                count=int(n),
                examples=tuple(
                    IssueExample(
                        batch_id=r[0], source_file=r[1], row=None if r[2] is None else int(r[2]),
                        field=None, value=r[3], reason=str(reasons),
                    )
                    for r in found
                ),
            )
        )
    return out


def derived_issue_summaries(
    ranges: list[RangeCheckResult], duplicates: DuplicateSummary, unit_values: UnitValueSummary
) -> list[IssueSummary]:
    out = [
        IssueSummary("range", r.severity, r.field, r.description, r.violations, r.examples)
        for r in ranges
        if r.violations
    ]
    if duplicates.conflicts:
        out.append(
            IssueSummary(
                "duplicate", "warning", "declaration_id",
                "declaration id and item seen again with different content (not overwritten)",
                duplicates.conflicts, duplicates.conflict_examples,
            )
        )
    if duplicates.key_repeated:
        out.append(
            IssueSummary(
                "duplicate", "error", "declaration_id",
                "declaration id and item stored more than once (store integrity)",
                duplicates.key_repeated, (),
            )
        )
    if duplicates.suspected_rows:
        out.append(
            IssueSummary(
                "duplicate", "info", "declaration_id",
                "suspected double submission under a different declaration id",
                duplicates.suspected_rows, duplicates.suspected_examples,
            )
        )
    for direction, count, sign in (
        ("low", unit_values.outliers_low, -1),
        ("high", unit_values.outliers_high, 1),
    ):
        if not count:
            continue
        found = tuple(
            IssueExample(
                batch_id=o.batch_id, source_file=None, row=o.source_row, field="customs_value",
                value=f"{o.unit_value:,.4g}/kg (HS6 {o.hs6} median {o.median_unit_value:,.4g}/kg)",
                reason=f"robust z = {o.robust_z:+.1f}",
                declaration_id=o.declaration_id, item_no=o.item_no,
            )
            for o in unit_values.top_outliers
            if o.robust_z * sign > 0
        )[:3]
        out.append(
            IssueSummary(
                "unit_value", "info", "customs_value",
                f"unit value unusually {direction} for its HS6 (|robust z| > "
                f"{unit_values.threshold:g})",
                count, found,
            )
        )
    return out


def _severity(value: str) -> Severity:
    if value == "error":
        return "error"
    return "info" if value == "info" else "warning"
