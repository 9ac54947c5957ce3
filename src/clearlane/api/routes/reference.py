"""Reference checks on declarations sent in the request (nothing is stored): HS code
suggestion, the HS misclassification check, nomenclature search and the price check against
value bands.

Permission ``declarations:read``: these answer questions about the workspace's models and
bands and change nothing (``declarations:assess`` is for assessments that are stored), and an
officer at the counter needs them. Without an HS classifier or value bands the answer is a 404
problem naming the command that builds them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import ApiDate, finite
from clearlane.api.routes.declarations import ReasonPublic, reason_public
from clearlane.api.security import Caller, allow
from clearlane.api.state import StateDep
from clearlane.errors import Problem, ValidationError
from clearlane.hs.classifier import Candidate
from clearlane.hs.codes import check_code
from clearlane.services import hs, valuation

router = APIRouter(prefix="/api/v1", tags=["reference checks"],
                   responses={**ERROR_RESPONSES, 404: ERROR_RESPONSES[401] | {
                       "description": "No HS classifier or no value bands yet (the problem "
                                      "names the command that builds them)"}})

Description = Annotated[str, Field(min_length=1, max_length=2000)]
MAX_ITEMS = 1000


class SuggestRequest(BaseModel):
    descriptions: list[Description] = Field(min_length=1, max_length=100,
                                            description="Goods descriptions, free text.")
    k: int = Field(5, ge=1, le=20, description="Candidates per level.")


class CandidatePublic(BaseModel):
    code: str = Field(description="2, 4 or 6 digits.")
    confidence: float = Field(description="Calibrated probability that the code is right at "
                                          "its level, 0-1.")
    text: str = Field(description="The nomenclature's text of the code.")
    words: list[str] = Field(description="Words of the description that drove it, most "
                                         "influential first.")


class SuggestionPublic(BaseModel):
    description: str
    hs6: list[CandidatePublic]
    hs4: list[CandidatePublic]
    hs2: list[CandidatePublic]


class CheckItem(BaseModel):
    description: Description
    hs_code: str = Field(min_length=1, max_length=20, description="The declared code.")
    declared_at: ApiDate | None = Field(
        None, description="Read the code in the HS edition in force on this date.")


class CheckRequest(BaseModel):
    items: list[CheckItem] = Field(min_length=1, max_length=MAX_ITEMS)
    level: Literal[2, 4, 6] = Field(4, description="Digits compared.")
    threshold: float = Field(0.8, ge=0, le=1, description="Flag when p_wrong is at least "
                                                          "this.")


class CheckResultPublic(BaseModel):
    declared: str = Field(description="The declared code (digits).")
    suggested: str = Field(description="The classifier's code at that level.")
    p_wrong: float | None = Field(description="Probability that the declared code is wrong, "
                                              "0-1 (higher = riskier); null when it cannot "
                                              "be checked at this level.")
    flagged: bool = Field(description="p_wrong reached the threshold.")
    declared_rate: float | None = Field(description="Duty rate of the declared code, % of "
                                                    "customs value.")
    suggested_rate: float | None = Field(description="Duty rate of the suggested code, %.")
    reason: ReasonPublic | None


class SearchHitPublic(BaseModel):
    code: str
    level: int = Field(description="2, 4 or 6 digits.")
    description: str
    score: float = Field(description="0-1, higher = closer.")


class PriceItem(BaseModel):
    """One declaration item in the canonical schema (the fields the price check reads)."""

    declaration_id: str = Field("?", min_length=1, max_length=100)
    item_no: int = Field(1, ge=1, le=1_000_000)
    declared_at: ApiDate
    importer_id: str | None = Field(None, max_length=100)
    exporter_id: str | None = Field(None, max_length=100)
    hs_code: str = Field(min_length=1, max_length=20)
    origin_country: str = Field(min_length=2, max_length=3, description="ISO 3166 code.")
    transport_mode: str | None = Field(None, max_length=20)
    quantity: float | None = Field(None, ge=0, allow_inf_nan=False,
                                   description="Quantity in `quantity_unit`.")
    quantity_unit: str | None = Field(None, max_length=10)
    net_mass_kg: float | None = Field(None, ge=0, allow_inf_nan=False)
    customs_value: float = Field(ge=0, allow_inf_nan=False,
                                 description="National currency.")
    currency: str | None = Field(None, min_length=3, max_length=3,
                                 description="Invoice currency, ISO 4217.")
    tax_rate: float | None = Field(None, ge=0, le=1000, allow_inf_nan=False,
                                   description="Duties and taxes, % of customs value.")


class PriceCheckRequest(BaseModel):
    items: list[PriceItem] = Field(min_length=1, max_length=MAX_ITEMS)
    bands_version: str | None = Field(None, min_length=1, max_length=50,
                                      description="Default: the latest bands.")
    use_history: bool = Field(True, description="Compare with the importer's own accepted "
                                                "earlier declarations first.")


class PriceResultPublic(BaseModel):
    """The price check of one item: a risk indicator, never a customs value."""

    declaration_id: str
    item_no: int
    price_score: float | None = Field(description="Higher = riskier (robust z below the "
                                                  "reference); null when no band applies.")
    flagged: bool
    unit_value_per_kg: float | None = Field(description="Declared value per kg, bands' "
                                                        "currency.")
    band_low_per_kg: float | None
    band_median_per_kg: float | None
    band_high_per_kg: float | None
    reference_value: float | None = Field(description="National currency.")
    estimated_undervalue: float | None = Field(description="National currency.")
    revenue_at_risk: float | None = Field(description="National currency (higher = riskier).")
    reasons: list[ReasonPublic]


class PriceCheckPublic(BaseModel):
    bands_version: str
    currency: str = Field(description="Currency of the bands' unit values.")
    band_label: str
    items: list[PriceResultPublic]


def _candidates(items: tuple[Candidate, ...]) -> list[CandidatePublic]:
    return [CandidatePublic(code=c.code, confidence=finite(c.confidence) or 0.0, text=c.text,
                            words=list(c.words)) for c in items]


def _codes(values: list[str], field: str) -> list[str]:
    """The normalised codes, or one ValidationError naming each bad item."""
    problems, codes = [], []
    for i, value in enumerate(values):
        result = check_code(value)
        if not result.valid:
            problems.append(Problem(f"items[{i}].{field}", value, result.message, i))
        codes.append(result.code)
    if problems:
        raise ValidationError(f"{len(problems)} invalid HS code(s)", problems)
    return codes


@router.post("/hs:suggest", response_model=list[SuggestionPublic])
def suggest(body: SuggestRequest, _: Annotated[Caller, allow("declarations:read")],
            state: StateDep) -> list[SuggestionPublic]:
    """Top-k HS6, HS4 and HS2 candidates for each goods description (the workspace's HS
    classifier; 404 before `clearlane hs train`)."""
    results = hs.suggest_codes(state.workspace, body.descriptions, k=body.k, cache=state.cache)
    return [SuggestionPublic(description=s.description, hs6=_candidates(s.hs6),
                             hs4=_candidates(s.hs4), hs2=_candidates(s.hs2)) for s in results]


@router.post("/hs:check", response_model=list[CheckResultPublic])
def check(body: CheckRequest, _: Annotated[Caller, allow("declarations:read")],
          state: StateDep) -> list[CheckResultPublic]:
    """Misclassification check of (description, declared code) pairs, in request order."""
    codes = _codes([i.hs_code for i in body.items], "hs_code")
    results = hs.check_codes(state.workspace, [i.description for i in body.items], codes,
                             level=body.level, threshold=body.threshold,
                             declared_at=[i.declared_at for i in body.items], cache=state.cache)
    return [CheckResultPublic(
        declared=r.declared, suggested=r.suggested, p_wrong=finite(r.p_wrong),
        flagged=r.reason is not None, declared_rate=finite(r.declared_rate),
        suggested_rate=finite(r.suggested_rate),
        reason=reason_public(r.reason) if r.reason else None) for r in results]


@router.get("/hs/search", response_model=list[SearchHitPublic])
def search(_: Annotated[Caller, allow("declarations:read")],
           q: Annotated[str, Query(min_length=1, max_length=200,
                                   pattern=r"\S", description="Words, synonyms; typos are "
                                                              "tolerated.")],
           limit: Annotated[int, Query(ge=1, le=100)] = 10) -> list[SearchHitPublic]:
    """Search the HS nomenclature (needs no model)."""
    return [SearchHitPublic(code=h.code, level=h.level, description=h.description,
                            score=finite(h.score) or 0.0) for h in hs.search_codes(q, limit)]


def _float(row: dict[str, Any], name: str) -> float | None:
    value = row.get(name)
    return finite(float(value)) if isinstance(value, int | float) else None


@router.post("/prices:check", response_model=PriceCheckPublic)
def price_check(body: PriceCheckRequest, _: Annotated[Caller, allow("declarations:read")],
                state: StateDep) -> PriceCheckPublic:
    """Check declared prices against the workspace's value bands (404 before `clearlane
    valuation build`); a risk indicator, never a value."""
    codes = _codes([i.hs_code for i in body.items], "hs_code")
    rows = [{**i.model_dump(), "hs_code": code, "origin_country": i.origin_country.upper()}
            for i, code in zip(body.items, codes, strict=True)]
    frame = pl.DataFrame(rows, schema={
        "declaration_id": pl.String, "item_no": pl.Int64, "declared_at": pl.Date,
        "importer_id": pl.String, "exporter_id": pl.String, "hs_code": pl.String,
        "origin_country": pl.String, "transport_mode": pl.String, "quantity": pl.Float64,
        "quantity_unit": pl.String, "net_mass_kg": pl.Float64, "customs_value": pl.Float64,
        "currency": pl.String, "tax_rate": pl.Float64})
    result = valuation.check_declarations(state.workspace, frame, version=body.bands_version,
                                          use_history=body.use_history)
    items = []
    for i, row in enumerate(result.frame.iter_rows(named=True)):
        items.append(PriceResultPublic(
            declaration_id=rows[i]["declaration_id"], item_no=rows[i]["item_no"],
            price_score=_float(row, "price_score"), flagged=bool(row.get("price_flag")),
            unit_value_per_kg=_float(row, "kg_unit_value"),
            band_low_per_kg=_float(row, "kg_band_low"),
            band_median_per_kg=_float(row, "kg_band_median"),
            band_high_per_kg=_float(row, "kg_band_high"),
            reference_value=_float(row, "reference_value"),
            estimated_undervalue=_float(row, "estimated_undervalue"),
            revenue_at_risk=_float(row, "revenue_at_risk"),
            reasons=[reason_public(r) for r in result.reasons(i)]))
    return PriceCheckPublic(bands_version=result.bands_version, currency=result.currency,
                            band_label=result.band_label, items=items)
