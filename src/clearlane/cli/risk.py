"""Risk commands: `clearlane train`, `clearlane assess`, `clearlane evaluate`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import (
    WorkspaceOption,
    console,
    progress_bar,
    seed_value,
    workspace_path,
)
from clearlane.services.risk import (
    TrainResult,
    assess_declarations,
    evaluate_model,
    train_models,
)
from clearlane.store.workspace import Workspace


def train(
    workspace: WorkspaceOption = None,
    date_from: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"], help="First declaration date used (inclusive).")] = None,
    date_to: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="Last declaration date used (inclusive).")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Random seed (env CLEARLANE_SEED; default 42).", show_default=False)] = None,
    promote: Annotated[bool, typer.Option(help="Promote the new models at once.")] = False,
    search: Annotated[bool, typer.Option(
        help="Search hyper-parameters on the validation window (--no-search: one default, "
             "faster).")] = True,
) -> None:
    """Train the fraud model (needs inspection outcomes) and the anomaly detector.

    Hyper-parameters and calibration use the latest 20 % of the labelled window; both models
    are registered in the workspace (see `clearlane models list`).
    """
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Training", total=6) as advance:
        result = train_models(
            ws, date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None, seed=seed_value(seed), promote=promote,
            search=search,
            progress=lambda done, total: advance(done, total),
        )
    report_trained(result)


def report_trained(result: TrainResult) -> None:
    """What `train` and `scale train` print about the models they registered."""
    if result.fraud is None:
        console.print("[yellow]No inspection outcomes (need 50 inspected): fraud model skipped.[/]")
    else:
        m = result.fraud.metrics
        console.print(
            f"Fraud model [bold]{result.fraud.version}[/] ({result.fraud.status}) trained on "
            f"{result.fraud.n_rows:,} declarations {result.fraud.train_from} – "
            f"{result.fraud.train_to}; validation AUC {m.get('val_auc', float('nan')):.3f}, "
            f"precision@5% {m.get('val_precision@5%', float('nan')):.3f}, "
            f"calibration error {m.get('val_ece', float('nan')):.3f}"
        )
    console.print(f"Anomaly detector [bold]{result.anomaly.version}[/] ({result.anomaly.status})")


def assess(
    workspace: WorkspaceOption = None,
    model: Annotated[str | None, typer.Option(
        help="Model version (default: the promoted, else newest, fraud model).")] = None,
    date_from: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"], help="First declaration date (inclusive).")] = None,
    date_to: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="Last declaration date (inclusive).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Also write the assessments to this .csv or .parquet file.")] = None,
    explain_top: Annotated[float, typer.Option(
        help="Percent of the riskiest declarations that get reasons.")] = 10.0,
    show: Annotated[int, typer.Option(help="Show this many riskiest declarations.")] = 10,
) -> None:
    """Assess declarations: fraud probability, expected revenue at stake, anomaly score, reasons.

    Results go to the workspace table risk_assessments (and to --output), with every
    scorer's version and status; a scorer that is unavailable is named in a warning.
    """
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Assessing", total=3) as advance:
        result = assess_declarations(
            ws, version=model, date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None, output=output,
            explain_share=explain_top / 100.0,
            progress=lambda done, total: advance(done, total),
        )
    console.print(f"Assessed [bold]{result.rows:,}[/] declarations with {result.model_version}"
                  + (f" and {result.anomaly_version}" if result.anomaly_version else ""))
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {warning}", highlight=False)
    if result.output:
        console.print(f"Written to {result.output}")
    if show > 0:
        from clearlane.schema.reasons import reasons_from_json

        table = Table(title="Riskiest declarations")
        for column in ("declaration", "p(fraud)", "expected revenue", "anomaly", "top reason"):
            table.add_column(column)
        top = result.assessments.sort("fraud_probability", descending=True).head(show)
        for row in top.iter_rows(named=True):
            reasons = reasons_from_json(row["reasons"])
            anomaly = row["anomaly_score"]
            table.add_row(
                f"{row['declaration_id']}/{row['item_no']}", f"{row['fraud_probability']:.3f}",
                f"{row['expected_revenue']:,.0f}",
                "n/a" if anomaly is None else f"{anomaly:.3f}",
                reasons[0].text if reasons else "",
            )
        console.print(table)


def evaluate(
    workspace: WorkspaceOption = None,
    model: Annotated[str | None, typer.Option(help="Model version (default: promoted/newest).")] = None,
    date_from: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"],
        help="First date evaluated (default: the day after the training window).")] = None,
    date_to: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="Last date evaluated (inclusive).")] = None,
    by: Annotated[str, typer.Option(help="Rank by 'probability' or 'revenue' (expected).")] = (
        "probability"),
) -> None:
    """Precision, recall and revenue at 1/2/5/10 % and AUC on inspected declarations."""
    ws = Workspace.open(workspace_path(workspace))
    record, metrics = evaluate_model(
        ws, version=model, date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None, by=by,
    )
    console.print(f"Model [bold]{record.version}[/] on {metrics.n:,} inspected declarations "
                  f"({metrics.frauds:,} frauds), ranked by {by}; AUC "
                  + (f"{metrics.auc:.4f}" if metrics.auc is not None else "n/a"))
    table = Table()
    for column in ("k", "precision", "recall", "revenue"):
        table.add_column(column, justify="right")
    for k in metrics.precision:
        rev = metrics.revenue[k]
        table.add_row(f"{k:g} %", f"{metrics.precision[k]:.3f}", f"{metrics.recall[k]:.3f}",
                      "n/a" if rev is None else f"{rev:.3f}")
    console.print(table)
