"""Risk use cases: train the models, assess declarations, evaluate a model on later outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from clearlane.errors import ValidationError
from clearlane.evaluate.metrics import TargetingMetrics, targeting_metrics
from clearlane.features.pipeline import FittedFeatures
from clearlane.features.prepare import SCORING_COLUMNS
from clearlane.models import registry
from clearlane.models.anomaly import AnomalyDetector
from clearlane.models.fraud import DEFAULT_GRID, FraudModel
from clearlane.schema.reasons import RiskAssessment
from clearlane.scoring import AnomalyScorer, FraudScorer, ScoreFrame, row_keys
from clearlane.scoring.assessments import assessment_frame, assessments_from_frame
from clearlane.services import audit
from clearlane.store.exports import table_format, write_table
from clearlane.store.workspace import DECLARATION_ORDER, Workspace, date_window_sql

Progress = Callable[[float, float | None], None]

COMPILE_FROM_ROWS = 100_000
"""Batches at least this large are scored with compiled trees when lleaves is installed."""


@dataclass(frozen=True)
class TrainResult:
    fraud: registry.ModelRecord | None
    anomaly: registry.ModelRecord


@dataclass(frozen=True)
class AssessResult:
    """What ``assess`` did: ``assessments`` is the stored table
    (:data:`~clearlane.scoring.assessments.ASSESSMENT_SCHEMA`); ``warnings`` name every scorer
    that was unavailable and why."""

    rows: int
    model_version: str
    anomaly_version: str | None
    output: Path | None
    assessments: pl.DataFrame
    scorer_versions: dict[str, str | None] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def risk_assessments(self) -> list[RiskAssessment]:
        """The assessments as objects (one per declaration item; slow for large batches)."""
        return assessments_from_frame(self.assessments)


def _load(workspace: Workspace, date_from: date | None, date_to: date | None) -> pl.DataFrame:
    return _non_empty(workspace.declarations(where=date_window_sql(date_from, date_to)),
                      date_from, date_to)


def _non_empty(frame: pl.DataFrame, date_from: date | None, date_to: date | None) -> pl.DataFrame:
    if frame.height == 0:
        raise ValidationError(
            f"no declarations in the workspace between {date_from or 'the start'} and "
            f"{date_to or 'the end'}; ingest data or widen the window"
        )
    return frame


def load_for_scoring(workspace: Workspace, date_from: date | None = None,
                     date_to: date | None = None) -> pl.DataFrame:
    """Declarations of a window with only the columns scoring reads (identifiers, date and
    feature inputs; see :data:`~clearlane.features.prepare.SCORING_COLUMNS`), by date."""
    where = date_window_sql(date_from, date_to)
    # One connection for both queries: opening the database costs more than listing columns.
    with workspace.connect() as con:
        present = set(con.sql("SELECT * FROM declarations LIMIT 0").columns)
        columns = ", ".join(c for c in SCORING_COLUMNS if c in present)
        frame = con.sql(
            f"SELECT {columns} FROM declarations"
            + (f" WHERE {where}" if where else "")
            + f" ORDER BY {DECLARATION_ORDER}"
        ).pl()
    return _non_empty(frame, date_from, date_to)


TRAINING_COLUMNS: tuple[str, ...] = (*SCORING_COLUMNS, "inspected", "fraud", "revenue_recovered")
"""The columns training reads: what scoring reads plus the outcomes."""


def load_for_training(workspace: Workspace, date_from: date | None = None,
                      date_to: date | None = None) -> pl.DataFrame:
    """Declarations of a window with only :data:`TRAINING_COLUMNS` (not the goods
    descriptions, notes or ingest bookkeeping that no model reads), by date then id."""
    with workspace.connect() as con:
        present = set(con.sql("SELECT * FROM declarations LIMIT 0").columns)
    columns = [c for c in TRAINING_COLUMNS if c in present]
    frame = workspace.declarations(columns=columns, where=date_window_sql(date_from, date_to))
    return _non_empty(frame, date_from, date_to)


def train_models(
    workspace: Workspace,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    seed: int = 42,
    promote: bool = False,
    search: bool = True,
    progress: Progress | None = None,
) -> TrainResult:
    """Train the fraud model (when outcomes exist) and the anomaly detector; register both.

    ``search`` false skips the hyper-parameter search (one default candidate, faster). The
    data fingerprint covers the columns training reads (:data:`TRAINING_COLUMNS`).
    """
    data = load_for_training(workspace, date_from, date_to)
    fingerprint = registry.data_fingerprint(data)
    first, last = data["declared_at"].min(), data["declared_at"].max()
    labelled = int(data.filter(pl.col("inspected").fill_null(False)).height)
    model = None
    shared: FittedFeatures | None = None
    if labelled >= 50:
        grid = None if search else [DEFAULT_GRID[0]]
        # one pipeline and one feature frame for both models (the detector keeps the groups
        # it needs); without outcomes the detector fits its own, smaller pipeline
        shared = FittedFeatures.fit(data)
        model = FraudModel(grid=grid, random_state=seed).fit(data, progress=progress,
                                                             features=shared)
    detector = AnomalyDetector(random_state=seed).fit(data, features=shared)
    del shared
    return register_trained(workspace, model, detector, first=first, last=last,
                            n_rows=data.height, fingerprint=fingerprint, seed=seed,
                            promote=promote)


def register_trained(workspace: Workspace, model: FraudModel | None, detector: AnomalyDetector,
                     *, first: Any, last: Any, n_rows: int, fingerprint: str, seed: int,
                     promote: bool, details: dict[str, Any] | None = None) -> TrainResult:
    """Register a fitted fraud model (when there is one) and anomaly detector trained on the
    same ``n_rows`` declarations from ``first`` to ``last``; promote both when ``promote``.
    ``details`` are added to both models' recorded parameters."""
    extra = dict(details or {})
    fraud_record = None
    if model is not None:
        fraud_record = registry.register(
            workspace, model, "fraud", train_from=first, train_to=last, n_rows=n_rows,
            features=model.feature_names_,
            params={"chosen": model.best_params_, "n_rounds": model.n_rounds_,
                    "calibration": list(model.calibration_), "trials": model.trials_,
                    "revenue_basis": model.revenue_basis_, "seed": seed, **extra},
            metrics={**model.validation_metrics_,
                     "validation_window": list(model.validation_window_)},
            fingerprint=fingerprint,
        )
    anomaly_record = registry.register(
        workspace, detector, "anomaly", train_from=first, train_to=last, n_rows=n_rows,
        features=detector.feature_names_, params={"seed": seed, "clip": detector.clip,
                                                 "medians": detector.medians_.tolist(),
                                                 "scales": detector.scales_.tolist(), **extra},
        metrics={}, fingerprint=fingerprint,
        # the detector's history tables are the fraud model's (one shared pipeline): stored once
        history_of=None if fraud_record is None else fraud_record.version,
    )
    if promote:
        if fraud_record is not None:
            fraud_record = registry.promote(workspace, fraud_record.version)
        anomaly_record = registry.promote(workspace, anomaly_record.version)
    return TrainResult(fraud=fraud_record, anomaly=anomaly_record)


