"""Alerts and cases for officers: the queue of their offices, "next" (locks an alert for the
caller), comments, attachments, snooze, referral, release and close (which records the
inspection outcome as `clearlane outcomes record` does). The same services as `clearlane
cases`. Another office's alert answers 404, as one that does not exist."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import ApiDate, UtcDatetime, jsonable
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.cases.alerts import (
    DEFAULT_LOCK_MINUTES,
    MAX_ATTACHMENT_BYTES,
    MAX_LOCK_MINUTES,
    MAX_TEXT,
    MEDIA_TYPES,
    CloseForm,
)
from clearlane.errors import Problem, ValidationError
from clearlane.services import cases as service

router = APIRouter(prefix="/api/v1", tags=["cases"], responses={
    **ERROR_RESPONSES,
    404: ERROR_RESPONSES[401] | {"description": "No such alert in the caller's offices (or "
                                                "no free alert for `cases:next`)"},
    409: ERROR_RESPONSES[401] | {"description": "The alert is locked by another officer "
                                                "(named, with the lock's end) or closed"}})

PERMISSION = "cases:work"
AlertId = Annotated[str, Path(pattern=r"^A[0-9a-f]{12}$",
                              description="The alert's id: A and 12 hex digits.")]
Lane = Literal["red", "yellow", "blue", "green"]


class CaseEventPublic(BaseModel):
    at: UtcDatetime
    actor: str = Field(description="Who did it (a user or key name; `clearlane` for opening).")
    kind: str = Field(description="open, lock, release, comment, attach, snooze, refer, "
                                  "close, withdraw, reopen or relane.")
    detail: dict[str, Any]


class AttachmentPublic(BaseModel):
    sha256: str = Field(description="SHA-256 of the content (hex); names the stored file.")
    name: str
    media_type: str = Field(description="Recognised from the content: "
                                        + ", ".join(MEDIA_TYPES) + ".")
    size: int = Field(description="Bytes.")
    added_at: UtcDatetime
    added_by: str


class AlertPublic(BaseModel):
    """One alert: why it was opened, where it stands now."""

    alert_id: str
    declaration_id: str
    item_no: int
    office_id: str | None = Field(description="The office whose queue holds it.")
    lane: str | None = Field(description="The lane that opened it (or the lane of the item "
                                         "a high-severity rule hit).")
    source: str = Field(description="selection, lodgement, rule or override.")
    source_id: str | None = Field(description="The selection id or the lodgement batch id.")
    reasons: list[dict[str, Any]] = Field(description="The reasons behind the lane "
                                                      "(code, text, weight, evidence).")
    expected_revenue: float | None = Field(description="National currency (higher = riskier).")
    fraud_probability: float | None = Field(description="0-1 (higher = riskier).")
    opened_at: UtcDatetime
    waiting_hours: float = Field(description="Hours since it was opened.")
    status: str = Field(description="open, locked, snoozed, closed or withdrawn (now: an "
                                    "expired lock or snooze is open again).")
    locked_by: str | None
    locked_until: UtcDatetime | None
    snoozed_until: UtcDatetime | None
    snooze_reason: str | None
    referred_from: str | None = Field(description="The office that referred it here.")
    closed_at: UtcDatetime | None
    closed_by: str | None
    outcome: dict[str, Any] | None = Field(description="The closing outcome.")


class CaseDetailPublic(BaseModel):
    alert: AlertPublic
    events: list[CaseEventPublic] = Field(description="Oldest first.")
    attachments: list[AttachmentPublic]


class NextRequest(BaseModel):
    lock_minutes: int = Field(DEFAULT_LOCK_MINUTES, ge=1, le=MAX_LOCK_MINUTES,
                              description="How long the lock lasts unless released or closed.")
    lane: Lane | None = Field(None, description="Only alerts of this lane.")


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="The note.")


class SnoozeIn(BaseModel):
    until: datetime | ApiDate = Field(
        description="When the alert comes back to the queue (UTC; a date is its first "
                    "moment); must be in the future.")
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


class ReferIn(BaseModel):
    office: str = Field(min_length=1, max_length=50, description="The office to refer to.")
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


class CloseIn(BaseModel):
    """The inspection outcome; recorded as `clearlane outcomes record` records one."""

    fraud: bool = Field(description="Whether the inspection found fraud.")
    critical: bool = Field(False, description="The finding was critical.")
    revenue_recovered: float | None = Field(
        None, ge=0, allow_inf_nan=False,
        description="Additional duties and taxes raised, national currency (only with fraud).")
    finding: str | None = Field(None, max_length=MAX_TEXT, description="Finding, free text.")
    inspected_at: ApiDate | None = Field(None, description="Inspection date (default: today).")


def _public(alert: service.Alert) -> AlertPublic:
    values = dict(alert.__dict__)
    values["reasons"] = jsonable(values["reasons"])
    values["outcome"] = jsonable(values["outcome"])
    values["expected_revenue"] = jsonable(values["expected_revenue"])
    values["fraud_probability"] = jsonable(values["fraud_probability"])
    return AlertPublic(**values)


def _attachment(info: service.Attachment) -> AttachmentPublic:
    return AttachmentPublic(**info.__dict__)


@router.get("/cases", response_model=list[AlertPublic])
def list_cases(
    caller: Annotated[Caller, allow(PERMISSION)], workspace: WorkspaceDep,
    lane: Annotated[Lane | None, Query(description="Only this lane.")] = None,
    status: Annotated[Literal["active", "open", "locked", "snoozed", "closed", "withdrawn",
                              "all"], Query(
        description="active (open or locked), open, locked, snoozed, closed, withdrawn (by a "
                    "lane override) or all.")
    ] = "active",
    office: Annotated[str | None, Query(min_length=1, max_length=50,
                                        description="Only this office (of yours).")] = None,
    sort: Annotated[Literal["priority", "waiting", "revenue", "lane"], Query(
        description="priority (lane, then expected revenue, then waiting), waiting (longest "
                    "first), revenue (highest first) or lane.")] = "priority",
    limit: Annotated[int, Query(ge=1, le=service.MAX_QUEUE)] = 100,
) -> list[AlertPublic]:
    """The queue of the caller's offices (alerts are opened from the latest selections and
    lodgement answers first)."""
    return [_public(a) for a in service.queue(workspace, caller.principal, lane=lane,
                                              status=status, office=office, sort=sort,
                                              limit=limit)]


@router.post("/cases:next", response_model=AlertPublic)
def next_case(caller: Annotated[Caller, allow(PERMISSION)], workspace: WorkspaceDep,
              body: NextRequest | None = None) -> AlertPublic:
    """Lock the next alert of the caller's offices for the caller and return it: red before
    yellow, then the highest expected revenue, then the longest waiting. Two callers asking
    at once never get the same alert; 404 when none is free."""
    body = body or NextRequest()
    return _public(service.next_alert(workspace, caller.principal,
                                      lock_minutes=body.lock_minutes, lane=body.lane))


@router.get("/cases/{alert_id}", response_model=CaseDetailPublic)
def show_case(alert_id: AlertId, caller: Annotated[Caller, allow(PERMISSION)],
              workspace: WorkspaceDep) -> CaseDetailPublic:
    """One alert with its events and attachments."""
    case = service.get_case(workspace, caller.principal, alert_id)
    return CaseDetailPublic(
        alert=_public(case.alert),
        events=[CaseEventPublic(at=e.at, actor=e.actor, kind=e.kind, detail=jsonable(e.detail))
                for e in case.events],
        attachments=[_attachment(a) for a in case.attachments])


@router.post("/cases/{alert_id}/comments", response_model=AlertPublic, status_code=201)
def add_comment(alert_id: AlertId, body: CommentIn,
                caller: Annotated[Caller, allow(PERMISSION)],
                workspace: WorkspaceDep) -> AlertPublic:
    """Add a note to the case (409 while another officer holds it)."""
    return _public(service.comment(workspace, caller.principal, alert_id, body.text))


@router.post("/cases/{alert_id}/attachments", response_model=AttachmentPublic,
             status_code=201, openapi_extra={"requestBody": {
                 "required": True, "description": "The document itself, at most "
                 f"{MAX_ATTACHMENT_BYTES} bytes: " + ", ".join(MEDIA_TYPES)
                 + " (recognised by content; the Content-Type must agree).",
                 "content": {t: {"schema": {"type": "string", "format": "binary"}}
                             for t in MEDIA_TYPES}}})
async def add_attachment(
    alert_id: AlertId, request: Request, caller: Annotated[Caller, allow(PERMISSION)],
    workspace: WorkspaceDep,
    filename: Annotated[str, Query(min_length=1, max_length=200,
                                   description="The document's file name.")],
) -> AttachmentPublic:
    """Attach a document (the raw request body) to the case; stored in the workspace under
    its SHA-256, once per content. Larger than the limit, or not a PDF, PNG, JPEG or plain
    text: 422 naming the problem."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_ATTACHMENT_BYTES):
        raise ValidationError("the attachment is too large", [
            Problem("content", f"{declared} bytes", f"at most {MAX_ATTACHMENT_BYTES} bytes")])
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise ValidationError("the attachment is too large", [
                Problem("content", f"over {MAX_ATTACHMENT_BYTES} bytes",
                        f"at most {MAX_ATTACHMENT_BYTES} bytes")])
    info = await run_in_threadpool(service.attach, workspace, caller.principal, alert_id,
                                   bytes(content), filename, request.headers.get("content-type"))
    return _attachment(info)


