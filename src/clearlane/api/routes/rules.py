"""Risk rules: the rule set lifecycle (draft, back-test, publish, retire; every version with the
assessments it produced) and the rules selections used, as stored in the workspace (each rule
set by profile and fingerprint, each rule version with its definition and hits). The same
services as `clearlane rules`."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import ApiDate, UtcDatetime, jsonable
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.services import rules_lifecycle as lifecycle
from clearlane.services.selection import stored_rules
from clearlane.store.workspace import Workspace

router = APIRouter(prefix="/api/v1", tags=["rules"], responses={
    **ERROR_RESPONSES,
    404: ERROR_RESPONSES[401] | {"description": "No such rule set version (the stored ones "
                                                "are listed)"},
    409: ERROR_RESPONSES[401] | {"description": "The version is not a draft, was never "
                                                "back-tested, or changes a rule under a "
                                                "version already used"}})

MAX_TEXT = 1_000_000
VersionPath = Annotated[int, Path(ge=1, le=2**53, description="The rule set version.")]


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
    """Every rule set selections have used and every rule version stored (by a selection or
    on publishing a rule set; empty before either)."""
    versions, sets = stored_rules(workspace)
    return RulesPublic(
        rule_sets=[RuleSetPublic(**r) for r in sets.iter_rows(named=True)],
        rules=[RuleVersionPublic(**{**r, "definition": _definition(r["definition"])})
               for r in versions.iter_rows(named=True)])


# -- the lifecycle ---------------------------------------------------------------------------------
class RuleSetCreate(BaseModel):
    """A risk profile to store as the next draft (docs/rules.md)."""

    text: str = Field(min_length=1, max_length=MAX_TEXT,
                      description="The risk profile, YAML (as `clearlane rules validate` "
                                  "reads it).")


class BacktestRequest(BaseModel):
    date_from: ApiDate | None = Field(None, description="First declaration date (inclusive); "
                                                        "default: the first stored.")
    date_to: ApiDate | None = Field(None, description="Last declaration date (inclusive); "
                                                      "default: the last stored.")


class BacktestCounts(BaseModel):
    hits: int = Field(description="Declaration items hit.")
    hit_share: float = Field(description="Hits / declaration items in the window.")
    inspected: int = Field(description="Hits that were inspected in the past.")
    frauds: int = Field(description="Inspected hits found fraudulent.")
    hit_rate: float | None = Field(description="Frauds / inspected hits (null without an "
                                               "inspected hit).")
    revenue: float = Field(description="Revenue recovered on the hits, national currency.")
    in_selections: int = Field(description="Hits on items a stored selection ranked.")
    model_selected: int = Field(description="Hits on items a stored selection put in red or "
                                            "yellow by model ranking (overlap with the "
                                            "model).")


class BacktestRule(BacktestCounts):
    rule_id: str
    version: int
    lane: str
    mandatory: bool


class BacktestPublic(BaseModel):
    """A back-test over stored history (docs/rules.md)."""

    date_from: ApiDate | None
    date_to: ApiDate | None
    declarations: int = Field(description="Declaration items in the window.")
    rules: list[BacktestRule]
    totals: BacktestCounts = Field(description="Over the items hit by any rule (each once).")


class RuleUsePublic(BaseModel):
    rule_id: str
    version: int
    lodgement_hits: int = Field(description="Lodgement answers it hit while the set was "
                                            "published.")
    selection_hits: int = Field(description="Items it hit in selections that ran the set.")


class RuleSetVersionSummary(BaseModel):
    """One version of the workspace's rule set and the assessments it produced."""

    version: int
    profile: str
    label: str = Field(description="`PROFILE vN`: `versions.rules` of the lodgement answers "
                                   "it scored.")
    status: str = Field(description="draft, published or retired.")
    fingerprint: str = Field(description="SHA-256 of the rules' meaning.")
    rules: int = Field(description="Number of rules.")
    created_by: str
    created_at: UtcDatetime
    backtested_at: UtcDatetime | None
    published_by: str | None
    published_at: UtcDatetime | None
    retired_by: str | None
    retired_at: UtcDatetime | None
    superseded_by: int | None = Field(description="The version whose publication retired it.")
    assessments: int = Field(description="Lodgement answers and selection lane decisions made "
                                         "with it.")
    lodgements: int = Field(description="Lodgement answers scored with it.")
    lodgement_hits: int = Field(description="Of those, answers with a rule hit.")
    selections: int = Field(description="Batch selections that ran it.")
    selection_hits: int = Field(description="Rule hits those selections stored.")


