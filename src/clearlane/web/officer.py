"""The officer's pages: the work queue of my offices, "next alert", and the case page
(reasons, history, comments, close with the inspection outcome)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.cases.alerts import SORTS, CloseForm
from clearlane.errors import Problem, ValidationError
from clearlane.services import cases
from clearlane.web.access import page
from clearlane.web.render import render

router = APIRouter(include_in_schema=False)
LANES = ("red", "yellow", "blue", "green")
QUEUE_LIMIT = 200
WORK = "cases:work"


def _choice(value: str | None, allowed: tuple[str, ...], default: str | None) -> str | None:
    return value if value in allowed else default


@router.get("/queue")
def queue_page(request: Request, caller: Annotated[Caller, page(WORK)], state: StateDep,
               lane: str | None = None, sort: str | None = None,
               status: str | None = None) -> Response:
    """The queue of the caller's offices; with ``HX-Request`` only the table (htmx)."""
    filters = {"lane": _choice(lane, LANES, None), "sort": _choice(sort, SORTS, "priority"),
               "status": _choice(status, cases.QUEUE_STATUSES, "active")}
    alerts = cases.queue(state.workspace, caller.principal, lane=filters["lane"],
                         sort=str(filters["sort"]), status=str(filters["status"]),
                         limit=QUEUE_LIMIT)
    template = "_queue_rows.html" if request.headers.get("hx-request") else "queue.html"
    return render(request, template, alerts=alerts, filters=filters, lanes=LANES, sorts=SORTS,
                  statuses=cases.QUEUE_STATUSES, limit=QUEUE_LIMIT)


@router.post("/queue/next")
def next_alert(caller: Annotated[Caller, page(WORK)], state: StateDep) -> Response:
    """Take the highest-priority free alert (locked for the caller) and open its case."""
    alert = cases.next_alert(state.workspace, caller.principal)
    return RedirectResponse(f"/cases/{alert.alert_id}", 303)


@router.get("/cases/{alert_id}")
def case_page(request: Request, alert_id: str, caller: Annotated[Caller, page(WORK)],
              state: StateDep) -> Response:
    detail = cases.get_case(state.workspace, caller.principal, alert_id)
    return render(request, "case.html", case=detail, alert=detail.alert)


@router.post("/cases/{alert_id}/comment")
def comment(alert_id: str, caller: Annotated[Caller, page(WORK)], state: StateDep,
            text: Annotated[str, Form(max_length=4000)]) -> Response:
    cases.comment(state.workspace, caller.principal, alert_id, text)
    return RedirectResponse(f"/cases/{alert_id}", 303)


