"""Webhook notifications: a durable outbox of alerts, delivered at least once, retried with
backoff, never again once a receiver answered 2xx.

The dispatcher does not hook into alert opening: each pass (:func:`deliver_pending`) opens the
alerts due (:func:`~clearlane.services.alert_opening.sync_alerts`, as the queue does), then
queues every alert it has not seen yet in ``webhook_outbox`` with its severity
(:func:`clearlane.cases.webhooks.alert_severity`): ``pending`` when at or above
``webhook_min_severity``, else ``skipped`` (the threshold applies when an alert is first seen).
Pending alerts whose next attempt is due are claimed in one write transaction, POSTed outside
it (the write lock is not held over the network), and every attempt is recorded in
``webhook_deliveries`` (HTTP status, error, duration, next attempt). A 2xx marks the alert
``delivered``; anything else (an error, a timeout, a redirect, a non-2xx) is retried after
``webhook_retry_seconds``, doubling each time (at most one hour), until
``webhook_max_attempts``, after which it is ``failed`` (audited as ``webhook.give_up``).

A crash between a receiver's 2xx and its record means one more delivery of that alert: the
``X-Clearlane-Delivery`` header (the alert id) lets receivers drop repeats.

In the server the dispatcher runs in a thread (:class:`Dispatcher`), using the held
workspace's cursors and its write lock; without a server, `clearlane notify send` runs one pass
(e.g. from cron).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from clearlane.cases.webhooks import (
    EVENT_ALERT,
    EVENT_TEST,
    alert_payload,
    alert_severity,
    at_least,
    encode,
    ping_payload,
    retry_delay_seconds,
    signed_headers,
)
from clearlane.errors import Problem, ValidationError
from clearlane.services import audit
from clearlane.services.alert_opening import sync_alerts, utcnow
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

log = logging.getLogger("clearlane.notifications")

BATCH = 200
"""Most alerts one pass delivers (the rest wait for the next pass)."""
CLAIM_SECONDS = 60
"""Beyond the POST timeout, how long a claimed alert is held from another pass."""
OUTBOX_STATES: tuple[str, ...] = ("pending", "delivered", "failed", "skipped")
TEST_DELIVERY = "test"
"""The ``alert_id`` recorded for `clearlane notify test` deliveries."""


@dataclass(frozen=True)
class WebhookConfig:
    """What the dispatcher needs from the settings (the secret stays a value, never logged)."""

    url: str
    secret: str
    min_severity: str
    timeout_seconds: float
    max_attempts: int
    retry_seconds: int

    def __repr__(self) -> str:  # never show the secret
        return f"WebhookConfig(url={shown_url(self.url)!r}, min_severity={self.min_severity!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        """The webhook of ``settings``; a ValidationError when no webhook_url is set."""
        if settings.webhook_url is None or settings.webhook_secret is None:
            raise ValidationError("no webhook is configured", [Problem(
                "CLEARLANE_WEBHOOK_URL", None,
                "set CLEARLANE_WEBHOOK_URL and CLEARLANE_WEBHOOK_SECRET (docs/notifications.md)")])
        return cls(settings.webhook_url, settings.webhook_secret.get_secret_value(),
                   settings.webhook_min_severity, settings.webhook_timeout_seconds,
                   settings.webhook_max_attempts, settings.webhook_retry_seconds)


def shown_url(url: str) -> str:
    """``url`` without its query, fragment or user info (they may carry a token): what is
    recorded and shown."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class Attempt:
    """One POST: its outcome (``delivered`` or ``failed``), HTTP status, error, duration."""

    alert_id: str
    attempt: int
    event: str
    url: str
    sent_at: datetime
    status: str
    http_status: int | None
    error: str | None
    duration_ms: float
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class PassResult:
    """What one dispatcher pass did."""

    opened: int
    queued: int
    skipped: int
    delivered: int
    failed: int
    gave_up: int


