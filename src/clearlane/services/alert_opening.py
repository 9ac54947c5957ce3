"""Opening alerts: which declaration items need an officer, found from the stored lanes.

An item needs an alert when the latest selection that covered it put it in red or yellow (after
any officer override), when a high- or critical-severity rule hit it there, or when it was
answered red or yellow at lodgement or a high- or critical-severity rule hit it at lodgement.
Each item is alerted once (the alert id is derived from its key), so running this again opens
only what is new. A lodgement opens its own alerts in the transaction that stores its answers
(:func:`open_lodged_alerts`), so the queue shows them as soon as the answer is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from clearlane.cases.alerts import ALERT_RULE_SEVERITIES, alert_id_for
from clearlane.services import audit
from clearlane.store.workspace import Workspace


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_CANDIDATES = f"""
WITH latest AS (
    SELECT ld.declaration_id, ld.item_no, ld.office_id, ld.selection_id, ld.reasons,
           ld.expected_revenue, ld.fraud_probability, coalesce(ov.to_lane, ld.lane) AS lane,
           row_number() OVER (PARTITION BY ld.declaration_id, ld.item_no
                              ORDER BY s.created_at DESC, ld.selection_id DESC) AS k
    FROM lane_decisions ld JOIN selections s USING (selection_id)
    LEFT JOIN (SELECT selection_id, declaration_id, arg_max(to_lane, overridden_at) AS to_lane
               FROM lane_overrides GROUP BY ALL) ov
         ON ov.selection_id = ld.selection_id AND ov.declaration_id = ld.declaration_id
), severe AS (
    SELECT DISTINCT h.selection_id, h.declaration_id, h.item_no
    FROM rule_hits h JOIN rule_versions v ON v.rule_id = h.rule_id AND v.version = h.rule_version
    WHERE json_extract_string(v.definition, '$.severity') IN
          ({", ".join(f"'{s}'" for s in sorted(ALERT_RULE_SEVERITIES))})
), found AS (
    SELECT l.declaration_id, l.item_no, l.office_id, l.lane,
           CASE WHEN l.lane IN ('red', 'yellow') THEN 'selection' ELSE 'rule' END AS source,
           l.selection_id AS source_id, coalesce(l.reasons, '[]') AS reasons,
           l.expected_revenue, l.fraud_probability, 0 AS preference
    FROM latest l LEFT JOIN severe sv ON sv.selection_id = l.selection_id
         AND sv.declaration_id = l.declaration_id AND sv.item_no = l.item_no
    WHERE l.k = 1 AND (l.lane IN ('red', 'yellow') OR sv.declaration_id IS NOT NULL)
    UNION ALL
    SELECT g.declaration_id, g.item_no, d.office_id, g.lane, 'lodgement', g.batch_id,
           coalesce(json_extract(g.assessment, '$.reasons')::VARCHAR, '[]'),
           TRY_CAST(json_extract_string(g.assessment, '$.expected_revenue') AS DOUBLE),
           TRY_CAST(json_extract_string(g.assessment, '$.fraud_probability') AS DOUBLE), 1
    FROM lodgements g LEFT JOIN declarations d
         ON d.declaration_id = g.declaration_id AND d.item_no = g.item_no
    WHERE g.lane IN ('red', 'yellow')
       OR list_has_any(json_extract_string(g.assessment, '$.scorers[*].reasons[*].evidence.severity'),
                       [{", ".join(f"'{s}'" for s in sorted(ALERT_RULE_SEVERITIES))}])
)
SELECT declaration_id, item_no, office_id, lane, source, source_id, reasons, expected_revenue,
       fraud_probability FROM (
    SELECT *, row_number() OVER (PARTITION BY declaration_id, item_no ORDER BY preference) AS k
    FROM found f
    WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.declaration_id = f.declaration_id
                      AND a.item_no = f.item_no)
) ranked WHERE k = 1
ORDER BY declaration_id, item_no
"""


# What the alerts were last synced against, per database: the selections, lodgements and
# overrides (count and latest time); while it is unchanged a sync has nothing to open and is skipped, so
# reading the queue does not rescan every lane decision. Both tables only grow (a dropped batch
# lowers the count, which also differs).
_WATERMARK = ("SELECT (SELECT count(*) FROM selections), (SELECT max(created_at) FROM selections), "
              "(SELECT count(*) FROM lodgements), (SELECT max(lodged_at) FROM lodgements), "
              "(SELECT count(*) FROM lane_overrides), (SELECT count(*) FROM alerts)")
_SYNCED: dict[str, tuple[Any, ...]] = {}


def sync_alerts(workspace: Workspace, now: datetime | None = None) -> int:
    """Open an alert for every declaration item that needs one and has none yet; returns how
    many were opened. An item is alerted once: a later selection does not reopen a closed
    alert (its outcome is recorded), nor change an open one."""
    now = now or utcnow()
    key = str(workspace.database.resolve())
    with workspace.transaction() as con:
        mark = tuple(con.execute(_WATERMARK).fetchall()[0])
        if _SYNCED.get(key) == mark:
            return 0  # no selection and no lodgement since the last look
        opened = open_alerts(con, now)
        mark = tuple(con.execute(_WATERMARK).fetchall()[0])
    _SYNCED[key] = mark  # committed
    return opened


def open_alerts(con: Any, now: datetime) -> int:
    """:func:`sync_alerts` on ``con``'s open transaction (a selection opens its alerts in the
    transaction that stores it); audited as one ``case.open`` entry when any is opened."""
    found = con.sql(_CANDIDATES).pl()
    return _insert_alerts(con, found, now)


def _insert_alerts(con: Any, found: pl.DataFrame, now: datetime) -> int:
    """Insert the ``found`` candidates as open alerts with their ``open`` case events; one
    ``case.open`` audit entry."""
    if found.height == 0:
        return 0
    ids = [alert_id_for(d, int(n)) for d, n in
           zip(found["declaration_id"], found["item_no"], strict=True)]
    table = found.with_columns(pl.Series("alert_id", ids, dtype=pl.String),
                               pl.lit(now).alias("opened_at"))
    con.register("new_alerts", table.to_arrow())
    try:
        con.execute(
            "INSERT INTO alerts (alert_id, declaration_id, item_no, office_id, lane, source, "
            "source_id, reasons, expected_revenue, fraud_probability, opened_at, status) "
            "SELECT alert_id, declaration_id, item_no, office_id, lane, source, source_id, "
            "reasons, expected_revenue, fraud_probability, opened_at, 'open' FROM new_alerts")
        con.execute(
            "INSERT INTO case_events SELECT alert_id, opened_at, 'clearlane', 'open', "
            "json_object('source', source, 'source_id', source_id, 'lane', lane)::VARCHAR "
            "FROM new_alerts")
    finally:
        con.unregister("new_alerts")
    by_source = dict(table.group_by("source").len().iter_rows())
    audit.record(con, action="case.open", object_type="alerts",
                 object_id=f"{table.height} alert(s)",
                 change={"opened": table.height, "by_source": by_source, "first": ids[:20]})
    return int(found.height)


def rule_reasons_of(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rule scorer's reasons in a lodgement answer (one per rule hit)."""
    return [dict(r) for s in answer.get("scorers") or () if s.get("name") == "rules"
            for r in s.get("reasons") or ()]


