"""Declaration reads: list declarations with their latest risk and lane (filtered, paged), and
one declaration's items with their latest assessments (every detail read is audited).

Office scope: ``offices`` None sees every declaration; a set sees only declarations of those
offices (an empty set sees none). A declaration outside the scope is reported exactly as one
that does not exist, so that its existence does not leak.

The lane of a declaration is the strictest lane (red, yellow, blue, green) its items were given
by the latest selection that covered it, replaced by the latest officer override of that
selection. The assessment of an item is its latest row of ``risk_assessments``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from clearlane.accounts.roles import Principal
from clearlane.errors import NotFoundError, Problem, ValidationError
from clearlane.rules.model import LANES
from clearlane.schema.reasons import RiskAssessment, ScorerScore, reasons_from_json
from clearlane.services import audit
from clearlane.store.workspace import Workspace

MAX_PAGE = 1000
"""The most declarations one page lists."""

READ_ACTION = "declaration.read"
"""The audit action of a declaration's detail read."""

HIDDEN_COLUMNS = frozenset({"batch_id", "source_row"})
"""Stored columns that are bookkeeping of the ingest, not part of a declaration."""


@dataclass(frozen=True)
class DeclarationQuery:
    """Filters of a declaration list; every one optional (None: no filter)."""

    date_from: date | None = None
    date_to: date | None = None
    office_id: str | None = None
    importer_id: str | None = None
    hs_prefix: str | None = None
    """Declarations with at least one item whose HS code starts with these digits."""
    lane: str | None = None
    """The declaration's current lane (see the module docstring)."""


@dataclass(frozen=True)
class DeclarationSummary:
    """One declaration in a list: its header, totals over its items, and its latest risk."""

    declaration_id: str
    declared_at: date | None
    office_id: str | None
    importer_id: str | None
    items: int
    customs_value: float | None
    """Sum over the items, national currency."""
    fraud_probability: float | None
    """The highest fraud probability among the items' latest assessments (0-1)."""
    expected_revenue: float | None
    """Sum of the items' expected revenue at risk (national currency)."""
    anomaly_score: float | None
    """The highest anomaly score among the items (higher = more unusual)."""
    assessed_items: int
    lane: str | None
    selection_id: str | None


@dataclass(frozen=True)
class DeclarationPage:
    items: tuple[DeclarationSummary, ...]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; None on the last page."""


@dataclass(frozen=True)
class ItemLane:
    """The lane one selection gave one item, and the officer override of the declaration."""

    selection_id: str
    lane: str
    basis: str
    random_control: bool
    rank_pct: float | None
    rule_hits: tuple[str, ...]
    overridden_from: str | None
    """The lane before an officer's override (None: not overridden)."""


@dataclass(frozen=True)
class DeclarationItem:
    item_no: int
    fields: dict[str, Any]
    """The item's canonical fields as stored (outcome fields included)."""
    assessment: RiskAssessment | None
    lane: ItemLane | None


@dataclass(frozen=True)
class DeclarationDetail:
    declaration_id: str
    declared_at: date | None
    office_id: str | None
    importer_id: str | None
    lane: str | None
    items: tuple[DeclarationItem, ...]


def office_scope(principal: Principal) -> frozenset[str] | None:
    """The offices ``principal`` may see: None for all, else the set (empty: none)."""
    return None if principal.may_see_office(None) else frozenset(principal.offices)