UNAVAILABLE_ANOMALY = ("no anomaly detector registered in this workspace: anomaly scores "
                       "left empty (train one with `clearlane train`)")


def anomaly_score_frame(workspace: Workspace, data: pl.DataFrame,
                        explain_share: float = 0.1) -> ScoreFrame:
    """The anomaly detector's score frame for ``data``: ``unavailable`` (with the reason) when
    the workspace has no detector registered; a ClearlaneError when it cannot be loaded."""
    if not registry.list_models(workspace, kind="anomaly"):
        return ScoreFrame.unavailable("anomaly", row_keys(data), UNAVAILABLE_ANOMALY)
    record = registry.get_model(workspace, None, kind="anomaly")
    detector = registry.load_model(workspace, record)
    return AnomalyScorer(detector, record.version, explain_share=explain_share).score(data)


def assess_declarations(
    workspace: Workspace,
    *,
    version: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    output: Path | None = None,
    explain_share: float = 0.1,
    progress: Progress | None = None,
) -> AssessResult:
    """Score declarations with a registered fraud model and the anomaly detector.

    Writes one row per declaration and model to ``risk_assessments`` (replacing earlier
    assessments by the same model; see :mod:`clearlane.scoring.assessments` for the columns)
    and, when ``output`` ends in .csv or .parquet, a file. Reasons go to the riskiest
    ``explain_share`` of rows of each scorer. A scorer that cannot run is reported, never
    silent: no anomaly detector registered gives an ``unavailable`` status and a warning; a
    model file that cannot be read raises a ClearlaneError.
    """
    if output is not None:
        table_format(output)  # refuse a wrong file name before any work
    record = registry.get_model(workspace, version, kind="fraud")
    model: FraudModel = registry.load_model(workspace, record)
    data = load_for_scoring(workspace, date_from, date_to)
    if data.height >= COMPILE_FROM_ROWS:
        # native trees (extra `fast`), compiled once per model and cached in the workspace
        model.compile(workspace.artifacts_dir / "compiled")
    report = progress or (lambda done, total: None)
    report(0, 3)
    fraud = FraudScorer(model, record.version, explain_share=explain_share).score(data)
    report(1, 3)
    anomaly = anomaly_score_frame(workspace, data, explain_share)
    report(2, 3)
    now = datetime.now(UTC).replace(tzinfo=None)
    table = assessment_frame([fraud, anomaly], now)
    with workspace.transaction() as con:
        con.register("new_assessments", table.to_arrow())
        con.execute(
            "DELETE FROM risk_assessments WHERE model_version = ? AND (declaration_id, item_no) "
            "IN (SELECT declaration_id, item_no FROM new_assessments)", [record.version]
        )
        columns = ", ".join(table.columns)
        con.execute(f"INSERT INTO risk_assessments ({columns}) "
                    f"SELECT {columns} FROM new_assessments")
        con.unregister("new_assessments")
        audit.record(con, action="assess.run", object_type="model", object_id=record.version,
                     change={"rows": table.height, "anomaly_version": anomaly.version})
    if output is not None:
        write_table(table, output)
    report(3, 3)
    warnings = tuple(f"{f.scorer} scorer unavailable: {f.message}"
                     for f in (fraud, anomaly) if not f.available)
    return AssessResult(rows=data.height, model_version=record.version,
                        anomaly_version=anomaly.version if anomaly.available else None,
                        output=output, assessments=table,
                        scorer_versions={f.scorer: f.version for f in (fraud, anomaly)},
                        warnings=warnings)


