"""The models lifecycle after training: compare a candidate with the promoted model on held-out
days, promote it (with the comparison and a reason on record), roll back.

The comparison is honest only on data the candidate never saw: its window starts the day after
the candidate's training window (``train_to``) and a window that overlaps it is refused. The
promoted model may have seen those days (it may have been trained later, or on everything);
each model's row says so (``saw_window``), and its numbers are then optimistic.

Metrics are those of ``clearlane evaluate`` on the inspected declarations of the window:
AUC (higher = better ranking), precision, recall and revenue captured when inspecting the
riskiest ``rate`` percent, and calibration of the stated probability: the Brier score (mean
squared error of the probability, 0 = perfect) and the expected calibration error.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ArtifactError, ConflictError, NotFoundError, ValidationError
from clearlane.evaluate.calibration import reliability
from clearlane.evaluate.metrics import targeting_metrics
from clearlane.models import registry
from clearlane.models.fraud import FraudModel
from clearlane.store.workspace import Workspace, date_window_sql

DEFAULT_RATE = 5.0
"""Percent of declarations inspected at which precision and revenue are compared."""


@dataclass(frozen=True)
class ModelScore:
    """One model's metrics on the comparison window (probabilities in 0-1)."""

    version: str
    status: str
    train_from: date | None
    train_to: date | None
    saw_window: bool
    """True when the model's training window overlaps the comparison window."""
    n: int
    frauds: int
    auc: float | None
    precision: float
    recall: float
    revenue: float | None
    brier: float
    ece: float


@dataclass(frozen=True)
class Comparison:
    """A candidate fraud model against a baseline (the promoted model by default) on the
    inspected declarations of ``window_from`` … ``window_to``."""

    window_from: date
    window_to: date
    rate: float
    candidate: ModelScore
    baseline: ModelScore | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["window_from"] = self.window_from.isoformat()
        out["window_to"] = self.window_to.isoformat()
        for side in ("candidate", "baseline"):
            if out[side] is not None:
                for key in ("train_from", "train_to"):
                    value = out[side][key]
                    out[side][key] = None if value is None else value.isoformat()
        return out


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def last_labelled_day(workspace: Workspace) -> date | None:
    """The latest declaration date with an inspected declaration, or None."""
    row = workspace.query(
        "SELECT max(declared_at) AS last FROM declarations WHERE inspected").row(0)
    return _day(row[0])


def brier_score(probability: np.ndarray, outcome: np.ndarray) -> float:
    """Mean squared difference between the stated probability and the outcome (0 or 1).

    >>> brier_score(np.array([0.9, 0.2]), np.array([True, False]))
    0.025
    """
    p = np.asarray(probability, dtype=float)
    y = np.asarray(outcome, dtype=float)
    return round(float(np.mean((p - y) ** 2)), 12)


def _score(record: registry.ModelRecord, model: FraudModel, data: pl.DataFrame,
           window: tuple[date, date], rate: float) -> ModelScore:
    # Score the whole window (history counts need every declaration), measure on the inspected.
    scores = model.score(data.drop("inspected", "fraud", "revenue_recovered", strict=False),
                         reasons=0)
    mask = data["inspected"].fill_null(False).to_numpy()
    y = data["fraud"].fill_null(False).to_numpy()[mask]
    p = scores["fraud_probability"].to_numpy()[mask]
    revenue = (data["revenue_recovered"].cast(pl.Float64).to_numpy()[mask]
               if data["revenue_recovered"].null_count() < data.height else None)
    metrics = targeting_metrics(y, p, revenue=revenue, ks=(rate,),
                                tie_key=data["declaration_id"].to_numpy()[mask])
    train_from, train_to = _day(record.train_from), _day(record.train_to)
    saw = (train_to is None or train_to >= window[0]) and (
        train_from is None or train_from <= window[1])
    return ModelScore(
        version=record.version, status=record.status, train_from=train_from,
        train_to=train_to, saw_window=bool(saw), n=metrics.n, frauds=metrics.frauds,
        auc=metrics.auc, precision=metrics.precision[rate], recall=metrics.recall[rate],
        revenue=metrics.revenue[rate], brier=brier_score(p, y),
        ece=reliability(p, y).ece,
    )


def comparison_window(workspace: Workspace, candidate: registry.ModelRecord, *,
                      date_from: date | None = None, date_to: date | None = None,
                      days: int | None = None) -> tuple[date, date]:
    """The held-out window: the latest ``days`` labelled days, else every labelled day after
    the candidate's training window; refused when it overlaps the candidate's training."""
    last = last_labelled_day(workspace)
    if last is None:
        raise ValidationError("no inspected declarations in the workspace: nothing to compare on")
    date_to = date_to or last
    train_to = _day(candidate.train_to)
    if date_from is None:
        if days is not None:
            if days < 1:
                raise ValidationError(f"days must be at least 1; got {days}")
            date_from = date_to - timedelta(days=days - 1)
        elif train_to is not None:
            date_from = train_to + timedelta(days=1)
        else:
            raise ValidationError(
                f"model {candidate.version!r} has no recorded training window (imported?): "
                "give the comparison window (days or from/to)")
    if date_from > date_to:
        raise ValidationError(
            f"no labelled days after the training window of {candidate.version!r} (trained to "
            f"{train_to}; latest inspected declaration {last}): retrain with held-out days "
            "(`clearlane models retrain --holdout-days N`)")
    if train_to is not None and date_from <= train_to:
        raise ValidationError(
            f"the comparison window {date_from} – {date_to} overlaps the training data of "
            f"{candidate.version!r} (to {train_to}): it would not be held out; compare on days "
            f"after {train_to} or retrain with `--holdout-days`")
    return date_from, date_to