@router.get("/cases/{alert_id}/attachments/{sha256}",
            responses={200: {"content": {t: {} for t in MEDIA_TYPES},
                             "description": "The document, with its media type."}})
def get_attachment(
    alert_id: AlertId,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256, hex.")],
    caller: Annotated[Caller, allow(PERMISSION)], workspace: WorkspaceDep,
) -> Response:
    """The content of one attachment of the case."""
    info, content = service.read_attachment(workspace, caller.principal, alert_id, sha256)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in info.name)
    return Response(content, media_type=info.media_type, headers={
        "Content-Disposition": f'attachment; filename="{safe}"',
        "X-Content-Type-Options": "nosniff"})


@router.post("/cases/{alert_id}:snooze", response_model=AlertPublic)
def snooze_case(alert_id: AlertId, body: SnoozeIn,
                caller: Annotated[Caller, allow(PERMISSION)],
                workspace: WorkspaceDep) -> AlertPublic:
    """Put the alert aside until a date, with a reason; the caller's lock ends."""
    until: date | datetime = body.until
    return _public(service.snooze(workspace, caller.principal, alert_id, until, body.reason))


@router.post("/cases/{alert_id}:refer", response_model=AlertPublic)
def refer_case(alert_id: AlertId, body: ReferIn, caller: Annotated[Caller, allow(PERMISSION)],
               workspace: WorkspaceDep) -> AlertPublic:
    """Hand the alert to another office's queue, with a reason."""
    return _public(service.refer(workspace, caller.principal, alert_id, body.office,
                                 body.reason))


@router.post("/cases/{alert_id}:release", response_model=AlertPublic)
def release_case(alert_id: AlertId, caller: Annotated[Caller, allow(PERMISSION)],
                 workspace: WorkspaceDep) -> AlertPublic:
    """Give the caller's lock back; the alert returns to the queue."""
    return _public(service.release(workspace, caller.principal, alert_id))


@router.post("/cases/{alert_id}:close", response_model=AlertPublic)
def close_case(alert_id: AlertId, body: CloseIn, caller: Annotated[Caller, allow(PERMISSION)],
               workspace: WorkspaceDep) -> AlertPublic:
    """Close the case with the inspection outcome. The outcome is recorded as `clearlane
    outcomes record` (and `POST /api/v1/outcomes`) records it: the label of the next retrain,
    counted by `GET /api/v1/performance`."""
    form = CloseForm(fraud=body.fraud, critical=body.critical,
                     revenue_recovered=body.revenue_recovered, finding=body.finding,
                     inspected_at=body.inspected_at)
    return _public(service.close(workspace, caller.principal, alert_id, form))
