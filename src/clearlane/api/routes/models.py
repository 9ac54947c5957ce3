"""Registered models: their versions, status, training window and metrics (as `clearlane
models list|show`), and their lifecycle (as `clearlane models retrain|jobs|job|compare|promote|
rollback`): retraining jobs run in the background, the comparison of a candidate with the
promoted model on held-out days, promotion and rollback."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes._convert import ApiDate, UtcDatetime, day, jsonable
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.models import registry
from clearlane.services import model_jobs, model_lifecycle

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


class TrainRequest(BaseModel):
    """What a retraining job trains on. By default everything up to the day before the
    latest ``holdout_days`` days with inspection outcomes; those days are kept for the
    comparison with the promoted model."""

    date_from: ApiDate | None = Field(None, description="First declaration date used.")
    date_to: ApiDate | None = Field(
        None, description="Last declaration date used (overrides `holdout_days`; the days "
                          "after it with outcomes are the comparison window).")
    holdout_days: int = Field(model_jobs.DEFAULT_HOLDOUT_DAYS, ge=0, le=3660,
                              description="Latest labelled days held out of training.")
    search: bool = Field(False, description="Search hyper-parameters (slower).")
    seed: int = Field(42, ge=0, le=2**31 - 1, description="Random seed.")


class JobLogLine(BaseModel):
    logged_at: UtcDatetime
    message: str


class JobPublic(BaseModel):
    """A background job (today: `train`, a retraining)."""

    job_id: str
    kind: str
    status: str = Field(description="queued, running, succeeded, failed or interrupted (its "
                                    "runner stopped before it finished: a restart).")
    parameters: dict[str, Any]
    started_by: str = Field(description="The audit actor who started it.")
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    heartbeat_at: UtcDatetime | None
    progress: float = Field(description="0-1.")
    result: dict[str, Any] | None = Field(
        description="When succeeded: `models` (kind → new candidate version), the training "
                    "and held-out windows and `comparison` (as "
                    "`GET /api/v1/models/{version}/comparison`).")
    log: list[JobLogLine] = Field(description="Progress and outcome messages, oldest first "
                                              "(only in the detail of one job).")


def _job(job: model_jobs.Job) -> JobPublic:
    return JobPublic(job_id=job.job_id, kind=job.kind, status=job.status,
                     parameters=jsonable(job.parameters), started_by=job.started_by,
                     created_at=job.created_at, started_at=job.started_at,
                     finished_at=job.finished_at, heartbeat_at=job.heartbeat_at,
                     progress=job.progress, result=jsonable(job.result),
                     log=[JobLogLine(logged_at=line.logged_at, message=line.message)
                          for line in job.log])


@router.post("/models/jobs", response_model=JobPublic, status_code=202,
             responses={409: ERROR_RESPONSES[422] | {
                 "description": "Another job of this workspace is not finished"}})
def start_job(
    _: Annotated[Caller, allow("models:train")], workspace: WorkspaceDep, response: Response,
    body: Annotated[TrainRequest | None, Body()] = None,
) -> JobPublic:
    """Start retraining in the background: the fraud model and the anomaly detector, registered
    as candidates (not promoted). One job at a time per workspace. Follow it at the
    `Location`."""
    request = body or TrainRequest()
    job = model_jobs.start_job(workspace, model_jobs.TrainParameters(
        date_from=request.date_from, date_to=request.date_to,
        holdout_days=request.holdout_days, search=request.search, seed=request.seed))
    response.headers["Location"] = f"/api/v1/models/jobs/{job.job_id}"
    return _job(job)


@router.get("/models/jobs", response_model=list[JobPublic])
def list_jobs(
    _: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[JobPublic]:
    """Jobs, newest first, without their logs."""
    return [_job(j) for j in model_jobs.list_jobs(workspace, limit)]


@router.get("/models/jobs/{job_id}", response_model=JobPublic)
def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=100)],
    _: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
    log_tail: Annotated[int | None, Query(ge=0, le=10_000,
                                          description="Only the last lines of the log.")] = None,
) -> JobPublic:
    """One job: status, progress, result and log."""
    return _job(model_jobs.get_job(workspace, job_id, log_tail))


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


class ModelScore(BaseModel):
    """One model's metrics on the inspected declarations of the comparison window."""

    version: str
    status: str
    train_from: date | None
    train_to: date | None
    saw_window: bool = Field(description="The model trained on days of the window: its "
                                         "numbers there are optimistic.")
    n: int = Field(description="Inspected declarations in the window.")
    frauds: int
    auc: float | None = Field(description="0-1, higher = better ranking; null with one class.")
    precision: float = Field(description="Share of frauds among the riskiest `rate` percent.")
    recall: float = Field(description="Share of the window's frauds found there.")
    revenue: float | None = Field(description="Share of the recovered revenue found there.")
    brier: float = Field(description="Mean squared error of the stated probability (0 = "
                                     "perfect, lower = better calibrated).")
    ece: float = Field(description="Expected calibration error (probability units).")