class RuleSetVersionDetail(RuleSetVersionSummary):
    text: str = Field(description="The risk profile, YAML, as drafted (never changed).")
    backtested_by: str | None
    backtest: BacktestPublic | None = Field(description="The latest back-test.")
    rule_uses: list[RuleUsePublic] = Field(description="What each rule hit.")


def _summary(entry: lifecycle.RuleSetHistory) -> dict[str, Any]:
    v = entry.rule_set
    return {
        "version": v.version, "profile": v.profile, "label": v.label, "status": v.status,
        "fingerprint": v.fingerprint, "rules": len(entry.rules), "created_by": v.created_by,
        "created_at": v.created_at, "backtested_at": v.backtested_at,
        "published_by": v.published_by, "published_at": v.published_at,
        "retired_by": v.retired_by, "retired_at": v.retired_at,
        "superseded_by": v.superseded_by, "assessments": entry.assessments,
        "lodgements": entry.lodgements, "lodgement_hits": entry.lodgement_hits,
        "selections": entry.selections, "selection_hits": entry.selection_hits}


def _detail(workspace: Workspace, version: int) -> RuleSetVersionDetail:
    [entry] = lifecycle.rule_history(workspace, version)
    v = entry.rule_set
    return RuleSetVersionDetail(
        **_summary(entry), text=v.text, backtested_by=v.backtested_by,
        backtest=jsonable(v.backtest),
        rule_uses=[RuleUsePublic(**u.__dict__) for u in entry.rules])


@router.get("/rule-sets", response_model=list[RuleSetVersionSummary])
def list_rule_sets(_: Annotated[Caller, allow("reports:read")],
                   workspace: WorkspaceDep) -> list[RuleSetVersionSummary]:
    """Every version of the workspace's rule set, newest first, with the assessments it
    produced."""
    return [RuleSetVersionSummary(**_summary(e)) for e in lifecycle.rule_history(workspace)]


@router.get("/rule-sets/{version}", response_model=RuleSetVersionDetail)
def show_rule_set(version: VersionPath, _: Annotated[Caller, allow("reports:read")],
                  workspace: WorkspaceDep) -> RuleSetVersionDetail:
    """One version: its YAML, back-test and what each rule hit."""
    return _detail(workspace, version)


@router.post("/rule-sets", response_model=RuleSetVersionDetail, status_code=201)
def draft_rule_set(body: RuleSetCreate, _: Annotated[Caller, allow("rules:edit")],
                   workspace: WorkspaceDep) -> RuleSetVersionDetail:
    """Store a risk profile as the next draft version (422 names the line, rule and field of
    every problem; 409 when a rule changes under a version already used)."""
    drafted = lifecycle.draft_rules(workspace, body.text, source="text")
    return _detail(workspace, drafted.version)


@router.post("/rule-sets/{version}:backtest", response_model=RuleSetVersionDetail)
def backtest_rule_set(version: VersionPath, _: Annotated[Caller, allow("rules:edit")],
                      workspace: WorkspaceDep,
                      body: BacktestRequest | None = None) -> RuleSetVersionDetail:
    """Back-test a draft over stored history and store the result with it."""
    body = body or BacktestRequest()
    lifecycle.backtest_draft(workspace, version, date_from=body.date_from,
                             date_to=body.date_to)
    return _detail(workspace, version)


@router.post("/rule-sets/{version}:publish", response_model=RuleSetVersionDetail)
def publish_rule_set(version: VersionPath, _: Annotated[Caller, allow("rules:publish")],
                     workspace: WorkspaceDep) -> RuleSetVersionDetail:
    """Publish a back-tested draft (lodgement and `clearlane select` use it from the next
    request); the set published before it is retired. Four-eyes rule: the caller who drafted
    the version may not publish it (403, the problem names the version and its drafter); a
    second person publishes it."""
    lifecycle.publish_rules(workspace, version)
    return _detail(workspace, version)


@router.post("/rule-sets/{version}:retire", response_model=RuleSetVersionDetail)
def retire_rule_set(version: VersionPath, _: Annotated[Caller, allow("rules:publish")],
                    workspace: WorkspaceDep) -> RuleSetVersionDetail:
    """Retire a draft or the published set (then no rule set is published)."""
    lifecycle.retire_rules(workspace, version)
    return _detail(workspace, version)
