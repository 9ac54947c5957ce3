"""The model pages: every registered model, and one fraud model's metrics, calibration on
the inspections recorded after its training window, score drift per month, and the drift of
its score and most important features against its training window (PSI per month)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.errors import ClearlaneError
from clearlane.models import registry
from clearlane.services import model_lifecycle
from clearlane.services.model_report import (
    MIN_FOR_CALIBRATION,
    SAMPLE_PER_MONTH,
    SCORE,
    cached_model_drift,
    model_report,
)
from clearlane.web.access import page
from clearlane.web.charts import Series, line_chart
from clearlane.web.i18n import catalogue
from clearlane.web.render import language_of, render

router = APIRouter(include_in_schema=False)


@router.get("/models")
def models_page(request: Request, caller: Annotated[Caller, page("reports:read")],
                state: StateDep) -> Response:
    return render(request, "models.html", models=registry.list_models(state.workspace))


@router.get("/models/{version}")
def model_page(request: Request, version: str, caller: Annotated[Caller, page("reports:read")],
               state: StateDep) -> Response:
    report = model_report(state.workspace, version)
    calibration = None
    if report.calibration is not None:
        bins = report.calibration.bins
        calibration = line_chart(
            [Series("observed", tuple((b.confidence, b.accuracy) for b in bins)),
             Series("perfect", ((0.0, 0.0), (1.0, 1.0)))],
            x_labels=[(x / 10, f"{x * 10}%") for x in range(0, 11, 2)], y_max=1.0)
    monthly = report.scores_by_month
    labels = [(float(i), str(p)[:7]) for i, p in enumerate(monthly["period"].to_list())
              if i % max(1, monthly.height // 8) == 0]
    drift = line_chart([Series("mean fraud probability", tuple(
        (float(i), v) for i, v in enumerate(monthly["mean_probability"].to_list())))],
        x_labels=labels, y_format="{:.1%}") if monthly.height else None
    model_drift = cached_model_drift(state.workspace, state.cache, report.model.version)
    by_month = model_drift.by_month
    psi_labels = [(float(i), str(p)[:7]) for i, p in enumerate(by_month["period"].to_list())
                  if i % max(1, by_month.height // 8) == 0]
    names = {SCORE: catalogue(language_of(request)).get("models/score_column")}
    model_drift_chart = line_chart(
        [Series(names.get(name, name),
                tuple((float(i), v) for i, v in enumerate(by_month[name].to_list())))
         for name in (SCORE, *model_drift.features)],
        x_labels=psi_labels, y_format="{:.3f}") if by_month.height else None
    comparison, comparison_note = None, None
    if report.model.status != "promoted":
        try:
            comparison = model_lifecycle.compare_models(state.workspace, report.model.version)
        except ClearlaneError as exc:  # no held-out day yet, nothing promoted to compare with
            comparison_note = str(exc)
    return render(request, "model.html", report=report, model=report.model,
                  calibration=calibration, drift=drift, minimum=MIN_FOR_CALIBRATION,
                  model_drift=model_drift, model_drift_chart=model_drift_chart, score=SCORE,
                  per_month=SAMPLE_PER_MONTH,
                  comparison=comparison, comparison_note=comparison_note,
                  history=model_lifecycle.promotions(state.workspace, report.model.kind)[:10])


@router.post("/models/{version}/promote")
def promote(version: str, caller: Annotated[Caller, page("models:promote")], state: StateDep,
            reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Promote the model (its comparison and the reason are recorded with it)."""
    model_lifecycle.promote_model(state.workspace, version, reason=reason.strip() or None)
    return RedirectResponse(f"/models/{version}", 303)


@router.post("/models/rollback/{kind}")
def rollback(kind: str, caller: Annotated[Caller, page("models:promote")], state: StateDep,
             reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Put back the model the promoted one replaced."""
    back = model_lifecycle.rollback_model(state.workspace, kind, reason=reason.strip() or None)
    return RedirectResponse(f"/models/{back.version}", 303)