# -- the outbox -------------------------------------------------------------------------------
def _rows(con: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


_UNSEEN = ("SELECT a.alert_id, a.lane, a.reasons, a.status FROM alerts a "
           "WHERE NOT EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.alert_id = a.alert_id) "
           "ORDER BY a.opened_at, a.alert_id")


def queue_new_alerts(workspace: Workspace, min_severity: str, now: datetime) -> tuple[int, int]:
    """Put every alert not yet in the outbox there: ``pending`` at or above ``min_severity``,
    ``skipped`` below it (or already closed or withdrawn). Returns (pending, skipped) added."""
    with workspace.connect() as con:
        if not con.execute(f"SELECT EXISTS ({_UNSEEN})").fetchall()[0][0]:
            return 0, 0
    with workspace.transaction() as con:
        unseen = _rows(con, _UNSEEN)
        rows = []
        for alert in unseen:
            severity = alert_severity(alert["lane"], json.loads(alert["reasons"] or "[]"))
            if alert["status"] in ("closed", "withdrawn"):
                state, note = "skipped", f"{alert['status']} before it was sent"
            elif not at_least(severity, min_severity):
                state, note = "skipped", f"below the minimum severity {min_severity}"
            else:
                state, note = "pending", None
            rows.append([alert["alert_id"], severity, now, state, note, 0, now, None])
        if rows:
            con.executemany("INSERT INTO webhook_outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    pending = sum(1 for r in rows if r[3] == "pending")
    return pending, len(rows) - pending


def _claim(workspace: Workspace, config: WebhookConfig, now: datetime,
           limit: int) -> list[dict[str, Any]]:
    """The pending alerts due now, oldest first, held from other passes until the claim ends."""
    hold = now + timedelta(seconds=config.timeout_seconds + CLAIM_SECONDS)
    with workspace.connect() as con:  # most passes find nothing due: no write lock then
        if not con.execute("SELECT EXISTS (SELECT 1 FROM webhook_outbox WHERE state = "
                           "'pending' AND next_attempt_at <= ?)", [now]).fetchall()[0][0]:
            return []
    with workspace.transaction() as con:
        # closed, withdrawn or removed (`batches drop --cascade`) meanwhile: nobody needs to
        # hear of it any more
        con.execute("UPDATE webhook_outbox SET state = 'skipped', next_attempt_at = NULL, "
                    "note = 'closed, withdrawn or removed before it was delivered' WHERE "
                    "state = 'pending' AND alert_id NOT IN (SELECT alert_id FROM alerts "
                    "WHERE status NOT IN ('closed', 'withdrawn'))")
        due = _rows(con, "SELECT o.alert_id, o.severity, o.attempts, o.next_attempt_at AS due_at, "
                         "a.declaration_id, "
                         "a.item_no, a.office_id, a.lane, a.source, a.source_id, a.reasons, "
                         "a.expected_revenue, a.fraud_probability, a.opened_at "
                         "FROM webhook_outbox o JOIN alerts a USING (alert_id) "
                         "WHERE o.state = 'pending' AND o.next_attempt_at <= ? "
                         "ORDER BY o.next_attempt_at, o.queued_at, o.alert_id LIMIT ?",
                    [now, limit])
        if due:
            con.executemany("UPDATE webhook_outbox SET next_attempt_at = ? WHERE alert_id = ?",
                            [[hold, d["alert_id"]] for d in due])
    for d in due:
        d["reasons"] = json.loads(d["reasons"] or "[]")
    return due


def post(client: httpx.Client, config: WebhookConfig, body: bytes, event: str,
         delivery: str) -> tuple[int | None, str | None, float]:
    """POST ``body`` signed now; returns (HTTP status or None, error or None, milliseconds).
    Redirects are not followed (a 3xx is a failure: the URL should be the final one)."""
    headers = signed_headers(config.secret, int(time.time()), body, event, delivery)
    started = time.perf_counter()
    try:
        answer = client.post(config.url, content=body, headers=headers,
                             timeout=config.timeout_seconds, follow_redirects=False)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500], (time.perf_counter() - started) * 1e3
    elapsed = (time.perf_counter() - started) * 1e3
    if 200 <= answer.status_code < 300:
        return answer.status_code, None, elapsed
    return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}", elapsed


