"""Read declarations and their latest risk assessments: a filtered, paged list and one
declaration's detail (every detail read is one audit entry). Officers see only their offices."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import EARLIEST, LATEST, UtcDatetime, finite, jsonable
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.schema.reasons import Reason, RiskAssessment, ScorerScore
from clearlane.services import declarations as service

router = APIRouter(prefix="/api/v1", tags=["declarations"],
                   responses={**ERROR_RESPONSES, 404: ERROR_RESPONSES[401] | {
                       "description": "Not found (or not in the caller's offices)"}})

Lane = Literal["red", "yellow", "blue", "green"]
DeclarationId = Annotated[str, Path(min_length=1, max_length=100,
                                    description="The declaration's id (functional reference).")]


class DeclarationSummaryPublic(BaseModel):
    """One declaration: header, totals over its items, its latest risk and lane."""

    declaration_id: str
    declared_at: date | None = Field(description="Acceptance date.")
    office_id: str | None
    importer_id: str | None
    items: int = Field(description="Number of goods items.")
    customs_value: float | None = Field(
        description="Customs value summed over the items, national currency.")
    fraud_probability: float | None = Field(
        description="Highest fraud probability among the items' latest assessments, 0-1 "
                    "(higher = riskier); null when no item is assessed.")
    expected_revenue: float | None = Field(
        description="Expected revenue at risk summed over the items, national currency "
                    "(higher = riskier).")
    anomaly_score: float | None = Field(
        description="Highest anomaly score among the items (higher = more unusual).")
    assessed_items: int = Field(description="Items with a stored risk assessment.")
    lane: Lane | None = Field(
        description="Strictest lane of the latest selection that covered the declaration, "
                    "after any officer override (red > yellow > blue > green); null before "
                    "any selection.")
    selection_id: str | None = Field(description="That selection.")


class DeclarationList(BaseModel):
    items: list[DeclarationSummaryPublic]
    next: str | None = Field(
        description="Cursor of the next page (pass it as `cursor`); null on the last page.")


class ReasonPublic(BaseModel):
    """One plain-language reason behind a score."""

    code: str = Field(description="Stable code, e.g. IMPORTER_HISTORY.")
    text: str
    weight: float = Field(description="Contribution to the score on the scorer's own scale "
                                      "(positive = riskier).")
    evidence: dict[str, Any] = Field(description="The numbers quoted in the text.")


class ScorerPublic(BaseModel):
    """One scorer's verdict on the item."""

    name: str
    version: str | None
    status: str = Field(description="ok, not_scored or unavailable.")
    score: float | None = Field(description="Higher = riskier; null when not scored.")
    reasons: list[ReasonPublic]
    message: str | None = Field(description="Why the scorer was unavailable or did not score.")


class AssessmentPublic(BaseModel):
    """The item's latest stored risk assessment."""

    fraud_probability: float | None = Field(description="0-1, higher = riskier.")
    expected_revenue: float | None = Field(
        description="Expected revenue at risk, national currency (higher = riskier).")
    anomaly_score: float | None = Field(description="Higher = more unusual.")
    reasons: list[ReasonPublic] = Field(description="The fraud model's reasons.")
    model_version: str | None = Field(description="The fraud model's version.")
    anomaly_version: str | None = Field(description="The anomaly detector's version.")
    assessed_at: UtcDatetime | None
    scorers: list[ScorerPublic] = Field(description="Every scorer's verdict and version.")


class LanePublic(BaseModel):
    """The lane the latest selection gave the item."""

    selection_id: str
    lane: Lane = Field(description="After any officer override.")
    basis: str = Field(description="Why the lane was given (e.g. rule, risk, random).")
    random_control: bool = Field(description="Part of the random control sample.")
    rank_pct: float | None = Field(description="Risk rank percentile in the selection "
                                               "(lower = riskier).")
    rule_hits: list[str] = Field(description="Rules hit, as `RULE vVERSION`.")
    overridden_from: Lane | None = Field(
        description="The selector's lane when an officer overrode it.")


class ItemPublic(BaseModel):
    item_no: int
    fields: dict[str, Any] = Field(
        description="The item's canonical fields as stored (see docs/ingest.md), outcome "
                    "fields included.")
    assessment: AssessmentPublic | None
    lane: LanePublic | None


