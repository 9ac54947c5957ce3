"""Outcome use cases: record inspection outcomes (labels for retraining) and measure selection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from clearlane.cases import read_outcomes, validate_outcomes
from clearlane.errors import NotFoundError
from clearlane.evaluate.performance import (
    PerformanceReport,
    drift,
    performance_by,
    performance_over_time,
    random_sample_estimate,
    with_intervals,
)
from clearlane.services import audit
from clearlane.store.workspace import Workspace


@dataclass(frozen=True)
class RecordResult:
    recorded: int
    replaced: int
    linked: int
    frauds: int


def record_outcomes(workspace: Workspace,
                    outcomes: pl.DataFrame | list[dict[str, Any]] | Path | str,
                    source: str = "<input>", *, offices: frozenset[str] | None = None,
                    first_row: int = 2) -> RecordResult:
    """Validate and store outcomes, linked to the latest selection that put each item in a
    non-green lane; copy them onto the declarations (``inspected``, ``fraud``, …) so that the
    next `clearlane train` learns from them. Recording an item again replaces its outcome.

    ``offices`` (None: all) limits the declarations an outcome may name: one of another office
    is refused exactly as one not in the workspace. ``first_row`` numbers the rows of
    ``outcomes`` in problems (see :func:`~clearlane.cases.validate_outcomes`)."""
    frame = (read_outcomes(outcomes) if isinstance(outcomes, str | Path)
             else validate_outcomes(outcomes, source=source, first_row=first_row))
    scope = ""
    scope_params: list[Any] = []
    if offices is not None:
        scope = (f" AND d.office_id IN ({', '.join('?' for _ in offices)})" if offices
                 else " AND FALSE")
        scope_params = sorted(offices)
    now = datetime.now(UTC).replace(tzinfo=None)
    with workspace.transaction() as con:
        con.register("incoming", frame.to_arrow())
        missing = con.execute(
            "SELECT i.declaration_id, i.item_no FROM incoming i ANTI JOIN declarations d "
            "ON d.declaration_id = i.declaration_id AND d.item_no = i.item_no" + scope
            + " LIMIT 5", scope_params).fetchall()
        if missing:
            shown = ", ".join(f"{d} item {n}" for d, n in missing)
            raise NotFoundError(f"outcomes for declarations not in the workspace: {shown}; "
                                "ingest the declarations first")
        replaced_row = con.execute(
            "SELECT count(*) FROM outcomes o SEMI JOIN incoming i "
            "ON o.declaration_id = i.declaration_id AND o.item_no = i.item_no").fetchall()
        replaced = int(replaced_row[0][0]) if replaced_row else 0
        con.execute("DELETE FROM outcomes WHERE (declaration_id, item_no) IN "
                    "(SELECT declaration_id, item_no FROM incoming)")
        con.execute(
            """INSERT INTO outcomes
               SELECT i.declaration_id, i.item_no, l.selection_id, l.lane, l.basis, i.fraud,
                      i.revenue_recovered, i.critical, i.finding, i.inspected_at, i.officer_id, ?
               FROM incoming i LEFT JOIN (
                   SELECT ld.declaration_id, ld.item_no, ld.selection_id, ld.lane, ld.basis,
                          row_number() OVER (PARTITION BY ld.declaration_id, ld.item_no
                                             ORDER BY s.created_at DESC) AS k
                   FROM lane_decisions ld JOIN selections s USING (selection_id)
                   WHERE ld.lane <> 'green' OR ld.random_control
               ) l ON l.declaration_id = i.declaration_id AND l.item_no = i.item_no AND l.k = 1""",
            [now])
        con.execute(
            """UPDATE declarations AS d SET inspected = TRUE, fraud = i.fraud,
                   revenue_recovered = coalesce(i.revenue_recovered, 0.0), critical = i.critical,
                   finding = i.finding, inspected_at = i.inspected_at, officer_id = i.officer_id
               FROM incoming i
               WHERE d.declaration_id = i.declaration_id AND d.item_no = i.item_no""")
        # why each item was inspected, from the selection that caused it (`random` marks the
        # random control sample, which valuation totals use as their unbiased anchor)
        con.execute(
            """UPDATE declarations AS d SET inspection_basis = o.basis
               FROM outcomes o SEMI JOIN incoming i
                   ON o.declaration_id = i.declaration_id AND o.item_no = i.item_no
               WHERE d.declaration_id = o.declaration_id AND d.item_no = o.item_no""")
        linked_row = con.execute(
            "SELECT count(*) FROM outcomes o SEMI JOIN incoming i ON o.declaration_id = "
            "i.declaration_id AND o.item_no = i.item_no WHERE o.selection_id IS NOT NULL"
        ).fetchall()
        con.unregister("incoming")
        audit.record(con, action="outcome.record", object_type="outcomes", object_id=source,
                     change={"rows": frame.height, "replaced": replaced})
    return RecordResult(recorded=frame.height, replaced=replaced,
                        linked=int(linked_row[0][0]) if linked_row else 0,
                        frauds=int(frame["fraud"].sum() or 0))


def list_outcomes(workspace: Workspace, limit: int = 50) -> pl.DataFrame:
    """The most recently recorded outcomes, newest first."""
    return workspace.query(
        "SELECT declaration_id, item_no, fraud, revenue_recovered, lane, basis, selection_id, "
        "officer_id, inspected_at, recorded_at FROM outcomes ORDER BY recorded_at DESC, "
        "declaration_id, item_no LIMIT ?", [limit])


def performance_report(workspace: Workspace, *, every: str = "1mo",
                       selection_id: str | None = None) -> PerformanceReport:
    """Hit rate and revenue by lane and by reason, the random-sample fraud rate, and drift.

    Each lane decision is matched with the outcome recorded against that selection; the lane
    is the officer's override where one exists."""
    where = "WHERE d.selection_id = ?" if selection_id else ""
    params = [selection_id] if selection_id else []
    decisions = workspace.query(
        f"""SELECT d.selection_id, d.declaration_id, d.item_no, d.declared_at,
                   coalesce(ov.to_lane, d.lane) AS lane, d.basis, d.random_control, d.explored,
                   d.fraud_probability, d.expected_revenue, d.anomaly_score,
                   o.fraud, o.revenue_recovered
            FROM lane_decisions d
            LEFT JOIN outcomes o ON o.declaration_id = d.declaration_id
                 AND o.item_no = d.item_no AND o.selection_id = d.selection_id
            LEFT JOIN (SELECT selection_id, declaration_id, arg_max(to_lane, overridden_at)
                              AS to_lane FROM lane_overrides GROUP BY ALL) ov
                 ON ov.selection_id = d.selection_id AND ov.declaration_id = d.declaration_id
            {where}""", params)
    if decisions.height == 0:
        raise NotFoundError("no lane decisions to measure; run `clearlane select` first")
    counts = workspace.query(
        "SELECT (SELECT count(*) FROM selections), (SELECT count(*) FROM lane_overrides)")
    declarations = workspace.declarations(columns=["declared_at", "customs_value", "tax_rate",
                                                   "net_mass_kg"])
    feature_drift = drift(declarations, ["customs_value", "tax_rate", "net_mass_kg"], every)
    score_drift = drift(decisions, ["fraud_probability", "expected_revenue", "anomaly_score"],
                        every)
    drift_table = feature_drift.join(score_drift.drop("rows"), on="period", how="full",
                                     coalesce=True).sort("period")
    notes = []
    estimate = random_sample_estimate(decisions)
    if estimate.n < 30:
        notes.append(f"only {estimate.n} random control items have an outcome: the fraud-rate "
                     "interval is wide")
    return PerformanceReport(
        by_lane=with_intervals(performance_by(decisions, "lane")),
        by_basis=with_intervals(performance_by(decisions, "basis")),
        fraud_rate=estimate, drift=drift_table, selections=int(counts.item(0, 0)),
        overrides=int(counts.item(0, 1)), notes=tuple(notes),
        over_time=performance_over_time(decisions, every))