def encode_cursor(declared_at: date | None, declaration_id: str) -> str:
    raw = json.dumps([declared_at.isoformat() if declared_at else None, declaration_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date | None, str]:
    """The (date, id) after which a page starts; a ValidationError naming ``cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], str)
                or not (value[0] is None or isinstance(value[0], str))):
            raise ValueError("not a cursor")
        return (date.fromisoformat(value[0]) if value[0] else None), value[1]
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationError("the cursor is not valid", [Problem(
            "cursor", cursor[:100], "pass the `next` value of the previous page unchanged")]
        ) from exc


def _lane_sql() -> str:
    """Per declaration: its lane after override in the latest selection that covered it."""
    order = " ".join(f"WHEN '{lane}' THEN {i}" for i, lane in enumerate(LANES))
    return f"""
      latest AS (
        SELECT ld.declaration_id, arg_max(ld.selection_id, s.created_at) AS selection_id
        FROM lane_decisions ld JOIN selections s USING (selection_id)
        WHERE ld.declaration_id IN (SELECT declaration_id FROM picked)
        GROUP BY ld.declaration_id),
      strictest AS (
        SELECT ld.declaration_id, ld.selection_id,
               min(CASE ld.lane {order} ELSE {len(LANES)} END) AS k
        FROM lane_decisions ld JOIN latest USING (declaration_id, selection_id)
        GROUP BY ld.declaration_id, ld.selection_id),
      overridden AS (
        SELECT o.selection_id, o.declaration_id, arg_max(o.to_lane, o.overridden_at) AS to_lane
        FROM lane_overrides o JOIN latest USING (declaration_id, selection_id)
        GROUP BY o.selection_id, o.declaration_id),
      lanes AS (
        SELECT st.declaration_id, st.selection_id,
               coalesce(ov.to_lane, list_extract({list(LANES)!r}, st.k + 1)) AS lane
        FROM strictest st LEFT JOIN overridden ov USING (declaration_id, selection_id))"""


def _assessment_sql() -> str:
    return """
      assessed AS (
        SELECT declaration_id, item_no,
               arg_max(fraud_probability, assessed_at) AS fraud_probability,
               arg_max(expected_revenue, assessed_at) AS expected_revenue,
               arg_max(anomaly_score, assessed_at) AS anomaly_score
        FROM risk_assessments
        WHERE declaration_id IN (SELECT declaration_id FROM picked)
        GROUP BY declaration_id, item_no),
      risk AS (
        SELECT declaration_id, max(fraud_probability) AS fraud_probability,
               sum(expected_revenue) AS expected_revenue, max(anomaly_score) AS anomaly_score,
               count(*) AS assessed_items
        FROM assessed GROUP BY declaration_id)"""


def declaration_filters(query: DeclarationQuery, offices: frozenset[str] | None
                        ) -> tuple[list[str], list[Any]]:
    """The SQL conditions on the ``declarations`` table (and their parameters) of the date,
    office and importer filters of ``query``, and of the caller's ``offices`` (None: all; empty:
    none). Used by every read that filters declarations (lists, maps)."""
    parts: list[str] = []
    params: list[Any] = []
    if query.date_from is not None:
        parts.append("declared_at >= ?")
        params.append(query.date_from)
    if query.date_to is not None:
        parts.append("declared_at <= ?")
        params.append(query.date_to)
    if query.office_id is not None:
        parts.append("office_id = ?")
        params.append(query.office_id)
    if query.importer_id is not None:
        parts.append("importer_id = ?")
        params.append(query.importer_id)
    if offices is not None:
        if not offices:
            parts.append("FALSE")
        else:
            parts.append(f"office_id IN ({', '.join('?' for _ in offices)})")
            params.extend(sorted(offices))
    return parts, params


def _check_query(query: DeclarationQuery) -> None:
    problems = []
    if query.hs_prefix is not None and not query.hs_prefix.isdigit():
        problems.append(Problem("hs_code", query.hs_prefix, "give the leading digits of an HS "
                                "code, e.g. 8517"))
    if query.lane is not None and query.lane not in LANES:
        problems.append(Problem("lane", query.lane, "valid lanes: " + ", ".join(LANES)))
    if (query.date_from is not None and query.date_to is not None
            and query.date_from > query.date_to):
        problems.append(Problem("date_from", query.date_from.isoformat(),
                                f"after date_to {query.date_to.isoformat()}"))
    if problems:
        raise ValidationError("the declaration filters are not valid", problems)


def list_declarations(workspace: Workspace, query: DeclarationQuery | None = None, *,
                      offices: frozenset[str] | None = None, limit: int = 100,
                      cursor: str | None = None) -> DeclarationPage:
    """A page of declarations ordered by date then id (a stable order: pages never repeat or
    skip a declaration stored before the first page was read), with totals and latest risk.

    ``cursor`` is the ``next_cursor`` of the previous page; ``limit`` is 1 to
    :data:`MAX_PAGE`.
    """
    query = query or DeclarationQuery()
    _check_query(query)
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit {limit} is out of range", [
            Problem("limit", str(limit), f"from 1 to {MAX_PAGE}")])
    parts, params = declaration_filters(query, offices)
    having: list[str] = []
    having_params: list[Any] = []
    if query.hs_prefix is not None:
        having.append("bool_or(starts_with(CAST(hs_code AS VARCHAR), ?))")
        having_params.append(query.hs_prefix)
    after = ""
    after_params: list[Any] = []
    if cursor is not None:
        day, declaration_id = decode_cursor(cursor)
        # NULL dates sort last (DuckDB's default for ASC)
        if day is None:
            after = "WHERE declared_at IS NULL AND declaration_id > ?"
            after_params = [declaration_id]
        else:
            after = ("WHERE declared_at > ? OR declared_at IS NULL "
                     "OR (declared_at = ? AND declaration_id > ?)")
            after_params = [day, day, declaration_id]
    lane_filter = ""
    lane_params: list[Any] = []
    if query.lane is not None:
        lane_filter = "WHERE l.lane = ?"
        lane_params = [query.lane]
    sql = f"""
      WITH grouped AS (
        SELECT declaration_id, min(declared_at) AS declared_at, min(office_id) AS office_id,
               min(importer_id) AS importer_id, count(*) AS items,
               sum(customs_value) AS customs_value
        FROM declarations
        {'WHERE ' + ' AND '.join(parts) if parts else ''}
        GROUP BY declaration_id
        {'HAVING ' + ' AND '.join(having) if having else ''}),
      picked AS (SELECT * FROM grouped {after}),
      {_lane_sql().strip()},
      {_assessment_sql().strip()}
      SELECT p.declaration_id, p.declared_at, p.office_id, p.importer_id, p.items,
             p.customs_value, r.fraud_probability, r.expected_revenue, r.anomaly_score,
             coalesce(r.assessed_items, 0) AS assessed_items, l.lane, l.selection_id
      FROM picked p LEFT JOIN lanes l USING (declaration_id)
           LEFT JOIN risk r USING (declaration_id)
      {lane_filter}
      ORDER BY p.declared_at NULLS LAST, p.declaration_id
      LIMIT {limit + 1}"""
    frame = workspace.query(sql, [*params, *having_params, *after_params, *lane_params])
    rows = frame.to_dicts()
    items = tuple(DeclarationSummary(
        declaration_id=str(r["declaration_id"]), declared_at=r["declared_at"],
        office_id=r["office_id"], importer_id=r["importer_id"], items=int(r["items"]),
        customs_value=r["customs_value"], fraud_probability=r["fraud_probability"],
        expected_revenue=r["expected_revenue"], anomaly_score=r["anomaly_score"],
        assessed_items=int(r["assessed_items"]), lane=r["lane"], selection_id=r["selection_id"],
    ) for r in rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.declared_at, last.declaration_id)
    return DeclarationPage(items, next_cursor)


def _assessments(workspace: Workspace, declaration_id: str) -> dict[int, RiskAssessment]:
    frame = workspace.query(
        """SELECT * FROM risk_assessments WHERE declaration_id = ?
           QUALIFY row_number() OVER (PARTITION BY item_no
                                      ORDER BY assessed_at DESC, model_version DESC) = 1""",
        [declaration_id])
    out: dict[int, RiskAssessment] = {}
    for row in frame.to_dicts():
        scorers = tuple(ScorerScore.from_dict(s) for s in json.loads(row.get("scorers") or "[]"))
        out[int(row["item_no"])] = RiskAssessment(
            declaration_id=declaration_id, item_no=int(row["item_no"]),
            fraud_probability=row["fraud_probability"],
            expected_revenue=row["expected_revenue"], anomaly_score=row["anomaly_score"],
            reasons=reasons_from_json(row["reasons"]), model_version=row["model_version"],
            assessed_at=row["assessed_at"], anomaly_version=row.get("anomaly_version"),
            scorers=scorers)
    return out


def _lanes(workspace: Workspace, declaration_id: str) -> dict[int, ItemLane]:
    frame = workspace.query(
        """WITH latest AS (
             SELECT ld.selection_id FROM lane_decisions ld JOIN selections s USING (selection_id)
             WHERE ld.declaration_id = ? ORDER BY s.created_at DESC LIMIT 1),
           override AS (
             SELECT arg_max(to_lane, overridden_at) AS to_lane FROM lane_overrides
             WHERE declaration_id = ? AND selection_id = (SELECT selection_id FROM latest))
           SELECT ld.item_no, ld.selection_id, ld.lane, ld.basis, ld.random_control,
                  ld.rank_pct, ld.rule_hits, (SELECT to_lane FROM override) AS to_lane
           FROM lane_decisions ld
           WHERE ld.declaration_id = ? AND ld.selection_id = (SELECT selection_id FROM latest)""",
        [declaration_id, declaration_id, declaration_id])
    out: dict[int, ItemLane] = {}
    for row in frame.to_dicts():
        overridden = row["to_lane"] is not None and row["to_lane"] != row["lane"]
        hits = row["rule_hits"] or ""
        out[int(row["item_no"])] = ItemLane(
            selection_id=str(row["selection_id"]),
            lane=str(row["to_lane"] if overridden else row["lane"]), basis=str(row["basis"]),
            random_control=bool(row["random_control"]), rank_pct=row["rank_pct"],
            rule_hits=tuple(h.strip() for h in hits.split(",") if h.strip()),
            overridden_from=str(row["lane"]) if overridden else None)
    return out


def _strictest(lanes: Sequence[str]) -> str | None:
    known = [lane for lane in lanes if lane in LANES]
    return min(known, key=LANES.index) if known else None


def get_declaration(workspace: Workspace, declaration_id: str, *,
                    offices: frozenset[str] | None = None) -> DeclarationDetail:
    """One declaration's items with their latest assessment and lane; records one audit entry
    ``declaration.read`` (the actor is the caller). A declaration outside ``offices`` is not
    found, exactly as one that does not exist (nothing is audited then)."""
    frame = workspace.query(
        "SELECT * FROM declarations WHERE declaration_id = ? ORDER BY item_no",
        [declaration_id])
    rows = [r for r in frame.to_dicts()
            if offices is None or r.get("office_id") in offices]
    if not rows:
        raise NotFoundError(f"no declaration {declaration_id!r}")
    assessments = _assessments(workspace, declaration_id)
    lanes = _lanes(workspace, declaration_id)
    items = tuple(DeclarationItem(
        item_no=int(r["item_no"]),
        fields={k: v for k, v in r.items() if k not in HIDDEN_COLUMNS},
        assessment=assessments.get(int(r["item_no"])), lane=lanes.get(int(r["item_no"])),
    ) for r in rows)
    first = rows[0]
    detail = DeclarationDetail(
        declaration_id=declaration_id, declared_at=_day(first.get("declared_at")),
        office_id=first.get("office_id"), importer_id=first.get("importer_id"),
        lane=_strictest([i.lane.lane for i in items if i.lane is not None]), items=items)
    with workspace.transaction() as con:
        audit.record(con, action=READ_ACTION, object_type="declaration",
                     object_id=declaration_id, change={"items": len(items)})
    return detail


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None
