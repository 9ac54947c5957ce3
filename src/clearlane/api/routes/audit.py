"""The audit chain: read it, verify it (naming the first broken entry), checkpoint its head."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.security import Caller, allow
from clearlane.api.state import StateDep, WorkspaceDep
from clearlane.audit import AuditEntry
from clearlane.services import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)


class AuditEntryPublic(BaseModel):
    sequence: int
    recorded_at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    change: str = Field(description="The change as canonical JSON.")
    change_digest: str
    previous_hash: str
    hash: str


class ChainBreakPublic(BaseModel):
    sequence: int = Field(description="The first entry that does not verify.")
    kind: str = Field(description="edited, deleted, reordered, truncated, rewritten or "
                                  "signature")
    detail: str


class Verification(BaseModel):
    ok: bool
    entries: int
    head_sequence: int | None
    head_hash: str | None
    checkpoint_sequence: int | None = Field(
        description="The head signed in the checkpoint file (None: no checkpoint yet).")
    broken: ChainBreakPublic | None


def _entry(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic(**{f: getattr(entry, f) for f in AuditEntryPublic.model_fields})


@router.get("/log", response_model=list[AuditEntryPublic])
def audit_log(_: Annotated[Caller, allow("audit:read")], workspace: WorkspaceDep,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> list[AuditEntryPublic]:
    """The last ``limit`` entries, oldest first."""
    return [_entry(e) for e in audit.log(workspace, limit)]


@router.get("/verify", response_model=Verification)
def verify(_: Annotated[Caller, allow("audit:read")], state: StateDep) -> Verification:
    """Recompute the chain and check it against the signed checkpoint; name the first break."""
    result = audit.verify_workspace(state.workspace, state.settings)
    b = result.broken
    return Verification(
        ok=result.ok, entries=result.entries,
        head_sequence=result.head.sequence if result.head else None,
        head_hash=result.head.hash if result.head else None,
        checkpoint_sequence=result.checkpoint.sequence if result.checkpoint else None,
        broken=ChainBreakPublic(sequence=b.sequence, kind=b.kind, detail=b.detail) if b else None)