@router.post("/cases/{alert_id}/close")
def close(alert_id: str, caller: Annotated[Caller, page(WORK)], state: StateDep,
          result: Annotated[str, Form()],
          revenue_recovered: Annotated[str, Form()] = "",
          finding: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Close with the outcome: ``result`` fraud / no_fraud / critical (a critical finding is
    a fraud), revenue recovered (national currency) only with a fraud."""
    if result not in ("fraud", "no_fraud", "critical"):
        raise ValidationError("choose the inspection result",
                              [Problem("result", result, "one of fraud, no_fraud, critical")])
    revenue: float | None = None
    if revenue_recovered.strip():
        try:
            revenue = float(revenue_recovered.replace(",", "").strip())
        except ValueError:
            raise ValidationError("revenue recovered is not a number", [Problem(
                "revenue_recovered", revenue_recovered, "a number >= 0 (national currency)")]
            ) from None
    form = CloseForm(fraud=result != "no_fraud", critical=result == "critical",
                     revenue_recovered=revenue, finding=finding.strip() or None)
    cases.close(state.workspace, caller.principal, alert_id, form)
    return RedirectResponse(f"/cases/{alert_id}", 303)


SHOWN_FIELDS = ("hs_code", "goods_description", "origin_country", "departure_country",
                "customs_value", "currency", "quantity", "quantity_unit", "net_mass_kg",
                "tax_rate", "exporter_id", "declarant_id", "transport_mode")
"""The item fields the declaration page lists (all fields are in the API's detail)."""
OUTCOME_SHOWN = ("inspected", "fraud", "critical", "revenue_recovered", "finding",
                 "inspected_at", "officer_id")


@router.get("/declarations/{declaration_id}")
def declaration_page(request: Request, declaration_id: str,
                     caller: Annotated[Caller, page("declarations:read")],
                     state: StateDep) -> Response:
    """Every item's scores with their reasons, lane, rule hits, HS and price checks, and the
    importer's and HS codes' record before the declaration."""
    from clearlane.services.declaration_context import declaration_context
    from clearlane.services.declarations import get_declaration, office_scope

    detail = get_declaration(state.workspace, declaration_id,
                             offices=office_scope(caller.principal))
    context = declaration_context(state.workspace, detail, cache=state.cache)
    checks = {c.item_no: c for c in context.checks}
    return render(request, "declaration.html", declaration=detail, context=context,
                  checks=checks, shown=SHOWN_FIELDS, outcome_shown=OUTCOME_SHOWN)


@router.post("/cases/{alert_id}/snooze")
def snooze(alert_id: str, caller: Annotated[Caller, page(WORK)], state: StateDep,
           until: Annotated[str, Form()], reason: Annotated[str, Form(max_length=4000)]
           ) -> Response:
    """Put the alert aside until a date (its first moment, UTC), with a reason."""
    from datetime import date

    try:
        day = date.fromisoformat(until)
    except ValueError:
        raise ValidationError("not a date", [Problem("until", until, "a date YYYY-MM-DD")]
                              ) from None
    cases.snooze(state.workspace, caller.principal, alert_id, day, reason)
    return RedirectResponse(f"/cases/{alert_id}", 303)


@router.post("/cases/{alert_id}/refer")
def refer(alert_id: str, caller: Annotated[Caller, page(WORK)], state: StateDep,
          office: Annotated[str, Form(max_length=50)],
          reason: Annotated[str, Form(max_length=4000)]) -> Response:
    """Hand the alert to another office's queue, with a reason."""
    cases.refer(state.workspace, caller.principal, alert_id, office, reason)
    return RedirectResponse("/queue", 303)


@router.post("/cases/{alert_id}/release")
def release(alert_id: str, caller: Annotated[Caller, page(WORK)], state: StateDep) -> Response:
    """Give the lock back: the alert returns to the queue."""
    cases.release(state.workspace, caller.principal, alert_id)
    return RedirectResponse("/queue", 303)


@router.post("/cases/{alert_id}/attach")
async def attach(request: Request, alert_id: str, caller: Annotated[Caller, page(WORK)],
                 state: StateDep) -> Response:
    """Store a document on the case (PDF, PNG, JPEG or plain text, checked by its content;
    size-limited)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import UploadFile

    from clearlane.cases.alerts import MAX_ATTACHMENT_BYTES

    upload = (await request.form()).get("document")  # parsed by the access check
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationError("choose a document to attach",
                              [Problem("document", None, "a PDF, PNG, JPEG or text file")])
    content = await upload.read(MAX_ATTACHMENT_BYTES + 1)
    await run_in_threadpool(cases.attach, state.workspace, caller.principal, alert_id,
                            content, upload.filename)
    return RedirectResponse(f"/cases/{alert_id}", 303)


@router.get("/cases/{alert_id}/attachments/{sha256}")
def attachment(alert_id: str, sha256: str, caller: Annotated[Caller, page(WORK)],
               state: StateDep) -> Response:
    """A stored document, sent back with the type recognised when it was attached (never
    shown inline as HTML: downloaded)."""
    info, content = cases.read_attachment(state.workspace, caller.principal, alert_id, sha256)
    name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in info.name)
    return Response(content, media_type=info.media_type, headers={
        "Content-Disposition": f'attachment; filename="{name or info.sha256[:12]}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
