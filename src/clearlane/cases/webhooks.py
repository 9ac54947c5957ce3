"""Webhook notifications of alerts: how severe an alert is, the JSON sent, and its signature.

Pure functions, no I/O: :mod:`clearlane.services.notifications` stores the outbox and posts.

**Severity** (one definition, :func:`alert_severity`), the highest of:

- ``critical``: a hit of a rule of severity ``critical``;
- ``high``: the red lane, or a hit of a rule of severity ``high``;
- ``medium``: the yellow lane, or a hit of a rule of severity ``medium``;
- ``low``: anything else (e.g. a low-severity rule hit in blue).

A rule hit's severity is its reason's ``evidence.severity`` (lodgement reasons carry it), else
its reason's weight, which is the rule's severity rank (1 low … 4 critical, as selections store
it).

**Signature**: ``X-Clearlane-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256, keyed with the shared secret, of ``<t>.`` followed by the raw body bytes. A
receiver recomputes it over the body as received, compares in constant time and refuses a
``t`` more than :data:`REPLAY_WINDOW_SECONDS` away from its own clock
(:func:`verify_signature` is the recipe). ``X-Clearlane-Delivery`` names the alert (the same on
every retry of it): deliveries are at least once, so a receiver drops a delivery id it has
already processed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from clearlane.errors import Problem, ValidationError

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
"""Alert severities, least severe first."""

SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES, 1)}

_LANE_SEVERITY: dict[str, str] = {"red": "high", "yellow": "medium"}
_RULE_RANK_SEVERITY: dict[int, str] = {1: "low", 2: "medium", 3: "high", 4: "critical"}

SIGNATURE_HEADER = "X-Clearlane-Signature"
EVENT_HEADER = "X-Clearlane-Event"
DELIVERY_HEADER = "X-Clearlane-Delivery"
REPLAY_WINDOW_SECONDS = 300
"""A receiver refuses a signature whose timestamp is further than this from its clock."""

EVENT_ALERT = "alert.opened"
EVENT_TEST = "webhook.test"
SCHEMA_VERSION = 1


def check_severity(name: str) -> str:
    """``name`` if it is a severity, else a ValidationError listing the valid ones."""
    if name not in SEVERITY_RANK:
        raise ValidationError("unknown severity", [
            Problem("severity", name, "valid: " + ", ".join(SEVERITIES))])
    return name


def _rule_severity(reason: Mapping[str, Any]) -> str | None:
    if reason.get("code") != "RULE_HIT":
        return None
    evidence = reason.get("evidence") or {}
    named = evidence.get("severity") if isinstance(evidence, Mapping) else None
    if isinstance(named, str) and named in SEVERITY_RANK:
        return named
    try:
        rank = int(float(reason.get("weight") or 0))
    except (TypeError, ValueError):
        return None
    return _RULE_RANK_SEVERITY.get(max(1, min(rank, 4)))


def alert_severity(lane: str | None, reasons: Sequence[Mapping[str, Any]]) -> str:
    """The severity of an alert of ``lane`` with ``reasons`` (see the module docstring)."""
    found = [_LANE_SEVERITY.get(lane or "", "low")]
    found += [s for s in (_rule_severity(r) for r in reasons) if s is not None]
    return max(found, key=SEVERITY_RANK.__getitem__)


def at_least(severity: str, minimum: str) -> bool:
    """Whether ``severity`` is ``minimum`` or more severe."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[check_severity(minimum)]


def case_link(alert_id: str) -> str:
    """The API path of the case (relative: the receiver knows where its server is)."""
    return f"/api/v1/cases/{alert_id}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def alert_payload(alert: Mapping[str, Any], severity: str) -> dict[str, Any]:
    """The JSON object posted for an opened alert. ``alert`` holds the alerts table's columns
    (``reasons`` decoded to a list); times are UTC, amounts in national currency."""
    reasons = [{"code": str(r.get("code", "")), "text": str(r.get("text", ""))}
               for r in alert.get("reasons") or [] if isinstance(r, Mapping)]
    revenue = alert.get("expected_revenue")
    probability = alert.get("fraud_probability")
    return {
        "schema": SCHEMA_VERSION,
        "event": EVENT_ALERT,
        "alert": {
            "alert_id": alert["alert_id"],
            "severity": severity,
            "declaration_id": alert["declaration_id"],
            "item_no": int(alert["item_no"]),
            "office_id": alert.get("office_id"),
            "lane": alert.get("lane"),
            "source": alert.get("source"),
            "source_id": alert.get("source_id"),
            "reasons": reasons,
            "summary": "; ".join(r["text"] for r in reasons if r["text"]),
            "expected_revenue": None if revenue is None else float(revenue),
            "fraud_probability": None if probability is None else float(probability),
            "opened_at": _iso(alert.get("opened_at")),
            "link": case_link(str(alert["alert_id"])),
        },
    }


def ping_payload(now: datetime) -> dict[str, Any]:
    """The JSON object of `clearlane notify test`: no alert, only the event and the time."""
    return {"schema": SCHEMA_VERSION, "event": EVENT_TEST, "sent_at": _iso(now),
            "message": "Clearlane webhook test: the signature verifies with your secret."}


def encode(payload: Mapping[str, Any]) -> bytes:
    """The body bytes: compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of :data:`SIGNATURE_HEADER`: ``t=<unix seconds>,v1=<hex>``."""
    return f"t={int(timestamp)},v1={signature(secret, timestamp, body)}"


def signed_headers(secret: str, timestamp: int, body: bytes, event: str,
                   delivery: str) -> dict[str, str]:
    """Every header of one delivery."""
    return {"Content-Type": "application/json", SIGNATURE_HEADER:
            signature_header(secret, timestamp, body), EVENT_HEADER: event,
            DELIVERY_HEADER: delivery, "User-Agent": "clearlane-webhook/1"}


def verify_signature(secret: str, header: str, body: bytes, now: float, *,
                     tolerance: int = REPLAY_WINDOW_SECONDS) -> bool:
    """What a receiver does: True when ``header`` (``t=…,v1=…``; several ``v1`` allowed, e.g.
    during a secret rotation) signs ``body`` with ``secret`` and its ``t`` is within
    ``tolerance`` seconds of ``now`` (unix seconds)."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


def retry_delay_seconds(attempt: int, base_seconds: int, cap_seconds: int = 3600) -> int:
    """Wait after failed attempt number ``attempt`` (1-based): ``base``, then doubling, at most
    ``cap_seconds``."""
    return int(min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1)))


__all__ = ["DELIVERY_HEADER", "EVENT_ALERT", "EVENT_HEADER", "EVENT_TEST",
           "REPLAY_WINDOW_SECONDS", "SEVERITIES", "SEVERITY_RANK", "SIGNATURE_HEADER",
           "alert_payload", "alert_severity", "at_least", "case_link", "check_severity",
           "encode", "ping_payload", "retry_delay_seconds", "signature", "signature_header",
           "signed_headers", "verify_signature"]
