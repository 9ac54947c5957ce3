"""The data-quality report (as `clearlane quality`, in JSON) and the quarantine of rejected
rows with the field and reason of each problem."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import UtcDatetime, jsonable
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.services import quality as service
from clearlane.services.declarations import office_scope
from clearlane.services.workspace import quarantine_problems

router = APIRouter(prefix="/api/v1", tags=["data quality"],
                   responses={**ERROR_RESPONSES, 404: ERROR_RESPONSES[401] | {
                       "description": "No ingest batch (or no such batch)"}})

BatchId = Annotated[str | None, Query(
    min_length=1, max_length=100,
    description="One ingest batch: its id, a unique prefix or `latest` (default: all).")]


class QualityScorePublic(BaseModel):
    overall: float = Field(description="0-100, higher = better.")
    grade: str = Field(description="Letter grade of the overall score.")
    components: list[dict[str, Any]] = Field(description="What the score is made of.")


class QualityPublic(BaseModel):
    """The data-quality report of the workspace or of one ingest batch (see docs/quality.md)."""

    generated_at: UtcDatetime
    as_of: date
    batch_id: str | None
    score: QualityScorePublic
    rows: dict[str, int] = Field(description="Rows read, accepted, rejected, warned, "
                                             "duplicates skipped, conflicts.")
    first_date: date | None
    last_date: date | None
    batches: list[dict[str, Any]]
    fields: list[dict[str, Any]] = Field(
        description="Per canonical field: completeness and validity (0-1, higher = better), "
                    "rejected and warned rows.")
    duplicates: dict[str, Any]
    ranges: list[dict[str, Any]] = Field(description="Range checks: violations and examples.")
    unit_values: dict[str, Any] = Field(description="Unit-value outliers per HS × origin "
                                                    "cell (robust z, higher = more unusual).")
    top_issues: list[dict[str, Any]]
    months: list[dict[str, Any]] = Field(description="Rows per month.")
    notes: list[str]


class QuarantineProblem(BaseModel):
    """One problem of one rejected row."""

    batch_id: str
    source_file: str
    source_row: int | None = Field(description="Line of the source file (header = 1).")
    field: str | None
    value: str | None = Field(description="The value refused.")
    reason: str


class QuarantinePage(BaseModel):
    items: list[QuarantineProblem]


@router.get("/quality", response_model=QualityPublic)
def quality(_: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
            batch_id: BatchId = None) -> QualityPublic:
    """Completeness, validity, duplicates, range checks, unit-value outliers and an overall
    score (of an empty workspace: all counts zero); 404 for an unknown batch."""
    data = jsonable(service.quality_report(workspace, batch_id).to_dict())
    return QualityPublic(**{k: v for k, v in data.items() if k in QualityPublic.model_fields})


@router.get("/quarantine", response_model=QuarantinePage)
def quarantine(caller: Annotated[Caller, allow("declarations:read")], workspace: WorkspaceDep,
               batch_id: Annotated[str | None, Query(min_length=1, max_length=100,
                                                     description="One batch id.")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> QuarantinePage:
    """Rejected rows, one line per problem (file, row, field, value, reason), oldest first. A
    rejected row has no trusted office, so an office-scoped caller sees none."""
    if office_scope(caller.principal) is not None:
        return QuarantinePage(items=[])
    frame = quarantine_problems(workspace, batch_id, limit)
    return QuarantinePage(items=[QuarantineProblem(**jsonable(r))
                                 for r in frame.iter_rows(named=True)])
