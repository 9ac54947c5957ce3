"""Case use cases: open alerts from lanes and rule hits, and let officers work them.

One alert per declaration item, opened by :func:`sync_alerts` (in
:mod:`clearlane.services.alert_opening`) from the latest selection that
put the item in red or yellow, after any officer override (or where a high- or
critical-severity rule hit it), or from a red or yellow answer given at lodgement. An officer
sees and changes only the alerts of their offices (another office's alert is "not found", as
one that does not exist). ``next`` locks an alert for its caller inside one write transaction
(the server takes one lock per write, so two officers asking at once never get the same
alert); a lock ends on release, on a snooze, a referral or a close, or when its time runs out.
Closing records the outcome exactly as `clearlane outcomes record` does (it calls
:func:`~clearlane.services.outcomes.record_outcomes`), so the label is there for the next
retrain and the performance report counts it. Every change is audited (``case.*`` actions) in
the transaction that makes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from clearlane.accounts.roles import Principal
from clearlane.cases.alerts import (
    ALERT_LANES,
    DEFAULT_LOCK_MINUTES,
    FINAL_STATUSES,
    LANE_PRIORITY,
    SORTS,
    CloseForm,
    alert_id_for,
    check_attachment,
    check_can_act,
    check_lock_minutes,
    check_office,
    check_snooze_until,
    check_text,
    effective_status,
)
from clearlane.errors import ConflictError, NotFoundError, Problem, ValidationError
from clearlane.rules.model import LANES
from clearlane.services import audit
from clearlane.services.alert_opening import open_alerts, sync_alerts, utcnow
from clearlane.services.outcomes import record_outcomes
from clearlane.store.workspace import Workspace

QUEUE_STATUSES: tuple[str, ...] = ("active", "open", "locked", "snoozed", "closed", "withdrawn",
                                   "all")
"""Queue filters: ``active`` (open or locked, the default), one effective status, or all."""

MAX_QUEUE = 1000
CLOSE_LOCK_MINUTES = 5
"""How long a close holds the alert while the outcome is recorded."""

_COLUMNS = ("alert_id, declaration_id, item_no, office_id, lane, source, source_id, reasons, "
            "expected_revenue, fraud_probability, opened_at, status, locked_by, locked_until, "
            "snoozed_until, snooze_reason, referred_from, closed_at, closed_by, outcome")

# the SQL twin of clearlane.cases.alerts.effective_status (a test checks they agree)
_EFFECTIVE = ("CASE WHEN status IN ('closed', 'withdrawn') THEN status "
              "WHEN status = 'snoozed' AND snoozed_until > $now THEN 'snoozed' "
              "WHEN locked_by IS NOT NULL AND locked_until > $now THEN 'locked' "
              "ELSE 'open' END")
_PRIORITY = ("CASE lane " + " ".join(f"WHEN '{lane}' THEN {rank}"
                                     for lane, rank in LANE_PRIORITY.items())
             + f" ELSE {len(LANE_PRIORITY)} END")
_ORDER = {
    "priority": f"{_PRIORITY}, expected_revenue DESC NULLS LAST, opened_at, alert_id",
    "waiting": "opened_at, alert_id",
    "revenue": "expected_revenue DESC NULLS LAST, opened_at, alert_id",
    "lane": f"{_PRIORITY}, opened_at, alert_id",
}


@dataclass(frozen=True)
class Alert:
    """One alert as an officer sees it; ``status`` is the effective status at ``as_of``."""

    alert_id: str
    declaration_id: str
    item_no: int
    office_id: str | None
    lane: str | None
    source: str
    source_id: str | None
    reasons: list[dict[str, Any]]
    expected_revenue: float | None
    fraud_probability: float | None
    opened_at: datetime
    status: str
    locked_by: str | None
    locked_until: datetime | None
    snoozed_until: datetime | None
    snooze_reason: str | None
    referred_from: str | None
    closed_at: datetime | None
    closed_by: str | None
    outcome: dict[str, Any] | None
    waiting_hours: float


@dataclass(frozen=True)
class CaseEvent:
    at: datetime
    actor: str
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Attachment:
    sha256: str
    name: str
    media_type: str
    size: int
    added_at: datetime
    added_by: str


@dataclass(frozen=True)
class CaseDetail:
    alert: Alert
    events: list[CaseEvent] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def attachments_dir(workspace: Workspace) -> Any:
    """Where attachments are stored, one file per content, named by its SHA-256."""
    return workspace.path / "attachments"


# -- reading ----------------------------------------------------------------------------------
def _scope_sql(principal: Principal, named: dict[str, Any]) -> str:
    """The SQL condition (`` AND …``) limiting alerts to the caller's offices; adds its
    parameters to ``named``."""
    if principal.may_see_office(None):
        return ""
    offices = sorted(o for o in principal.offices if principal.may_see_office(o))
    if not offices:
        return " AND FALSE"
    for i, office in enumerate(offices):
        named[f"office{i}"] = office
    return f" AND office_id IN ({', '.join(f'$office{i}' for i in range(len(offices)))})"


def _alert(row: dict[str, Any], now: datetime) -> Alert:
    row = dict(row)
    row.pop("effective", None)
    status = effective_status(row["status"], row["locked_by"], row["locked_until"],
                              row["snoozed_until"], now)
    if status != "locked":
        row["locked_by"] = row["locked_until"] = None
    if status != "snoozed":
        row["snoozed_until"] = row["snooze_reason"] = None
    row["status"] = status
    row["reasons"] = json.loads(row["reasons"] or "[]")
    row["outcome"] = json.loads(row["outcome"]) if row["outcome"] else None
    row["waiting_hours"] = round((now - row["opened_at"]).total_seconds() / 3600, 2)
    return Alert(**row)


def queue(workspace: Workspace, principal: Principal, *, lane: str | None = None,
          status: str = "active", office: str | None = None, sort: str = "priority",
          limit: int = 100, now: datetime | None = None) -> list[Alert]:
    """The alerts of the caller's offices, filtered by lane, effective status and office,
    sorted by ``sort`` (see :data:`~clearlane.cases.alerts.SORTS`)."""
    problems = []
    if status not in QUEUE_STATUSES:
        problems.append(Problem("status", status, "valid: " + ", ".join(QUEUE_STATUSES)))
    if sort not in SORTS:
        problems.append(Problem("sort", sort, "valid: " + ", ".join(SORTS)))
    if lane is not None and lane not in LANES:
        problems.append(Problem("lane", lane, "valid: " + ", ".join(LANES)))
    if not 1 <= limit <= MAX_QUEUE:
        problems.append(Problem("limit", str(limit), f"between 1 and {MAX_QUEUE}"))
    if problems:
        raise ValidationError("invalid queue request", problems)
    now = now or utcnow()
    sync_alerts(workspace, now)
    named: dict[str, Any] = {"now": now, "limit": limit}
    where = "TRUE" + _scope_sql(principal, named)
    if lane is not None:
        where += " AND lane = $lane"
        named["lane"] = lane
    if office is not None:
        where += " AND office_id = $office"
        named["office"] = office
    if status == "active":
        where += " AND effective IN ('open', 'locked')"
    elif status != "all":
        where += " AND effective = $status"
        named["status"] = status
    with workspace.connect() as con:
        rows = _rows(con, f"SELECT * FROM (SELECT {_COLUMNS}, {_EFFECTIVE} AS effective "
                     f"FROM alerts) WHERE {where} ORDER BY {_ORDER[sort]} LIMIT $limit", named)
    return [_alert(r, now) for r in rows]


def _rows(con: Any, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _load(con: Any, principal: Principal, alert_id: str) -> dict[str, Any]:
    rows = _rows(con, f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?", [alert_id])
    if not rows or not principal.may_see_office(rows[0]["office_id"]):
        raise NotFoundError(f"no alert {alert_id!r} in your offices")
    return rows[0]


def get_case(workspace: Workspace, principal: Principal, alert_id: str,
             now: datetime | None = None) -> CaseDetail:
    """One alert with its events (oldest first) and attachments."""
    now = now or utcnow()
    with workspace.connect() as con:
        row = _load(con, principal, alert_id)
        events = con.execute("SELECT event_at, actor, kind, detail FROM case_events WHERE alert_id = ? "
                             "ORDER BY event_at, kind", [alert_id]).fetchall()
        files = con.execute("SELECT sha256, name, media_type, size, added_at, added_by "
                            "FROM case_attachments WHERE alert_id = ? ORDER BY added_at",
                            [alert_id]).fetchall()
    return CaseDetail(_alert(row, now),
                      [CaseEvent(a, b, c, json.loads(d)) for a, b, c, d in events],
                      [Attachment(*f) for f in files])


# -- changing ---------------------------------------------------------------------------------
def _event(con: Any, alert_id: str, actor: str, kind: str, detail: dict[str, Any],
           now: datetime) -> None:
    con.execute("INSERT INTO case_events VALUES (?, ?, ?, ?, ?)",
                [alert_id, now, actor, kind, json.dumps(detail, default=str)])
    audit.record(con, action=f"case.{kind}", object_type="alert", object_id=alert_id,
                 change=detail)


def next_alert(workspace: Workspace, principal: Principal, *,
               lock_minutes: int = DEFAULT_LOCK_MINUTES, lane: str | None = None,
               now: datetime | None = None) -> Alert:
    """Lock the highest-priority free alert of the caller's offices for the caller (red
    before yellow, then the highest expected revenue, then the longest waiting) and return it;
    NotFoundError when none is free. Pick and lock happen in one write transaction."""
    check_lock_minutes(lock_minutes)
    now = now or utcnow()
    sync_alerts(workspace, now)
    named: dict[str, Any] = {"now": now}
    scope = _scope_sql(principal, named)
    if lane is not None:
        scope += " AND lane = $lane"
        named["lane"] = lane
    until = now + timedelta(minutes=lock_minutes)
    with workspace.transaction() as con:
        picked = con.execute(
            f"SELECT alert_id FROM alerts WHERE status NOT IN ('closed', 'withdrawn') "
            f"AND (status = 'open' OR snoozed_until <= $now) "
            f"AND (locked_by IS NULL OR locked_until <= $now){scope} "
            f"ORDER BY {_ORDER['priority']} LIMIT 1", named).fetchall()
        if not picked:
            raise NotFoundError("no free alert in your offices"
                                + (f" in lane {lane}" if lane else "")
                                + "; the queue is empty or every alert is locked or snoozed")
        alert_id = str(picked[0][0])
        con.execute("UPDATE alerts SET locked_by = ?, locked_until = ?, status = 'open', "
                    "snoozed_until = NULL, snooze_reason = NULL WHERE alert_id = ?",
                    [principal.name, until, alert_id])
        _event(con, alert_id, principal.name, "lock",
               {"until": until.isoformat(timespec="seconds"), "via": "next"}, now)
        row = _load(con, principal, alert_id)
    return _alert(row, now)


def _change(workspace: Workspace, principal: Principal, alert_id: str, kind: str,
            detail: dict[str, Any], update: str | None, params: list[Any],
            now: datetime) -> Alert:
    with workspace.transaction() as con:
        row = _load(con, principal, alert_id)
        check_can_act(row["status"], row["locked_by"], row["locked_until"],
                      row["snoozed_until"], now, principal.name, alert_id)
        if update is not None:
            con.execute(f"UPDATE alerts SET {update} WHERE alert_id = ?", [*params, alert_id])
        _event(con, alert_id, principal.name, kind, detail, now)
        row = _rows(con, f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?", [alert_id])[0]
    return _alert(row, now)


def lock(workspace: Workspace, principal: Principal, alert_id: str, *,
         lock_minutes: int = DEFAULT_LOCK_MINUTES, now: datetime | None = None) -> Alert:
    """Lock one named alert for the caller (or extend the caller's lock)."""
    check_lock_minutes(lock_minutes)
    now = now or utcnow()
    until = now + timedelta(minutes=lock_minutes)
    return _change(workspace, principal, alert_id, "lock",
                   {"until": until.isoformat(timespec="seconds"), "via": "lock"},
                   "locked_by = ?, locked_until = ?", [principal.name, until], now)


def release(workspace: Workspace, principal: Principal, alert_id: str,
            now: datetime | None = None) -> Alert:
    """Give the caller's lock back (the alert returns to the queue)."""
    now = now or utcnow()
    return _change(workspace, principal, alert_id, "release", {},
                   "locked_by = NULL, locked_until = NULL", [], now)


def comment(workspace: Workspace, principal: Principal, alert_id: str, text: str,
            now: datetime | None = None) -> Alert:
    """Add a note to the case."""
    body = check_text("text", text)
    return _change(workspace, principal, alert_id, "comment", {"text": body}, None, [],
                   now or utcnow())


def snooze(workspace: Workspace, principal: Principal, alert_id: str, until: date | datetime,
           reason: str, now: datetime | None = None) -> Alert:
    """Put the alert aside until ``until`` (UTC; a date means its first moment) for a
    reason; the caller's lock ends."""
    now = now or utcnow()
    end = check_snooze_until(until, now)
    why = check_text("reason", reason)
    return _change(workspace, principal, alert_id, "snooze",
                   {"until": end.isoformat(timespec="seconds"), "reason": why},
                   "status = 'snoozed', snoozed_until = ?, snooze_reason = ?, "
                   "locked_by = NULL, locked_until = NULL", [end, why], now)


def refer(workspace: Workspace, principal: Principal, alert_id: str, office: str,
          reason: str, now: datetime | None = None) -> Alert:
    """Hand the alert to another office's queue, with a reason; the caller's lock ends (and,
    for an officer not of that office, the alert leaves their queue)."""
    now = now or utcnow()
    code = check_office(office)
    why = check_text("reason", reason)
    with workspace.connect() as con:
        current = _load(con, principal, alert_id)["office_id"]
    if current == code:
        raise ValidationError("the alert is already in that office", [
            Problem("office", code, "give another office than the alert's own")])
    detail = {"from": current, "to": code, "reason": why}
    alert = _change(workspace, principal, alert_id, "refer", detail,
                    "office_id = ?, referred_from = ?, status = 'open', snoozed_until = NULL, "
                    "snooze_reason = NULL, locked_by = NULL, locked_until = NULL",
                    [code, current], now)
    return alert


def close(workspace: Workspace, principal: Principal, alert_id: str, form: CloseForm,
          now: datetime | None = None) -> Alert:
    """Close the case with the inspection outcome: the outcome is recorded as `clearlane
    outcomes record` does (the label of the next retrain, counted by the performance report),
    then the alert is closed. The alert is held for the caller meanwhile, so no one else
    closes it at the same time.

    The caller's right to the item is the alert's office (a referral gives it to the new
    office), checked here; the outcome is therefore recorded without the office filter of
    `record_outcomes`, which looks at the declaration's own office."""
    now = now or utcnow()
    form = form.validated()
    hold = now + timedelta(minutes=CLOSE_LOCK_MINUTES)
    with workspace.transaction() as con:
        row = _load(con, principal, alert_id)
        check_can_act(row["status"], row["locked_by"], row["locked_until"],
                      row["snoozed_until"], now, principal.name, alert_id)
        con.execute("UPDATE alerts SET locked_by = ?, locked_until = greatest(?, "
                    "coalesce(locked_until, ?)) WHERE alert_id = ?",
                    [principal.name, hold, hold, alert_id])
    outcome = form.outcome_row(row["declaration_id"], int(row["item_no"]), principal.name,
                               now.date())
    record_outcomes(workspace, [outcome], source=f"case:{alert_id}", first_row=0)
    detail = {"outcome": form.label(), "fraud": form.fraud, "critical": form.critical,
              "revenue_recovered": form.revenue_recovered, "finding": form.finding,
              "inspected_at": str(outcome["inspected_at"])}
    with workspace.transaction() as con:
        current = _load(con, principal, alert_id)
        if current["status"] == "closed":
            raise ConflictError(f"alert {alert_id} was closed meanwhile by "
                                f"{current['closed_by']}")
        if current["status"] in FINAL_STATUSES:
            raise ConflictError(f"alert {alert_id} was {current['status']} meanwhile")
        con.execute("UPDATE alerts SET status = 'closed', closed_at = ?, closed_by = ?, "
                    "outcome = ?, locked_by = NULL, locked_until = NULL, snoozed_until = NULL "
                    "WHERE alert_id = ?", [now, principal.name, json.dumps(detail), alert_id])
        _event(con, alert_id, principal.name, "close", detail, now)
        row = _rows(con, f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?", [alert_id])[0]
    return _alert(row, now)


# -- lane overrides -----------------------------------------------------------------------
@dataclass(frozen=True)
class OverrideEffect:
    """What a lane override did to the alerts of its declaration (alert ids)."""

    withdrawn: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    relaned: list[str] = field(default_factory=list)


def follow_override(con: Any, *, selection_id: str, declaration_id: str, from_lane: str,
                    to_lane: str, officer_id: str, justification: str,
                    now: datetime) -> OverrideEffect:
    """Make the alerts of ``declaration_id``'s items in ``selection_id`` follow a lane
    override, in the override's transaction (``con``); each change is a case event, audited.

    Out of red and yellow: the item's open (or snoozed) alert opened by a red or yellow lane is
    ``withdrawn`` (a lock on it ends; the event names who held it). Into red or yellow: an item
    without an alert gets one (source ``override``, the override's justification among its
    reasons), a withdrawn alert is reopened, an open one takes the new lane (``relane``).
    Closed alerts never change: their outcome is recorded."""
    items = _rows(con, "SELECT item_no, office_id, reasons, expected_revenue, "
                       "fraud_probability FROM lane_decisions WHERE selection_id = ? AND "
                       "declaration_id = ? ORDER BY item_no", [selection_id, declaration_id])
    alerts = {int(r["item_no"]): r for r in _rows(
        con, "SELECT alert_id, item_no, status, lane, locked_by, locked_until FROM alerts "
             "WHERE declaration_id = ?", [declaration_id])}
    effect = OverrideEffect()
    detail = {"from": from_lane, "to": to_lane, "justification": justification,
              "selection_id": selection_id, "officer_id": officer_id}
    for item in items:
        alert = alerts.get(int(item["item_no"]))
        if to_lane not in ALERT_LANES:
            if alert is None or alert["status"] not in ("open", "snoozed") \
                    or alert["lane"] not in ALERT_LANES:
                continue
            held = alert["locked_by"] if alert["locked_until"] is not None and \
                alert["locked_until"] > now else None
            con.execute("UPDATE alerts SET status = 'withdrawn', locked_by = NULL, "
                        "locked_until = NULL, snoozed_until = NULL, snooze_reason = NULL "
                        "WHERE alert_id = ?", [alert["alert_id"]])
            _event(con, alert["alert_id"], officer_id, "withdraw",
                   detail | ({"was_locked_by": held} if held else {}), now)
            effect.withdrawn.append(alert["alert_id"])
        elif alert is None:
            alert_id = alert_id_for(declaration_id, int(item["item_no"]))
            reasons = [*json.loads(item["reasons"] or "[]"), {
                "code": "OVERRIDE", "weight": 0.0,
                "text": f"lane set to {to_lane} by {officer_id}: {justification}",
                "evidence": {"from": from_lane, "to": to_lane}}]
            con.execute(
                "INSERT INTO alerts (alert_id, declaration_id, item_no, office_id, lane, source, "
                "source_id, reasons, expected_revenue, fraud_probability, opened_at, status) "
                "VALUES (?, ?, ?, ?, ?, 'override', ?, ?, ?, ?, ?, 'open')",
                [alert_id, declaration_id, item["item_no"], item["office_id"], to_lane,
                 selection_id, json.dumps(reasons), item["expected_revenue"],
                 item["fraud_probability"], now])
            _event(con, alert_id, officer_id, "open", {"source": "override", **detail}, now)
            effect.opened.append(alert_id)
        elif alert["status"] == "withdrawn":
            con.execute("UPDATE alerts SET status = 'open', lane = ? WHERE alert_id = ?",
                        [to_lane, alert["alert_id"]])
            _event(con, alert["alert_id"], officer_id, "reopen", detail, now)
            effect.reopened.append(alert["alert_id"])
        elif alert["status"] != "closed" and alert["lane"] != to_lane:
            con.execute("UPDATE alerts SET lane = ? WHERE alert_id = ?",
                        [to_lane, alert["alert_id"]])
            _event(con, alert["alert_id"], officer_id, "relane", detail, now)
            effect.relaned.append(alert["alert_id"])
    return effect


def check_declaration_scope(workspace: Workspace, principal: Principal,
                            declaration_id: str) -> None:
    """NotFoundError unless the caller may see an office of the declaration's items (an
    unknown declaration, or one of another office, is not found alike)."""
    if principal.may_see_office(None):
        return
    with workspace.connect() as con:
        offices = [r[0] for r in con.execute(
            "SELECT DISTINCT office_id FROM lane_decisions WHERE declaration_id = ? UNION "
            "SELECT DISTINCT office_id FROM declarations WHERE declaration_id = ?",
            [declaration_id, declaration_id]).fetchall()]
    if not any(principal.may_see_office(o) for o in offices if o is not None):
        raise NotFoundError(f"no declaration {declaration_id!r} in your offices")


def declaration_alerts(workspace: Workspace, principal: Principal, declaration_id: str,
                       now: datetime | None = None) -> list[Alert]:
    """The alerts of a declaration's items the caller may see (every status), by item."""
    now = now or utcnow()
    named: dict[str, Any] = {"declaration": declaration_id}
    scope = _scope_sql(principal, named)
    with workspace.connect() as con:
        rows = _rows(con, f"SELECT {_COLUMNS} FROM alerts WHERE declaration_id = $declaration"
                          f"{scope} ORDER BY item_no", named)
    return [_alert(r, now) for r in rows]


def attach(workspace: Workspace, principal: Principal, alert_id: str, content: bytes,
           name: str, media_type: str | None = None, now: datetime | None = None) -> Attachment:
    """Store a document on the case: type-checked by content, size-limited, kept once per
    content under ``attachments/<sha256>`` in the workspace. The same content attached again
    to the same case is answered with the stored one."""
    now = now or utcnow()
    found = check_attachment(content, name, media_type)
    digest = hashlib.sha256(content).hexdigest()
    folder = attachments_dir(workspace)
    target = folder / digest
    with workspace.connect() as con:
        _load(con, principal, alert_id)  # not found before anything is written
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{digest}.{os.getpid()}.part"
        partial.write_bytes(content)
        os.replace(partial, target)
    with workspace.transaction() as con:
        row = _load(con, principal, alert_id)
        check_can_act(row["status"], row["locked_by"], row["locked_until"],
                      row["snoozed_until"], now, principal.name, alert_id)
        known = con.execute("SELECT sha256, name, media_type, size, added_at, added_by FROM "
                            "case_attachments WHERE alert_id = ? AND sha256 = ?",
                            [alert_id, digest]).fetchall()
        if known:
            return Attachment(*known[0])
        clean = name.strip()
        con.execute("INSERT INTO case_attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [alert_id, digest, clean, found, len(content),
                     f"attachments/{digest}", now, principal.name])
        _event(con, alert_id, principal.name, "attach",
               {"sha256": digest, "name": clean, "media_type": found, "size": len(content)},
               now)
    return Attachment(digest, clean, found, len(content), now, principal.name)


def read_attachment(workspace: Workspace, principal: Principal, alert_id: str,
                    sha256: str) -> tuple[Attachment, bytes]:
    """An attachment of a case and its content (checked against its SHA-256)."""
    with workspace.connect() as con:
        _load(con, principal, alert_id)
        rows = con.execute("SELECT sha256, name, media_type, size, added_at, added_by FROM "
                           "case_attachments WHERE alert_id = ? AND sha256 = ?",
                           [alert_id, sha256.lower()]).fetchall()
    if not rows:
        raise NotFoundError(f"no attachment {sha256!r} on alert {alert_id!r}")
    info = Attachment(*rows[0])
    path = attachments_dir(workspace) / info.sha256
    content = b""
    with contextlib.suppress(OSError):
        content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != info.sha256:
        raise NotFoundError(f"the stored file of attachment {info.sha256} is missing or "
                            f"changed ({path})")
    return info, content


__all__ = ["MAX_QUEUE", "QUEUE_STATUSES", "Alert", "Attachment", "CaseDetail", "CaseEvent",
           "OverrideEffect", "attach", "attachments_dir", "check_declaration_scope", "close",
           "comment", "declaration_alerts", "follow_override", "get_case", "lock", "next_alert",
           "open_alerts", "queue", "read_attachment", "refer", "release", "snooze",
           "sync_alerts", "utcnow"]