def _record(con: Any, attempt: Attempt) -> None:
    con.execute("INSERT INTO webhook_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        attempt.alert_id, attempt.attempt, attempt.event, attempt.url, attempt.sent_at,
        attempt.status, attempt.http_status, attempt.error, attempt.duration_ms,
        attempt.next_attempt_at])


def deliver_pending(workspace: Workspace, settings: Settings, *, now: datetime | None = None,
                    client: httpx.Client | None = None,
                    clock: Callable[[], datetime] = utcnow,
                    should_stop: Callable[[], bool] = lambda: False) -> PassResult:
    """One dispatcher pass: open the alerts due, queue the new ones, POST those due (at most
    :data:`BATCH`) and record each attempt. ``now`` fixes the time of the pass (tests).

    The pass ends early at the first connection error or timeout (the receiver is down, so a
    dead receiver costs one timeout a pass, not one per alert), or when ``should_stop`` says
    so; the alerts not tried are due again as they were, before the one that just failed."""
    config = WebhookConfig.from_settings(settings)
    fixed = now is not None
    now = now or clock()
    opened = sync_alerts(workspace, now)
    queued, skipped = queue_new_alerts(workspace, config.min_severity, now)
    due = _claim(workspace, config, now, BATCH)
    delivered = failed = gave_up = 0
    tried = 0
    own = client is None
    http = client or httpx.Client()
    try:
        for alert in due:
            if should_stop():
                break
            tried += 1
            body = encode(alert_payload(alert, alert["severity"]))
            sent_at = now if fixed else clock()
            code, error, elapsed = post(http, config, body, EVENT_ALERT, alert["alert_id"])
            number = int(alert["attempts"]) + 1
            ok = error is None
            last = not ok and number >= config.max_attempts
            retry_at = None if ok or last else sent_at + timedelta(
                seconds=retry_delay_seconds(number, config.retry_seconds))
            attempt = Attempt(alert["alert_id"], number, EVENT_ALERT, shown_url(config.url),
                              sent_at, "delivered" if ok else "failed", code, error,
                              round(elapsed, 1), retry_at)
            with workspace.transaction() as con:
                _record(con, attempt)
                if ok:
                    con.execute("UPDATE webhook_outbox SET state = 'delivered', attempts = ?, "
                                "delivered_at = ?, next_attempt_at = NULL WHERE alert_id = ?",
                                [number, sent_at, alert["alert_id"]])
                elif last:
                    con.execute("UPDATE webhook_outbox SET state = 'failed', attempts = ?, "
                                "next_attempt_at = NULL, note = ? WHERE alert_id = ?",
                                [number, error, alert["alert_id"]])
                    audit.record(con, action="webhook.give_up", object_type="alert",
                                 object_id=alert["alert_id"],
                                 change={"attempts": number, "url": attempt.url,
                                         "last_error": error})
                else:
                    con.execute("UPDATE webhook_outbox SET attempts = ?, next_attempt_at = ?, "
                                "note = ? WHERE alert_id = ?",
                                [number, retry_at, error, alert["alert_id"]])
            if ok:
                delivered += 1
            elif last:
                gave_up += 1
                log.error("webhook delivery of alert %s given up after %d attempts: %s",
                          alert["alert_id"], number, error)
            else:
                failed += 1
                log.warning("webhook delivery of alert %s failed (attempt %d, next at %s): %s",
                            alert["alert_id"], number, retry_at, error)
            if code is None:
                break  # unreachable or timed out: the rest wait for their claim to end
    finally:
        if own:
            http.close()
        if tried < len(due):  # ended early: the alerts not tried are due again as they were
            with workspace.transaction() as con:
                con.executemany("UPDATE webhook_outbox SET next_attempt_at = ? WHERE "
                                "alert_id = ? AND state = 'pending'",
                                [[a["due_at"], a["alert_id"]] for a in due[tried:]])
    return PassResult(opened, queued, skipped, delivered, failed, gave_up)