class DeclarationDetailPublic(BaseModel):
    declaration_id: str
    declared_at: date | None
    office_id: str | None
    importer_id: str | None
    lane: Lane | None = Field(description="Strictest lane of the items.")
    items: list[ItemPublic]


def reason_public(reason: Reason) -> ReasonPublic:
    return ReasonPublic(code=reason.code, text=reason.text, weight=finite(reason.weight) or 0.0,
                        evidence=jsonable(dict(reason.evidence)))


def scorer_public(score: ScorerScore) -> ScorerPublic:
    return ScorerPublic(name=score.name, version=score.version, status=score.status,
                        score=finite(score.score),
                        reasons=[reason_public(r) for r in score.reasons], message=score.message)


def assessment_public(a: RiskAssessment) -> AssessmentPublic:
    return AssessmentPublic(
        fraud_probability=finite(a.fraud_probability),
        expected_revenue=finite(a.expected_revenue), anomaly_score=finite(a.anomaly_score),
        reasons=[reason_public(r) for r in a.reasons], model_version=a.model_version,
        anomaly_version=a.anomaly_version, assessed_at=a.assessed_at,
        scorers=[scorer_public(s) for s in a.scorers])


def _summary(s: service.DeclarationSummary) -> DeclarationSummaryPublic:
    return DeclarationSummaryPublic(
        declaration_id=s.declaration_id, declared_at=s.declared_at, office_id=s.office_id,
        importer_id=s.importer_id, items=s.items, customs_value=finite(s.customs_value),
        fraud_probability=finite(s.fraud_probability),
        expected_revenue=finite(s.expected_revenue), anomaly_score=finite(s.anomaly_score),
        assessed_items=s.assessed_items, lane=s.lane,
        selection_id=s.selection_id)


@router.get("/declarations", response_model=DeclarationList)
def list_declarations(
    caller: Annotated[Caller, allow("declarations:read")], workspace: WorkspaceDep,
    date_from: Annotated[date | None, Query(ge=EARLIEST, le=LATEST, description=(
        "First acceptance date (inclusive)."))] = None,
    date_to: Annotated[date | None, Query(ge=EARLIEST, le=LATEST, description=(
        "Last acceptance date (inclusive)."))] = None,
    office_id: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    importer_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    hs_code: Annotated[str | None, Query(
        pattern=r"^[0-9]{1,10}$",
        description="Leading digits of an HS code: declarations with an item under it.")
    ] = None,
    lane: Annotated[Lane | None, Query(description="The declaration's current lane.")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(min_length=1, max_length=500, description=(
        "The `next` of the previous page."))] = None,
) -> DeclarationList:
    """Declarations by acceptance date then id (a stable order), with their latest risk and
    lane; an officer sees only their offices. Page with `limit` and the `next` cursor."""
    page = service.list_declarations(
        workspace, service.DeclarationQuery(date_from=date_from, date_to=date_to,
                                            office_id=office_id, importer_id=importer_id,
                                            hs_prefix=hs_code, lane=lane),
        offices=service.office_scope(caller.principal), limit=limit, cursor=cursor)
    return DeclarationList(items=[_summary(s) for s in page.items], next=page.next_cursor)


@router.get("/declarations/{declaration_id}", response_model=DeclarationDetailPublic)
def get_declaration(declaration_id: DeclarationId,
                    caller: Annotated[Caller, allow("declarations:read")],
                    workspace: WorkspaceDep) -> DeclarationDetailPublic:
    """One declaration's items with their latest assessments (scores, reasons, versions) and
    lanes. Every read is one audit entry (`declaration.read`). A declaration of another office
    than an officer's answers 404, as one that does not exist."""
    detail = service.get_declaration(workspace, declaration_id,
                                     offices=service.office_scope(caller.principal))
    return DeclarationDetailPublic(
        declaration_id=detail.declaration_id, declared_at=detail.declared_at,
        office_id=detail.office_id, importer_id=detail.importer_id,
        lane=detail.lane,
        items=[ItemPublic(
            item_no=i.item_no, fields=jsonable(i.fields),
            assessment=assessment_public(i.assessment) if i.assessment else None,
            lane=LanePublic(
                selection_id=i.lane.selection_id, lane=i.lane.lane,
                basis=i.lane.basis, random_control=i.lane.random_control,
                rank_pct=finite(i.lane.rank_pct), rule_hits=list(i.lane.rule_hits),
                overridden_from=i.lane.overridden_from,
            ) if i.lane else None,
        ) for i in detail.items])