def evaluate_model(
    workspace: Workspace,
    *,
    version: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    by: str = "probability",
) -> tuple[registry.ModelRecord, TargetingMetrics]:
    """Metrics of a model on inspected declarations of a window (default: after training)."""
    if by not in ("probability", "revenue"):
        raise ValidationError(f"--by must be 'probability' or 'revenue'; got {by!r}")
    record = registry.get_model(workspace, version, kind="fraud")
    model: FraudModel = registry.load_model(workspace, record)
    if date_from is None and record.train_to is not None:
        train_to = record.train_to
        date_from = date.fromordinal(train_to.toordinal() + 1)
    data = _load(workspace, date_from, date_to)
    inspected = data["inspected"].fill_null(False)
    if not inspected.any():
        raise ValidationError(
            f"no inspected declarations from {date_from} to {date_to or 'the end'} to evaluate on"
        )
    # Score the whole window (history counts need every declaration), measure on the inspected.
    scores = model.score(data.drop("inspected", "fraud", "revenue_recovered", strict=False),
                         reasons=0)
    column = "fraud_probability" if by == "probability" else "expected_revenue"
    mask = inspected.to_numpy()
    revenue = (data["revenue_recovered"].cast(pl.Float64).to_numpy()[mask]
               if data["revenue_recovered"].null_count() < data.height else None)
    metrics = targeting_metrics(
        data["fraud"].fill_null(False).to_numpy()[mask], scores[column].to_numpy()[mask],
        revenue=revenue, tie_key=data["declaration_id"].to_numpy()[mask],
    )
    return record, metrics