def send_test(workspace: Workspace, settings: Settings, *,
              client: httpx.Client | None = None) -> Attempt:
    """POST a signed test payload (event ``webhook.test``) once, record the attempt and audit
    it (``webhook.test``); no retry."""
    config = WebhookConfig.from_settings(settings)
    now = utcnow()
    body = encode(ping_payload(now))
    delivery = f"{TEST_DELIVERY}-{now:%Y%m%dT%H%M%S}"
    with client or httpx.Client() as http:
        code, error, elapsed = post(http, config, body, EVENT_TEST, delivery)
    attempt = Attempt(TEST_DELIVERY, 1, EVENT_TEST, shown_url(config.url), now,
                      "delivered" if error is None else "failed", code, error,
                      round(elapsed, 1), None)
    with workspace.transaction() as con:
        _record(con, attempt)
        audit.record(con, action="webhook.test", object_type="webhook", object_id=attempt.url,
                     change={"status": attempt.status, "http_status": code, "error": error})
    return attempt


def recent_deliveries(workspace: Workspace, *, limit: int = 50,
                      alert_id: str | None = None) -> list[Attempt]:
    """The latest delivery attempts, newest first (of one alert when ``alert_id``)."""
    if not 1 <= limit <= 10_000:
        raise ValidationError("invalid limit", [Problem("limit", str(limit),
                                                        "between 1 and 10000")])
    where, params = ("WHERE alert_id = ?", [alert_id]) if alert_id else ("", [])
    with workspace.connect() as con:
        rows = con.execute(
            "SELECT alert_id, attempt, event, url, sent_at, status, http_status, error, "
            f"duration_ms, next_attempt_at FROM webhook_deliveries {where} "
            "ORDER BY sent_at DESC, alert_id, attempt DESC LIMIT ?", [*params, limit]).fetchall()
    return [Attempt(*r) for r in rows]


def outbox_counts(workspace: Workspace) -> dict[str, int]:
    """How many alerts are in each outbox state (every state named, 0 when none)."""
    with workspace.connect() as con:
        found = dict(con.execute("SELECT state, count(*) FROM webhook_outbox GROUP BY state")
                     .fetchall())
    return {state: int(found.get(state, 0)) for state in OUTBOX_STATES}


class Dispatcher:
    """A background thread running :func:`deliver_pending` every ``webhook_poll_seconds`` (and
    once at start) until :meth:`stop`. A failing pass is logged, never raised."""

    def __init__(self, workspace: Workspace, settings: Settings) -> None:
        self.workspace = workspace
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clearlane-webhooks",
                                        daemon=True)

    def start(self) -> Dispatcher:
        WebhookConfig.from_settings(self.settings)  # fail now, not in the thread
        self._thread.start()
        return self

    def _run(self) -> None:
        with httpx.Client() as client, audit.acting_as("clearlane:webhooks"):
            while not self._stop.is_set():
                try:
                    deliver_pending(self.workspace, self.settings, client=client,
                                    should_stop=self._stop.is_set)
                except Exception:  # the thread must survive a bad pass (logged)
                    log.exception("webhook dispatcher pass failed")
                self._stop.wait(self.settings.webhook_poll_seconds)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to end and wait for it (a POST in flight finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout if timeout is not None
                              else self.settings.webhook_timeout_seconds + 5)


def start_dispatcher(workspace: Workspace, settings: Settings) -> Dispatcher | None:
    """A started :class:`Dispatcher` when a webhook_url is set, else None."""
    if settings.webhook_url is None:
        return None
    return Dispatcher(workspace, settings).start()


__all__ = ["BATCH", "OUTBOX_STATES", "Attempt", "Dispatcher", "PassResult", "WebhookConfig",
           "deliver_pending", "outbox_counts", "post", "queue_new_alerts", "recent_deliveries",
           "send_test", "shown_url", "start_dispatcher"]
