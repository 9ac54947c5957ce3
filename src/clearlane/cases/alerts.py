"""Alerts and cases: the states an alert goes through, and the checks on what officers send.

An alert is opened once per declaration item (a red or yellow lane, or a high-severity rule
hit) and stays until an officer closes it with the inspection outcome, or until a lane override
takes its item out of red and yellow (``withdrawn``; an override back into red or yellow opens
it again). Its stored ``status`` is ``open``, ``snoozed``, ``closed`` or ``withdrawn``; a lock
(``locked_by`` until ``locked_until``) is held on top of it by the officer working it.
:func:`effective_status` says what the alert is *now*: a lock past its end is free again, a
snooze past its end is open again.

Attachments are type-checked by their first bytes, never by the name or the media type the
sender claims (:func:`sniff_media_type`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from clearlane.errors import ConflictError, Problem, ValidationError

STATUSES: tuple[str, ...] = ("open", "locked", "snoozed", "closed", "withdrawn")
"""Effective statuses, as :func:`effective_status` computes them."""

STORED_STATUSES: tuple[str, ...] = ("open", "snoozed", "closed", "withdrawn")

FINAL_STATUSES: frozenset[str] = frozenset({"closed", "withdrawn"})
"""Statuses in which no officer may change the alert (only an override reopens a withdrawn
one)."""

EVENT_KINDS: tuple[str, ...] = ("open", "lock", "release", "comment", "attach", "snooze",
                                "refer", "close", "withdraw", "reopen", "relane")

ALERT_LANES: frozenset[str] = frozenset({"red", "yellow"})
"""Lanes that open an alert by themselves."""

LANE_PRIORITY: dict[str, int] = {"red": 0, "yellow": 1}
"""Lanes in the order ``next`` hands alerts out (others, e.g. a rule hit in blue, come last)."""

ALERT_RULE_SEVERITIES: frozenset[str] = frozenset({"high", "critical"})
"""Rule severities whose hits open an alert whatever the lane."""

SORTS: tuple[str, ...] = ("priority", "waiting", "revenue", "lane")
"""Queue orders: ``priority`` (lane, then expected revenue, then waiting time), ``waiting``
(longest waiting first), ``revenue`` (highest expected revenue first), ``lane``."""

DEFAULT_LOCK_MINUTES = 30
MAX_LOCK_MINUTES = 8 * 60
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""Largest attachment accepted (10 MiB)."""
MAX_TEXT = 4000
"""Longest comment, reason or finding (characters)."""

MEDIA_TYPES: tuple[str, ...] = ("application/pdf", "image/png", "image/jpeg", "text/plain")
"""Attachment types accepted, recognised by their content."""

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def alert_id_for(declaration_id: str, item_no: int) -> str:
    """The alert id of a declaration item: ``A`` and 12 hex digits, stable and URL-safe."""
    digest = hashlib.sha256(f"{declaration_id}\x1f{item_no}".encode()).hexdigest()
    return f"A{digest[:12]}"


def effective_status(status: str, locked_by: str | None, locked_until: datetime | None,
                     snoozed_until: datetime | None, now: datetime) -> str:
    """What the alert is at ``now``: closed, withdrawn, snoozed (until its end), locked (until
    the lock ends) or open."""
    if status in FINAL_STATUSES:
        return status
    if status == "snoozed" and snoozed_until is not None and snoozed_until > now:
        return "snoozed"
    if locked_by is not None and locked_until is not None and locked_until > now:
        return "locked"
    return "open"


def check_can_act(status: str, locked_by: str | None, locked_until: datetime | None,
                  snoozed_until: datetime | None, now: datetime, actor: str,
                  alert_id: str) -> str:
    """The effective status when ``actor`` may change the alert, else a ConflictError naming
    who holds it and until when (or that it is closed)."""
    current = effective_status(status, locked_by, locked_until, snoozed_until, now)
    if current in FINAL_STATUSES:
        raise ConflictError(f"alert {alert_id} is {current}; it can no longer change")
    if current == "locked" and locked_by != actor:
        assert locked_until is not None
        raise ConflictError(f"alert {alert_id} is locked by {locked_by} until "
                            f"{locked_until.isoformat(timespec='seconds')} UTC")
    return current


def check_text(name: str, value: str | None, *, required: bool = True) -> str | None:
    """``value`` stripped; a ValidationError naming ``name`` when empty (and required) or
    longer than :data:`MAX_TEXT`."""
    text = None if value is None else value.strip()
    if not text:
        if required:
            raise ValidationError(f"{name} is required", [Problem(name, value, "is required")])
        return None
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{name} is too long", [
            Problem(name, text[:40] + "…", f"at most {MAX_TEXT} characters")])
    return text