def compare_models(workspace: Workspace, candidate: str, *, baseline: str | None = None,
                   date_from: date | None = None, date_to: date | None = None,
                   days: int | None = None, rate: float = DEFAULT_RATE) -> Comparison:
    """Metrics of the fraud model ``candidate`` and of ``baseline`` (default: the promoted
    fraud model, none when there is none) on the held-out window (see
    :func:`comparison_window`)."""
    if not 0 < rate <= 100:
        raise ValidationError(f"rate must be a percentage in (0, 100]; got {rate}")
    record = registry.get_model(workspace, candidate)
    if record.kind != "fraud":
        raise ValidationError(
            f"{candidate!r} is a {record.kind} model: only fraud models are compared on "
            "inspection outcomes")
    if baseline is None:
        promoted = [m for m in registry.list_models(workspace, "fraud") if m.status == "promoted"]
        base = promoted[0] if promoted and promoted[0].version != candidate else None
    else:
        base = registry.get_model(workspace, baseline)
        if base.kind != "fraud":
            raise ValidationError(f"{baseline!r} is a {base.kind} model, not a fraud model")
        if base.version == candidate:
            raise ValidationError("compare a model with another one, not with itself")
    window = comparison_window(workspace, record, date_from=date_from, date_to=date_to,
                               days=days)
    data = workspace.declarations(where=date_window_sql(*window))
    if not data["inspected"].fill_null(False).any():
        raise ValidationError(f"no inspected declarations from {window[0]} to {window[1]}")
    scored = [_score(r, registry.load_model(workspace, r), data, window, rate)
              for r in (record, base) if r is not None]
    return Comparison(window_from=window[0], window_to=window[1], rate=rate,
                      candidate=scored[0], baseline=scored[1] if len(scored) > 1 else None)


@dataclass(frozen=True)
class Promotion:
    """One promotion or rollback, as kept in ``model_promotions``."""

    kind: str
    version: str
    previous_version: str | None
    promoted_by: str
    promoted_at: datetime
    action: str
    reason: str | None
    comparison: dict[str, Any] | None


def promotions(workspace: Workspace, kind: str | None = None) -> list[Promotion]:
    """The promotion history, newest first."""
    where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
    frame = workspace.query(
        f"SELECT * FROM model_promotions {where} ORDER BY promoted_at DESC", params)
    return [Promotion(kind=r["kind"], version=r["version"],
                      previous_version=r["previous_version"], promoted_by=r["promoted_by"],
                      promoted_at=r["promoted_at"], action=r["action"], reason=r["reason"],
                      comparison=json.loads(r["comparison"]) if r["comparison"] else None)
            for r in frame.to_dicts()]


def _recorded_comparison(workspace: Workspace, version: str) -> dict[str, Any] | None:
    """The comparison a retraining job recorded for ``version`` (its candidate), if any."""
    frame = workspace.query(
        "SELECT result FROM jobs WHERE status = 'succeeded' AND result IS NOT NULL "
        "ORDER BY finished_at DESC")
    for (text,) in frame.iter_rows():
        result = json.loads(text)
        comparison = result.get("comparison")
        if comparison and comparison.get("candidate", {}).get("version") == version:
            return dict(comparison)
    return None


def promote_model(workspace: Workspace, version: str, *,
                  reason: str | None = None) -> Promotion:
    """Promote ``version`` (used by default for its kind from now on), recording the
    comparison it rests on (the one its retraining job recorded, else computed now on the days
    after its training; for a fraud model with no held-out days, why there is none) and the
    ``reason``. Promoting the promoted model is a :class:`ConflictError`."""
    record = registry.get_model(workspace, version)
    if record.status == "promoted":
        raise ConflictError(f"{version!r} is already the promoted {record.kind} model")
    # a model whose file is missing, changed or untrusted is never put into use
    registry.load_model(workspace, record)
    comparison: dict[str, Any] | None = None
    if record.kind == "fraud":
        comparison = _recorded_comparison(workspace, version)
        if comparison is None:
            try:
                comparison = compare_models(workspace, version).as_dict()
            except ArtifactError:
                raise  # the promoted model's file: promoting the candidate would hide it
            except ValidationError as exc:
                comparison = {"unavailable": str(exc)}
    registry.promote(workspace, version, reason=reason, action="promote",
                     comparison=comparison)
    return promotions(workspace, record.kind)[0]


def rollback_model(workspace: Workspace, kind: str, *, reason: str | None = None) -> Promotion:
    """Promote again the model that the promoted model of ``kind`` replaced.

    Walks back the history: after a rollback to A, the next one goes to what A replaced when it
    was promoted. :class:`ConflictError` when nothing was promoted before.
    """
    if kind not in registry.KINDS:
        raise ValidationError(f"unknown model kind {kind!r}; valid: {list(registry.KINDS)}")
    current = [m for m in registry.list_models(workspace, kind) if m.status == "promoted"]
    if not current:
        raise NotFoundError(f"no promoted {kind} model to roll back")
    row = workspace.query(
        "SELECT previous_version FROM model_promotions WHERE kind = ? AND version = ? AND "
        "action = 'promote' ORDER BY promoted_at DESC LIMIT 1", [kind, current[0].version])
    previous = row.item(0, 0) if row.height else None
    if previous is None:
        raise ConflictError(
            f"no {kind} model was promoted before {current[0].version!r}: nothing to roll "
            "back to")
    registry.load_model(workspace, registry.get_model(workspace, str(previous)))
    registry.promote(workspace, str(previous), reason=reason, action="rollback")
    return promotions(workspace, kind)[0]
