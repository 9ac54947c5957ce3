"""Assess at lodgement: a clearance system sends declaration items and gets one risk assessment
each (the use case: :mod:`clearlane.services.lodgement`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.security import Caller, allow
from clearlane.api.state import StateDep
from clearlane.errors import PermissionDeniedError, Problem, ValidationError
from clearlane.services import lodgement

router = APIRouter(prefix="/api/v1", tags=["lodgement"], responses={
    **ERROR_RESPONSES,
    409: ERROR_RESPONSES[422] | {"description": "An item differs from the declaration stored "
                                                "under its declaration_id and item_no"},
})

Scalar = StrictStr | StrictInt | StrictFloat | None
"""A field's value as JSON text or number (a JSON true/false is refused, never read as 1/0)."""


class Declaration(BaseModel):
    """One declaration item in the canonical schema (docs/integration.md): declaration_id,
    declared_at and hs_code are required. Values are
    validated exactly as `clearlane ingest` validates a file under the `canonical` profile;
    numbers may be sent as JSON numbers or text. Other members are kept as extras."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "declaration_id": "2026ABJ0001234", "item_no": 1, "declared_at": "2026-12-06",
        "office_id": "ABJ01", "declarant_id": "DCL0042", "importer_id": "IMP00227",
        "exporter_id": "EXP04377", "hs_code": "850440", "goods_description":
        "Static converters (inverters) 5 kW", "origin_country": "CN",
        "departure_country": "CN", "transport_mode": "1", "quantity": 120,
        "quantity_unit": "NAR", "net_mass_kg": 1830.5, "gross_mass_kg": 1912.0,
        "customs_value": 18250000, "fob_value": 17100000, "currency": "USD",
        "tax_rate": 10, "taxes_paid": 3650000}})

    declaration_id: Scalar = Field(None, description="Functional reference of the declaration "
                                   "(required; with item_no, the idempotency key).")
    item_no: Scalar = Field(None, description="Goods item sequence number, ≥ 1 (default 1).")
    declared_at: Scalar = Field(None, description="Acceptance date, YYYY-MM-DD (required).")
    office_id: Scalar = Field(None, description="Customs office of declaration.")
    declarant_id: Scalar = Field(None, description="Declarant (broker) identifier.")
    importer_id: Scalar = Field(None, description="Importer identifier.")
    exporter_id: Scalar = Field(None, description="Exporter / seller identifier.")
    hs_code: Scalar = Field(None, description="Commodity code, 6 to 10 digits (required).")
    goods_description: Scalar = Field(None, description="Description of goods, free text.")
    origin_country: Scalar = Field(None, description="Country of origin, ISO 3166-1.")
    departure_country: Scalar = Field(None, description="Country of departure, ISO 3166-1.")
    transport_mode: Scalar = Field(None, description="Mode of transport at the border.")
    quantity: Scalar = Field(None, description="Quantity in supplementary units, ≥ 0.")
    quantity_unit: Scalar = Field(None, description="Supplementary unit code.")
    net_mass_kg: Scalar = Field(None, description="Net mass in kg, ≥ 0.")
    gross_mass_kg: Scalar = Field(None, description="Gross mass in kg, ≥ 0.")
    customs_value: Scalar = Field(None, description="Customs (CIF) value in national "
                                  "currency, ≥ 0.")
    fob_value: Scalar = Field(None, description="FOB value in national currency, ≥ 0.")
    currency: Scalar = Field(None, description="Invoice currency, ISO 4217.")
    tax_rate: Scalar = Field(None, description="Declared duty rate in percent, ≥ 0.")
    taxes_paid: Scalar = Field(None, description="Duties and taxes assessed, national "
                               "currency, ≥ 0.")


class ReasonOut(BaseModel):
    code: str = Field(description="Stable code, e.g. IMPORTER_HISTORY.")
    text: str = Field(description="Plain-language reason.")
    weight: float = Field(description="Contribution on the scorer's scale (positive = riskier).")
    evidence: dict[str, Any] = Field(description="The numbers quoted in the text.")


class ScorerOut(BaseModel):
    name: str = Field(description="fraud, anomaly, hs_check, price_check or rules.")
    version: str | None = Field(description="Model, bands or rule-set version that scored.")
    status: str = Field(description="ok, not_scored (no score for this item) or unavailable.")
    score: float | None = Field(description="Higher = riskier, on the scorer's own scale.")
    reasons: list[ReasonOut]
    message: str | None = Field(description="Why the scorer was unavailable.")


class Assessment(BaseModel):
    """The risk assessment of one declaration item (higher = riskier everywhere)."""

    declaration_id: str
    item_no: int
    fraud_probability: float | None = Field(
        description="Calibrated probability that an inspection finds fraud, 0-1; null when no "
                    "fraud model is trained (see scorers).")
    expected_revenue: float | None = Field(
        description="Probability × revenue recovered if fraudulent, national currency.")
    anomaly_score: float | None = Field(
        description="Sum of robust z-scores of unusual features (higher = more unusual).")
    lane: str | None = Field(
        description="red, yellow, blue or green, paced under the office's daily capacity; "
                    "null until a stored selection gives the policy (lane_note says why).")
    basis: str | None = Field(description="Why the lane: mandatory_rule, random (the random "
                              "control draw), paced (today's paced threshold), exploration, "
                              "anomaly (blue), none (green).")
    lane_note: str = Field(description="How the lane was decided, or why there is none.")
    pacing: dict[str, Any] | None = Field(None, description="The numbers behind a paced lane: "
                                          "day, office_id, threshold, red_spent, red_budget, "
                                          "capacity, arrivals, expected_arrivals, "
                                          "random_control, overflow, history.")
    rule_hits: list[str] = Field(description="Rules hit, as `ID vVERSION`.")
    reasons: list[ReasonOut] = Field(description="The fraud model's reasons.")
    model_version: str | None = Field(description="Fraud model version.")
    anomaly_version: str | None = Field(description="Anomaly detector version.")
    versions: dict[str, str | None] = Field(description="Scorer name → version used.")
    scorers: list[ScorerOut] = Field(description="Every scorer's verdict, unavailable ones "
                                                 "with their message.")
    assessed_at: str | None = Field(description="When first assessed (UTC, ISO 8601); the "
                                                 "same on a replay.")


class BatchItem(BaseModel):
    id: str = Field(min_length=1, max_length=200, description="The caller's own id for the item; "
                    "the answer carries it back.")
    declaration: Declaration


class BatchRequest(BaseModel):
    items: list[BatchItem] = Field(min_length=1, description="Up to the server's "
                                   "`max_batch_items` (default 10,000) items.")


class BatchAnswer(BaseModel):
    id: str = Field(description="The caller's id of the item.")
    assessment: Assessment


class BatchResponse(BaseModel):
    items: list[BatchAnswer]


def _check_offices(caller: Caller, items: list[dict[str, Any]]) -> None:
    """An office-scoped caller lodges only for its offices."""
    principal = caller.principal
    if not principal.offices:
        return
    for row, office in enumerate(lodgement.offices_of(items)):
        if not principal.may_see_office(office):
            raise PermissionDeniedError(
                f"{principal.kind} {principal.name!r} is scoped to offices "
                f"{', '.join(sorted(principal.offices))}: item {row} is lodged at office "
                f"{office!r}")


def _lodge(state: StateDep, caller: Caller, items: list[dict[str, Any]]
           ) -> list[lodgement.LodgementResult]:
    _check_offices(caller, items)
    queue = lodgement.lodgement_queue(state.workspace, state.cache, state.settings.max_batch_items)
    return queue.submit(items, caller=caller.principal.name,
                        max_future_days=state.settings.max_future_days)


@router.post("/declarations:assess", response_model=Assessment)
def assess_declaration(body: Declaration,
                       caller: Annotated[Caller, allow("declarations:assess")],
                       state: StateDep) -> dict[str, Any]:
    """Validate, store and assess one declaration item at lodgement.

    Idempotent on (declaration_id, item_no): the same body again returns the stored answer;
    a different body for a stored key is a 409 naming the differing fields.
    """
    return _lodge(state, caller, [body.model_dump(exclude_unset=True)])[0].answer


@router.post("/declarations:assess-batch", response_model=BatchResponse)
def assess_batch(body: BatchRequest, caller: Annotated[Caller, allow("declarations:assess")],
                 state: StateDep) -> dict[str, Any]:
    """Validate, store and assess up to `max_batch_items` items in one transaction; answers
    come under the caller's ids, in request order. One refused item refuses the request (422,
    each problem naming `items[i].declaration.<field>`); nothing is stored."""
    limit = state.settings.max_batch_items
    if len(body.items) > limit:
        raise ValidationError(f"{len(body.items):,} items in one request; at most {limit:,}",
                              [Problem("items", str(len(body.items)),
                                       f"at most {limit:,} items per request")])
    ids = [item.id for item in body.items]
    first: dict[str, int] = {}
    for row, item_id in enumerate(ids):
        if first.setdefault(item_id, row) != row:
            raise ValidationError("item ids must be unique in a request", [Problem(
                f"items[{row}].id", item_id, f"also the id of item {first[item_id]}", row)])
    try:
        results = _lodge(state, caller,
                         [item.declaration.model_dump(exclude_unset=True) for item in body.items])
    except ValidationError as error:
        error.problems = [Problem(f"items[{p.row}].declaration.{p.field}" if p.row is not None
                                  else p.field, p.value, p.reason, p.row)
                          for p in error.problems]
        raise
    return {"items": [{"id": ids[r.index], "assessment": r.answer} for r in results]}