def needs_alert(answer: Mapping[str, Any]) -> bool:
    """Whether a lodgement answer opens an alert: a red or yellow lane, or a rule hit of
    high or critical severity (whatever the lane)."""
    return answer.get("lane") in ("red", "yellow") or any(
        str((r.get("evidence") or {}).get("severity")) in ALERT_RULE_SEVERITIES
        for r in rule_reasons_of(answer))


def open_lodged_alerts(con: Any, lodged: pl.DataFrame,
                       answers: Mapping[tuple[str, int], Mapping[str, Any]],
                       now: datetime) -> int:
    """Open, on ``con``'s open transaction, the alerts of the items just lodged whose answer
    needs one (:func:`needs_alert`), unless the item has one; ``lodged``: their
    ``declaration_id``, ``item_no`` and ``office_id``, after their answers were stored in
    ``lodgements``. The reasons are the rule hits' then the fraud model's. Costs nothing when
    no answer needs an alert (the usual green answer)."""
    wanted = {k: a for k, a in answers.items() if needs_alert(a)}
    if not wanted:
        return 0
    ids = sorted({k[0] for k in wanted})
    marks = ", ".join("?" * len(ids))
    alerted = {(str(d), int(n)) for d, n in con.execute(
        f"SELECT declaration_id, item_no FROM alerts WHERE declaration_id IN ({marks})",
        ids).fetchall()}
    batches = {(str(d), int(n)): str(b) for d, n, b in con.execute(
        f"SELECT declaration_id, item_no, batch_id FROM lodgements "
        f"WHERE declaration_id IN ({marks})", ids).fetchall()}
    offices = {(str(d), int(n)): o for d, n, o in
               lodged.select("declaration_id", "item_no", "office_id").iter_rows()}
    rows = []
    for key, answer in sorted(wanted.items()):
        if key in alerted or key not in batches:
            continue
        reasons = rule_reasons_of(answer) + list(answer.get("reasons") or ())
        rows.append({"declaration_id": key[0], "item_no": key[1], "office_id": offices.get(key),
                     "lane": answer.get("lane"), "source": "lodgement",
                     "source_id": batches[key],
                     "reasons": json.dumps(reasons, default=str),
                     "expected_revenue": answer.get("expected_revenue"),
                     "fraud_probability": answer.get("fraud_probability")})
    if not rows:
        return 0
    found = pl.DataFrame(rows, schema={
        "declaration_id": pl.String, "item_no": pl.Int64, "office_id": pl.String,
        "lane": pl.String, "source": pl.String, "source_id": pl.String, "reasons": pl.String,
        "expected_revenue": pl.Float64, "fraud_probability": pl.Float64})
    return _insert_alerts(con, found, now)
