"""The analyst's data pages: the data-quality report and the quarantine browser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.services import quality
from clearlane.services.declarations import office_scope
from clearlane.services.workspace import quarantine_problems
from clearlane.web.access import page
from clearlane.web.render import render

router = APIRouter(include_in_schema=False)
QUARANTINE_LIMIT = 200


@router.get("/quality")
def quality_page(request: Request, caller: Annotated[Caller, page("reports:read")],
                 state: StateDep, batch_id: str | None = None) -> Response:
    """Score, rows, per-field completeness and validity, range checks and the top issues of
    the workspace or one ingest batch (the report of `clearlane quality`)."""
    report = quality.cached_quality_report(state.workspace, state.cache,
                                           batch_id or None).to_dict()
    return render(request, "quality.html", report=report, batch_id=batch_id or "")


@router.get("/quarantine")
def quarantine_page(request: Request, caller: Annotated[Caller, page("declarations:read")],
                    state: StateDep, batch_id: str | None = None) -> Response:
    """Rejected rows, one line per problem: file, row, field, value refused and reason. A
    rejected row has no trusted office, so an office-scoped officer sees none."""
    scoped = office_scope(caller.principal) is not None
    rows = ([] if scoped else
            quarantine_problems(state.workspace, batch_id or None,
                                QUARANTINE_LIMIT).to_dicts())
    return render(request, "quarantine.html", rows=rows, batch_id=batch_id or "",
                  limit=QUARANTINE_LIMIT, scoped=scoped)
