"""The risk rules selections used, as stored in the workspace: each rule set (profile and
fingerprint) and each rule version with its definition and hits."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import UtcDatetime
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.services.selection import stored_rules

router = APIRouter(prefix="/api/v1", tags=["rules"], responses=ERROR_RESPONSES)


class RuleSetPublic(BaseModel):
    """A risk profile (YAML rule set) as selections used it."""

    profile: str
    fingerprint: str | None = Field(description="SHA-256 of the profile's content.")
    selections: int = Field(description="Selections that used it.")
    first_used_at: UtcDatetime
    last_used_at: UtcDatetime


class RuleVersionPublic(BaseModel):
    """One version of one rule: a rule changed under the same version is refused, so a
    version names one definition for ever."""

    rule_id: str
    version: int
    profile: str = Field(description="The profile it was first used in.")
    definition: dict[str, Any] = Field(
        description="The rule as stored: lane, severity, mandatory, validity, owner, "
                    "conditions (see docs/rules.md).")
    first_used_at: UtcDatetime
    selections: int = Field(description="Selections in which it hit at least once.")
    hits: int = Field(description="Declaration items it hit, over every selection.")


class RulesPublic(BaseModel):
    rule_sets: list[RuleSetPublic]
    rules: list[RuleVersionPublic]


def _definition(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@router.get("/rules", response_model=RulesPublic)
def list_rules(_: Annotated[Caller, allow("reports:read")],
               workspace: WorkspaceDep) -> RulesPublic:
    """Every rule set and rule version selections have used (empty before a selection with
    `clearlane select --rules PROFILE.yaml`)."""
    versions, sets = stored_rules(workspace)
    return RulesPublic(
        rule_sets=[RuleSetPublic(**r) for r in sets.iter_rows(named=True)],
        rules=[RuleVersionPublic(**{**r, "definition": _definition(r["definition"])})
               for r in versions.iter_rows(named=True)])