class ComparisonPublic(BaseModel):
    window_from: date
    window_to: date
    rate: float = Field(description="Percent inspected at which precision and revenue are "
                                    "measured.")
    candidate: ModelScore
    baseline: ModelScore | None = Field(description="The promoted fraud model (or the model "
                                                    "asked for); null when none.")


@router.get("/models/{version}/comparison", response_model=ComparisonPublic)
def compare(
    version: Annotated[str, Path(min_length=1, max_length=200)],
    _: Annotated[Caller, allow("models:train")], workspace: WorkspaceDep,
    with_: Annotated[str | None, Query(alias="with", max_length=200, description=(
        "Compare with this version (default: the promoted fraud model)."))] = None,
    days: Annotated[int | None, Query(ge=1, le=3660, description=(
        "The latest N labelled days (default: every labelled day after the candidate's "
        "training window)."))] = None,
    rate: Annotated[float, Query(gt=0, le=100, description="Inspection rate, percent.")] = (
        model_lifecycle.DEFAULT_RATE),
) -> ComparisonPublic:
    """Compare a candidate fraud model with the promoted one on held-out days: AUC, precision,
    recall and revenue at the inspection rate, Brier score and calibration error. A window
    that overlaps the candidate's training data is refused (422)."""
    comparison = model_lifecycle.compare_models(workspace, version, baseline=with_, days=days,
                                                rate=rate)
    return ComparisonPublic.model_validate(jsonable(comparison.as_dict()))


class PromotionRequest(BaseModel):
    reason: str | None = Field(None, max_length=2000, description="Why (kept on record).")


class PromotionPublic(BaseModel):
    """One promotion or rollback, as recorded."""

    kind: str
    version: str = Field(description="The model promoted (again, for a rollback).")
    previous_version: str | None = Field(description="The model it replaced.")
    promoted_by: str
    promoted_at: UtcDatetime
    action: str = Field(description="promote or rollback.")
    reason: str | None
    comparison: dict[str, Any] | None = Field(
        description="The held-out comparison the promotion rests on (`unavailable` says why "
                    "there is none).")


def _promotion(p: model_lifecycle.Promotion) -> PromotionPublic:
    return PromotionPublic(kind=p.kind, version=p.version, previous_version=p.previous_version,
                           promoted_by=p.promoted_by, promoted_at=p.promoted_at,
                           action=p.action, reason=p.reason, comparison=jsonable(p.comparison))


@router.post("/models/{version}:promote", response_model=PromotionPublic,
             responses={409: ERROR_RESPONSES[422] | {"description": "Already promoted"}})
def promote(
    version: Annotated[str, Path(min_length=1, max_length=200)],
    _: Annotated[Caller, allow("models:promote")], workspace: WorkspaceDep,
    body: Annotated[PromotionRequest | None, Body()] = None,
) -> PromotionPublic:
    """Make a model the one used by default for its kind, recording the comparison it rests on
    and the reason."""
    return _promotion(model_lifecycle.promote_model(
        workspace, version, reason=(body or PromotionRequest()).reason))


@router.post("/models/{kind}:rollback", response_model=PromotionPublic,
             responses={409: ERROR_RESPONSES[422] | {
                 "description": "Nothing was promoted before the promoted model"}})
def rollback(
    kind: Annotated[ModelKind, Path(description="The kind of model to roll back.")],
    _: Annotated[Caller, allow("models:promote")], workspace: WorkspaceDep,
    body: Annotated[PromotionRequest | None, Body()] = None,
) -> PromotionPublic:
    """Promote again the model that the promoted model of this kind replaced."""
    return _promotion(model_lifecycle.rollback_model(
        workspace, kind, reason=(body or PromotionRequest()).reason))
