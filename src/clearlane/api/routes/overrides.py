"""Lane overrides over the API: an analyst moves a declaration to another lane of a selection
with a justification (the same use case as `clearlane override`). Every override is kept and
audited (``override.record``); the declaration's alerts follow it: out of red and yellow its
open alerts are withdrawn, into red or yellow an alert is opened (or reopened), each change a
case event, audited (``case.withdraw``, ``case.open``, ``case.reopen``, ``case.relane``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import UtcDatetime
from clearlane.api.routes.cases import AlertPublic
from clearlane.api.routes.cases import _public as public_alert
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.cases.alerts import MAX_TEXT
from clearlane.selection.override import MIN_JUSTIFICATION
from clearlane.services import cases
from clearlane.services.selection import latest_selection, override_lane

router = APIRouter(prefix="/api/v1", tags=["selections"], responses={
    **ERROR_RESPONSES,
    404: ERROR_RESPONSES[401] | {"description": "No such declaration in the selection (or "
                                                "not in the caller's offices), or no "
                                                "selection yet"}})

PERMISSION = "selections:override"
DeclarationId = Annotated[str, Path(min_length=1, max_length=100,
                                    description="The declaration's id (functional reference).")]


class OverrideIn(BaseModel):
    to_lane: Literal["red", "yellow", "blue", "green"] = Field(description="The new lane.")
    justification: str = Field(
        min_length=1, max_length=MAX_TEXT,
        description=f"Why (kept for audit); at least {MIN_JUSTIFICATION} characters once "
                    "trimmed.")
    selection_id: str | None = Field(None, min_length=1, max_length=100,
                                     description="The selection (default: the latest).")


class OverridePublic(BaseModel):
    """The override as recorded, and the declaration's alerts after it."""

    declaration_id: str
    selection_id: str
    from_lane: str
    to_lane: str
    justification: str
    officer_id: str = Field(description="The caller (a user or key name).")
    overridden_at: UtcDatetime
    alerts: list[AlertPublic] = Field(
        description="The declaration's alerts now (status withdrawn when the override took "
                    "the item out of red and yellow).")


@router.post("/declarations/{declaration_id}:override", response_model=OverridePublic)
def override_declaration(declaration_id: DeclarationId, body: OverrideIn,
                         caller: Annotated[Caller, allow(PERMISSION)],
                         workspace: WorkspaceDep) -> OverridePublic:
    """Override the lane of a declaration in a selection (default: the latest), with a
    justification (422 without one). Alerts follow: withdrawn out of red and yellow, opened
    or reopened into them."""
    principal = caller.principal
    cases.check_declaration_scope(workspace, principal, declaration_id)
    selection_id = body.selection_id or latest_selection(workspace)
    done = override_lane(workspace, declaration_id=declaration_id, to_lane=body.to_lane,
                         justification=body.justification, officer_id=principal.name,
                         selection_id=selection_id)
    alerts = cases.declaration_alerts(workspace, principal, declaration_id)
    return OverridePublic(
        declaration_id=done.declaration_id, selection_id=selection_id,
        from_lane=done.from_lane, to_lane=done.to_lane, justification=done.justification,
        officer_id=done.officer_id, overridden_at=done.overridden_at,
        alerts=[public_alert(a) for a in alerts])
