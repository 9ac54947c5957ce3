"""Registered models: their versions, status, training window and metrics (as `clearlane
models list|show`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import UtcDatetime, day, jsonable
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.models import registry

router = APIRouter(prefix="/api/v1", tags=["models"],
                   responses={**ERROR_RESPONSES, 404: ERROR_RESPONSES[401] | {
                       "description": "No such model"}})

ModelKind = Literal["fraud", "anomaly", "hs", "bands", "quantile"]


class ModelSummary(BaseModel):
    """A registered model: fraud model, anomaly detector, HS classifier, value bands or the
    unit-value quantile model."""

    version: str
    kind: str = Field(description="fraud, anomaly, hs, bands or quantile.")
    status: str = Field(description="`promoted` (used by default for its kind) or "
                                    "`candidate`.")
    created_at: UtcDatetime
    promoted_at: UtcDatetime | None
    train_from: date | None = Field(description="First declaration date of the training data.")
    train_to: date | None = Field(description="Last declaration date of the training data.")
    n_rows: int = Field(description="Training rows.")
    metrics: dict[str, Any] = Field(
        description="Validation metrics as trained, e.g. `val_auc` (0-1, higher = better "
                    "ranking) and `val_precision@5%` (share of frauds among the riskiest 5 %).")


class ModelDetail(ModelSummary):
    features: list[str]
    params: dict[str, Any] = Field(description="Training parameters (seed, chosen "
                                               "hyper-parameters, calibration).")
    data_fingerprint: str = Field(description="SHA-256 over the training rows.")
    library_versions: dict[str, str]
    artifact_sha256: str = Field(description="SHA-256 of the model file, checked on load.")


def _summary(m: registry.ModelRecord) -> dict[str, Any]:
    return {"version": m.version, "kind": m.kind, "status": m.status,
            "created_at": m.created_at, "promoted_at": m.promoted_at,
            "train_from": day(m.train_from), "train_to": day(m.train_to),
            "n_rows": m.n_rows, "metrics": jsonable(m.metrics)}


@router.get("/models", response_model=list[ModelSummary])
def list_models(
    _: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
    kind: Annotated[ModelKind | None, Query(description="Only this kind.")] = None,
) -> list[ModelSummary]:
    """Registered models, newest first."""
    return [ModelSummary(**_summary(m)) for m in registry.list_models(workspace, kind)]


@router.get("/models/{version}", response_model=ModelDetail)
def get_model(
    version: Annotated[str, Path(min_length=1, max_length=200)],
    _: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
) -> ModelDetail:
    """One model: window, features, parameters, metrics, provenance."""
    m = registry.get_model(workspace, version)
    return ModelDetail(**_summary(m), features=list(m.features), params=jsonable(m.params),
                       data_fingerprint=m.data_fingerprint,
                       library_versions={str(k): str(v) for k, v in m.library_versions.items()},
                       artifact_sha256=m.artifact_sha256)
