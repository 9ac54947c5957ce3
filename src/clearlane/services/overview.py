"""The head of unit's overview: volumes, lanes, inspections, hit rates, revenue recovered and
how long cases take, per month and in total, for a date window and (optionally) one office.

Lanes are each item's latest lane (after any officer override); inspections and frauds are
the recorded outcomes; clearance-time proxies are what the workspace records: days from
declaration to inspection for inspected items, and hours from an alert's opening to its
closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from clearlane.services.declarations import DeclarationQuery, declaration_filters
from clearlane.store.workspace import Workspace

MONTHLY_COLUMNS = ("period", "declarations", "customs_value", "red", "yellow", "blue",
                   "green", "inspected", "frauds", "hit_rate", "revenue_recovered")


@dataclass(frozen=True)
class Overview:
    """``monthly``: one row per month (:data:`MONTHLY_COLUMNS`); ``totals``: the same over
    the window; ``days_to_inspection`` / ``hours_to_close``: medians (None when nothing to
    measure) and the counts they rest on."""

    date_from: date | None
    date_to: date | None
    office: str | None
    monthly: pl.DataFrame
    totals: dict[str, Any]
    days_to_inspection: float | None
    inspections_timed: int
    hours_to_close: float | None
    cases_closed: int


def unit_overview(workspace: Workspace, *, date_from: date | None = None,
                  date_to: date | None = None, office: str | None = None) -> Overview:
    """The overview of the window [``date_from``, ``date_to``] (inclusive), all offices or
    one."""
    parts, params = declaration_filters(
        DeclarationQuery(date_from=date_from, date_to=date_to, office_id=office), None)
    where = " AND ".join(parts) or "TRUE"  # on the declarations' own columns
    monthly = workspace.query(
        f"""WITH lanes AS (
                SELECT ld.declaration_id, ld.item_no,
                       arg_max(coalesce(ov.to_lane, ld.lane), s.created_at) AS lane
                FROM lane_decisions ld JOIN selections s USING (selection_id)
                LEFT JOIN (SELECT selection_id, declaration_id,
                                  arg_max(to_lane, overridden_at) AS to_lane
                           FROM lane_overrides GROUP BY ALL) ov
                     ON ov.selection_id = ld.selection_id
                    AND ov.declaration_id = ld.declaration_id
                GROUP BY ALL)
            SELECT date_trunc('month', d.declared_at)::DATE AS period,
                   count(*) AS declarations, sum(d.customs_value) AS customs_value,
                   count(*) FILTER (l.lane = 'red') AS red,
                   count(*) FILTER (l.lane = 'yellow') AS yellow,
                   count(*) FILTER (l.lane = 'blue') AS blue,
                   count(*) FILTER (l.lane = 'green') AS green,
                   count(*) FILTER (d.inspected) AS inspected,
                   count(*) FILTER (d.inspected AND d.fraud) AS frauds,
                   sum(d.revenue_recovered) FILTER (d.inspected AND d.fraud) AS revenue_recovered
            FROM declarations d LEFT JOIN lanes l USING (declaration_id, item_no)
            WHERE {where}
            GROUP BY ALL ORDER BY period""", params)
    monthly = monthly.with_columns(
        pl.when(pl.col("inspected") > 0).then(pl.col("frauds") / pl.col("inspected"))
        .otherwise(None).alias("hit_rate"),
        pl.col("revenue_recovered").fill_null(0.0),
    ).select(MONTHLY_COLUMNS)
    sums: dict[str, Any] = {c: monthly[c].sum() for c in MONTHLY_COLUMNS
                            if c not in ("period", "hit_rate")}
    sums["hit_rate"] = (int(sums["frauds"]) / int(sums["inspected"]) if sums["inspected"]
                        else None)
    timed = workspace.query(
        f"""SELECT median(date_diff('day', d.declared_at, d.inspected_at)) AS days, count(*) AS n
            FROM declarations d
            WHERE {where} AND d.inspected AND d.inspected_at IS NOT NULL
              AND d.inspected_at >= d.declared_at""", params).row(0, named=True)
    closed = workspace.query(
        f"""SELECT median(date_diff('minute', a.opened_at, a.closed_at)) / 60.0 AS hours,
                   count(*) AS n
            FROM alerts a JOIN (SELECT declaration_id, item_no FROM declarations
                                WHERE {where}) d USING (declaration_id, item_no)
            WHERE a.status = 'closed' AND a.closed_at IS NOT NULL""",
        params).row(0, named=True)
    return Overview(date_from, date_to, office, monthly, sums,
                    None if timed["days"] is None else float(timed["days"]), int(timed["n"]),
                    None if closed["hours"] is None else float(closed["hours"]),
                    int(closed["n"]))
