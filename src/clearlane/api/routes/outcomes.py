"""Record inspection outcomes (as `clearlane outcomes record`) and read the performance of
selection against the random control sample (as `clearlane report performance`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import ApiDate, finite
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.services import outcomes as service
from clearlane.services.declarations import office_scope

router = APIRouter(prefix="/api/v1", tags=["outcomes"],
                   responses={**ERROR_RESPONSES, 404: ERROR_RESPONSES[401] | {
                       "description": "A declaration item is not in the workspace (or not in "
                                      "the caller's offices), or nothing to measure yet"}})

MAX_OUTCOMES = 10_000
"""The most outcomes one request records."""


class OutcomeIn(BaseModel):
    """What one inspection found for one declaration item."""

    declaration_id: str = Field(min_length=1, max_length=100)
    item_no: int = Field(1, ge=1, le=1_000_000, description="Goods item number.")
    fraud: bool = Field(description="Whether the inspection found fraud.")
    revenue_recovered: float | None = Field(
        None, ge=0, allow_inf_nan=False,
        description="Additional duties and taxes raised, national currency (only with fraud).")
    critical: bool | None = Field(None, description="The finding was critical.")
    finding: str | None = Field(None, max_length=2000, description="Finding, free text.")
    inspected_at: ApiDate | None = Field(None, description="Inspection date.")
    officer_id: str | None = Field(
        None, min_length=1, max_length=100,
        description="Officer who inspected (default: the calling user's name).")


class RecordedOutcomes(BaseModel):
    recorded: int = Field(description="Outcomes stored.")
    replaced: int = Field(description="Of those, items that already had an outcome (replaced).")
    linked: int = Field(description="Outcomes linked to the selection that put the item in a "
                                    "lane other than green (or in the random sample).")
    frauds: int


class GroupPerformance(BaseModel):
    """Selection performance of one lane or one selection reason."""

    group: str = Field(description="The lane or the selection reason (basis).")
    selected: int = Field(description="Items the selections put here.")
    inspected: int = Field(description="Of those, items with a recorded outcome.")
    frauds: int
    revenue: float = Field(description="Revenue recovered, national currency.")
    hit_rate: float | None = Field(description="frauds / inspected (null: none inspected).")
    hit_rate_low: float | None = Field(
        None, description="Lower bound of the hit rate's 95 % Wilson interval.")
    hit_rate_high: float | None = Field(
        None, description="Upper bound of the hit rate's 95 % Wilson interval.")
    revenue_per_inspection: float | None = Field(description="National currency.")


class FraudRate(BaseModel):
    """The fraud rate of all declarations, estimated from the random control sample only
    (every other lane is chosen for being risky), with Wilson's interval."""

    n: int = Field(description="Random control items with an outcome.")
    frauds: int
    rate: float | None = Field(description="0-1; null while no random item has an outcome.")
    low: float | None
    high: float | None
    confidence: float


class DriftRow(BaseModel):
    """Population stability index (PSI) per period against the first period: < 0.1 stable,
    0.1-0.25 moderate, > 0.25 a large shift (higher = more drift)."""

    period: date | None
    rows: int | None
    psi: dict[str, float | None] = Field(description="Column → PSI.")


class Performance(BaseModel):
    by_lane: list[GroupPerformance]
    by_basis: list[GroupPerformance]
    fraud_rate: FraudRate
    drift: list[DriftRow]
    selections: int = Field(description="Selection runs measured.")
    overrides: int = Field(description="Officer overrides recorded.")
    notes: list[str]


def _groups(frame: pl.DataFrame, by: str) -> list[GroupPerformance]:
    return [GroupPerformance(
        group=str(r[by]), selected=int(r["selected"]), inspected=int(r["inspected"]),
        frauds=int(r["frauds"]), revenue=finite(r["revenue"]) or 0.0,
        hit_rate=finite(r["hit_rate"]), hit_rate_low=finite(r.get("hit_rate_low")),
        hit_rate_high=finite(r.get("hit_rate_high")),
        revenue_per_inspection=finite(r["revenue_per_inspection"]),
    ) for r in frame.iter_rows(named=True)]


@router.post("/outcomes", response_model=RecordedOutcomes)
def record_outcomes(
    body: Annotated[list[OutcomeIn], Body(min_length=1, max_length=MAX_OUTCOMES)],
    caller: Annotated[Caller, allow("outcomes:record")], workspace: WorkspaceDep,
) -> RecordedOutcomes:
    """Record inspection outcomes, linked to the selection that caused each inspection; they
    are the labels of the next `clearlane train`. Recording an item again replaces its
    outcome. An officer may record only for declarations of their offices (another office's
    item answers 404, as one not in the workspace). Problems name the item by its position in
    the list (`row`, 0-based) and the field."""
    user = caller.principal.kind != "api key"
    rows = [{**o.model_dump(), "officer_id": o.officer_id or (caller.principal.name
                                                              if user else None)}
            for o in body]
    result = service.record_outcomes(workspace, rows, source="api",
                                     offices=office_scope(caller.principal), first_row=0)
    return RecordedOutcomes(recorded=result.recorded, replaced=result.replaced,
                            linked=result.linked, frauds=result.frauds)


@router.get("/performance", response_model=Performance)
def performance(
    _: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
    selection_id: Annotated[str | None, Query(
        min_length=1, max_length=100, description="One selection (default: all).")] = None,
    every: Annotated[str, Query(
        pattern=r"^[1-9][0-9]{0,2}(d|w|mo|q|y)$",
        description="Drift period: a count and d, w, mo, q or y (e.g. 1w, 1mo).")] = "1mo",
) -> Performance:
    """Hit rate and revenue by lane and by selection reason, the fraud rate of all
    declarations from the random control sample, and drift; 404 before any selection."""
    report = service.performance_report(workspace, every=every, selection_id=selection_id)
    fr = report.fraud_rate
    drift = [DriftRow(period=r.get("period"), rows=r.get("rows"),
                      psi={k: finite(v) for k, v in r.items() if k not in ("period", "rows")})
             for r in report.drift.iter_rows(named=True)]
    return Performance(
        by_lane=_groups(report.by_lane, "lane"), by_basis=_groups(report.by_basis, "basis"),
        fraud_rate=FraudRate(n=fr.n, frauds=fr.frauds, rate=finite(fr.rate),
                             low=finite(fr.low), high=finite(fr.high),
                             confidence=fr.confidence),
        drift=drift, selections=report.selections, overrides=report.overrides,
        notes=list(report.notes))