def check_lock_minutes(minutes: int) -> int:
    if not 1 <= minutes <= MAX_LOCK_MINUTES:
        raise ValidationError("lock length out of range", [
            Problem("lock_minutes", str(minutes), f"between 1 and {MAX_LOCK_MINUTES} minutes")])
    return minutes


def check_snooze_until(until: date | datetime, now: datetime) -> datetime:
    """The end of a snooze (a date means the start of that day, UTC) if after ``now``."""
    end = until if isinstance(until, datetime) else datetime(until.year, until.month, until.day)
    if end.tzinfo is not None:
        end = end.astimezone(UTC).replace(tzinfo=None)
    if end <= now:
        raise ValidationError("a snooze must end in the future", [
            Problem("until", end.isoformat(), f"after {now.isoformat(timespec='seconds')} UTC")])
    return end


def check_office(office: str) -> str:
    code = office.strip()
    if not code or len(code) > 50:
        raise ValidationError("invalid office code", [
            Problem("office", office, "an office code such as ABJ01 (1-50 characters)")])
    return code


@dataclass(frozen=True)
class CloseForm:
    """The inspection outcome an officer closes a case with."""

    fraud: bool
    critical: bool = False
    revenue_recovered: float | None = None
    finding: str | None = None
    inspected_at: date | None = None

    def validated(self) -> CloseForm:
        """This form, checked: revenue >= 0 and only with fraud; a finding of sane length."""
        problems = []
        revenue = self.revenue_recovered
        if revenue is not None and not (revenue >= 0 and revenue < float("inf")):
            problems.append(Problem("revenue_recovered", str(revenue),
                                    "must be a finite number >= 0 (national currency)"))
        elif revenue and not self.fraud:
            problems.append(Problem("revenue_recovered", str(revenue),
                                    "revenue recovered on an inspection that found no fraud"))
        if problems:
            raise ValidationError("the closing outcome is not valid", problems)
        finding = check_text("finding", self.finding, required=False)
        return CloseForm(self.fraud, self.critical, revenue, finding, self.inspected_at)

    def outcome_row(self, declaration_id: str, item_no: int, officer: str,
                    today: date) -> dict[str, Any]:
        """The row `clearlane outcomes record` takes for this outcome."""
        return {"declaration_id": declaration_id, "item_no": item_no, "fraud": self.fraud,
                "revenue_recovered": self.revenue_recovered, "critical": self.critical,
                "finding": self.finding, "inspected_at": self.inspected_at or today,
                "officer_id": officer}

    def label(self) -> str:
        """``fraud``, ``critical`` (fraud found critical) or ``no fraud``."""
        if self.fraud and self.critical:
            return "critical"
        return "fraud" if self.fraud else "no fraud"


def sniff_media_type(content: bytes) -> str | None:
    """The media type of ``content`` from its first bytes (PDF, PNG, JPEG), or ``text/plain``
    for UTF-8 text without control characters other than tab, CR and LF; None otherwise."""
    for magic, media_type in _MAGIC:
        if content.startswith(magic):
            return media_type
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any((ord(c) < 32 and c not in "\t\r\n") or ord(c) == 127 for c in text):
        return None
    return "text/plain"


def check_attachment(content: bytes, name: str, claimed: str | None = None) -> str:
    """The media type of an attachment; a ValidationError when it is empty, larger than
    :data:`MAX_ATTACHMENT_BYTES`, not one of :data:`MEDIA_TYPES`, or not what ``claimed``
    (a Content-Type, parameters ignored) says."""
    clean = check_attachment_name(name)
    if not content:
        raise ValidationError("the attachment is empty", [Problem("content", clean, "is empty")])
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise ValidationError("the attachment is too large", [
            Problem("content", f"{len(content)} bytes",
                    f"at most {MAX_ATTACHMENT_BYTES} bytes")])
    found = sniff_media_type(content)
    if found is None:
        raise ValidationError("the attachment is not an accepted type", [
            Problem("content", clean, "accepted: " + ", ".join(MEDIA_TYPES)
                    + " (recognised by content)")])
    if claimed is not None:
        said = claimed.split(";", 1)[0].strip().lower()
        if said and said not in ("application/octet-stream", found):
            raise ValidationError("the attachment is not what its Content-Type says", [
                Problem("Content-Type", claimed, f"the content is {found}")])
    return found


def check_attachment_name(name: str) -> str:
    """A file name without folders or control characters, 1-200 characters."""
    clean = name.strip()
    if (not clean or len(clean) > 200 or "/" in clean or "\\" in clean or clean in (".", "..")
            or any(ord(c) < 32 for c in clean)):
        raise ValidationError("invalid attachment name", [
            Problem("filename", name, "a plain file name (no folders), 1-200 characters")])
    return clean
