"""`clearlane models`: list, show and import registered models; retrain in a job, compare a
candidate with the promoted model, promote, roll back, prune old ones."""

from __future__ import annotations

import json
import subprocess
import sys
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
from clearlane.models import registry
from clearlane.services import model_jobs, model_lifecycle, model_retention
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Registered models: list, show, import; retrain, compare, promote, "
                       "roll back, prune.", no_args_is_help=True)


@app.command("list")
def list_(
    workspace: WorkspaceOption = None,
    kind: Annotated[str | None, typer.Option(
        help="Only this kind: fraud, anomaly, hs, bands or quantile.")] = None,
) -> None:
    """List registered models, newest first."""
    ws = Workspace.open(workspace_path(workspace))
    table = Table(title="Models")
    for column in ("version", "kind", "status", "trained on", "rows", "val AUC", "val p@5%"):
        table.add_column(column)
    for m in registry.list_models(ws, kind):
        auc = m.metrics.get("val_auc")
        p5 = m.metrics.get("val_precision@5%")
        table.add_row(m.version, m.kind, m.status, f"{m.train_from} – {m.train_to}",
                      f"{m.n_rows:,}", "" if auc is None else f"{auc:.3f}",
                      "" if p5 is None else f"{p5:.3f}")
    console.print(table)


@app.command("show")
def show(
    version: Annotated[str, typer.Argument(help="Model version.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Show one model: window, features, parameters, metrics, provenance."""
    ws = Workspace.open(workspace_path(workspace))
    m = registry.get_model(ws, version)
    console.print(f"[bold]{m.version}[/] ({m.kind}, {m.status})")
    console.print(f"Training window: {m.train_from} – {m.train_to}, {m.n_rows:,} declarations")
    console.print(f"Data fingerprint: {m.data_fingerprint}")
    console.print(f"Artifact: {m.artifact_path} (sha256 {m.artifact_sha256[:16]}…)")
    console.print(f"Libraries: {json.dumps(m.library_versions)}")
    console.print(f"Metrics: {json.dumps(m.metrics, default=str)}")
    console.print(f"Parameters: {json.dumps(m.params, default=str)}")
    console.print(f"Features ({len(m.features)}): {', '.join(m.features)}")


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="A model artifact (.clz) saved by another workspace.")],
    workspace: WorkspaceOption = None,
    trust_artifact: Annotated[bool, typer.Option(
        "--trust-artifact", help="Read a model file from outside the workspace; only a file whose "
        "origin you trust.")] = False,
) -> None:
    """Register a fraud, anomaly or HS model trained elsewhere as a candidate."""
    ws = Workspace.open(workspace_path(workspace))
    m = registry.import_model(ws, path, trust=trust_artifact)
    console.print(f"Imported {path} as [bold]{m.version}[/] ({m.kind}, {m.status}); "
                  f"promote it with `clearlane models promote {m.version}`")


def _open(workspace: Path | None, patience: float = 10.0) -> Workspace:
    """The workspace, waiting a moment whenever a background job's process has it open."""
    return model_jobs.patient(workspace_path(workspace), patience)


def _summary(job: model_jobs.Job) -> None:
    if job.status != "succeeded" or job.result is None:
        last = job.log[-1].message if job.log else job.status
        console.print(f"Job [bold]{job.job_id}[/] {job.status}: {last}", highlight=False)
        return
    console.print(f"Job [bold]{job.job_id}[/] succeeded; new candidates: "
                  + ", ".join(f"{k} {v}" for k, v in job.result["models"].items()),
                  highlight=False)
    comparison = job.result.get("comparison")
    if comparison:
        _print_comparison(comparison)
    fraud = job.result["models"].get("fraud")
    if fraud:
        console.print(f"Promote it with `clearlane models promote {fraud} --reason …`",
                      highlight=False)


@app.command("retrain")
def retrain(
    workspace: WorkspaceOption = None,
    date_from: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"], help="First declaration date used (inclusive).")] = None,
    date_to: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="Last declaration date used (inclusive; overrides "
        "--holdout-days: the labelled days after it are the comparison window).")] = None,
    holdout_days: Annotated[int, typer.Option(
        help="Hold the latest N days with inspection outcomes out of training, to compare the "
             "candidate with the promoted model on them.")] = model_jobs.DEFAULT_HOLDOUT_DAYS,
    search: Annotated[bool, typer.Option(
        help="Search hyper-parameters (--no-search: one default, faster).")] = False,
    seed: Annotated[int | None, typer.Option(
        help="Random seed (env CLEARLANE_SEED; default 42).", show_default=False)] = None,
    background: Annotated[bool, typer.Option(
        "--background", help="Run in a detached process and print the job id at once "
        "(follow it with `clearlane models job ID`).")] = False,
) -> None:
    """Retrain the fraud model and the anomaly detector as a recorded job; the new models are
    candidates, compared with the promoted model on the held-out days, never promoted.

    One job at a time per workspace. While `clearlane serve` holds the workspace, start the
    job over the API (`POST /api/v1/models/jobs`).
    """
    ws = _open(workspace)
    params = model_jobs.TrainParameters(
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None, holdout_days=holdout_days,
        search=search, seed=seed_value(seed))
    job = model_jobs.create_train_job(ws, params)
    if background:
        command = [sys.executable, "-m", "clearlane.cli.main", "models", "run-job", job.job_id,
                   "--workspace", str(ws.path)]
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
        console.print(job.job_id)
        return
    with progress_bar("Retraining (%)", total=100) as advance:
        done = model_jobs.run_job(
            ws, job.job_id, on_progress=lambda fraction, _message: advance(
                round(fraction * 100), 100))
    _summary(done)
    if done.status != "succeeded":
        raise typer.Exit(1)


@app.command("run-job")
def run_job(
    job_id: Annotated[str, typer.Argument(help="A queued job's id.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Run a queued job in this process (what `models retrain --background` starts)."""
    ws = _open(workspace, patience=60.0)
    done = model_jobs.run_job(ws, job_id)
    if done.status != "succeeded":
        raise typer.Exit(1)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


@app.command("jobs")
def jobs(
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option(help="Show this many, newest first.")] = 20,
) -> None:
    """List jobs, newest first: status, progress, who started them."""
    ws = _open(workspace)
    table = Table(title="Jobs")
    for column in ("job", "kind", "status", "progress", "started by", "created (UTC)",
                   "finished (UTC)"):
        table.add_column(column)
    for job in model_jobs.list_jobs(ws, limit):
        table.add_row(job.job_id, job.kind, job.status, f"{job.progress:.0%}", job.started_by,
                      _when(job.created_at), _when(job.finished_at))
    console.print(table)


@app.command("job")
def job(
    job_id: Annotated[str, typer.Argument(help="The job's id.")],
    workspace: WorkspaceOption = None,
    lines: Annotated[int, typer.Option(help="Show the last N lines of its log.")] = 20,
) -> None:
    """Show one job: status, progress, parameters, result and the tail of its log."""
    ws = _open(workspace)
    found = model_jobs.get_job(ws, job_id, lines)
    console.print(f"[bold]{found.job_id}[/] ({found.kind}) {found.status}, "
                  f"{found.progress:.0%} done; started by {found.started_by}", highlight=False)
    console.print(f"Parameters: {json.dumps(found.parameters)}", highlight=False)
    for line in found.log:
        console.print(f"  {_when(line.logged_at)}  {line.message}", highlight=False)
    if found.result:
        console.print(f"Result: {json.dumps(found.result['models'])}", highlight=False)
        if found.result.get("comparison"):
            _print_comparison(found.result["comparison"])


def _number(value: object, digits: int = 3) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def _print_comparison(comparison: dict[str, object]) -> None:
    rate = comparison["rate"]
    table = Table(title=f"Held-out comparison, {comparison['window_from']} – "
                        f"{comparison['window_to']}, inspecting {rate:g} %")
    for column in ("model", "status", "trained on", "saw window", "n", "frauds", "AUC",
                   "precision", "recall", "revenue", "Brier", "ECE"):
        table.add_column(column)
    for side in ("candidate", "baseline"):
        row = comparison.get(side)
        if not isinstance(row, dict):
            continue
        table.add_row(row["version"], row["status"], f"{row['train_from']} – {row['train_to']}",
                      "yes" if row["saw_window"] else "no", str(row["n"]), str(row["frauds"]),
                      _number(row["auc"]), _number(row["precision"]), _number(row["recall"]),
                      _number(row["revenue"]), _number(row["brier"], 4), _number(row["ece"]))
    console.print(table)
    if comparison.get("baseline") is None:
        console.print("No promoted fraud model to compare with.")
    elif isinstance(comparison["baseline"], dict) and comparison["baseline"]["saw_window"]:
        console.print("[yellow]The baseline trained on these days: its numbers are "
                      "optimistic.[/]")


@app.command("compare")
def compare(
    candidate: Annotated[str, typer.Argument(help="The candidate fraud model's version.")],
    workspace: WorkspaceOption = None,
    with_: Annotated[str | None, typer.Option(
        "--with", help="Compare with this version (default: the promoted fraud model).")] = None,
    days: Annotated[int | None, typer.Option(
        help="The latest N labelled days (default: every labelled day after the candidate's "
             "training window).")] = None,
    rate: Annotated[float, typer.Option(
        help="Percent of declarations inspected.")] = model_lifecycle.DEFAULT_RATE,
) -> None:
    """Compare a candidate fraud model with the promoted one on held-out days: AUC,
    precision, recall and revenue at the inspection rate, Brier score, calibration error.

    A window that overlaps the candidate's training data is refused (exit 2)."""
    ws = _open(workspace)
    comparison = model_lifecycle.compare_models(ws, candidate, baseline=with_, days=days,
                                                rate=rate)
    _print_comparison(comparison.as_dict())


@app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Model version to promote.")],
    workspace: WorkspaceOption = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept on record).")] = None,
) -> None:
    """Make a model the one used by default for its kind, recording the held-out comparison
    it rests on and the reason."""
    ws = _open(workspace)
    p = model_lifecycle.promote_model(ws, version, reason=reason)
    console.print(f"Promoted [bold]{p.version}[/] ({p.kind})"
                  + (f", replacing {p.previous_version}" if p.previous_version else ""),
                  highlight=False)
    if p.comparison and "unavailable" in p.comparison:
        console.print(f"[yellow]No held-out comparison:[/] {p.comparison['unavailable']}",
                      highlight=False)


@app.command("rollback")
def rollback(
    kind: Annotated[str, typer.Argument(help="fraud, anomaly, hs, bands or quantile.")],
    workspace: WorkspaceOption = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept on record).")] = None,
) -> None:
    """Promote again the model that the promoted model of KIND replaced."""
    ws = _open(workspace)
    p = model_lifecycle.rollback_model(ws, kind, reason=reason)
    console.print(f"Rolled back {p.kind}: [bold]{p.version}[/] is promoted again, replacing "
                  f"{p.previous_version}", highlight=False)


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB"


@app.command("prune")
def prune(
    workspace: WorkspaceOption = None,
    keep: Annotated[int | None, typer.Option(
        min=1, help="Keep the newest N models of each kind besides the promoted one and the one it "
             "replaced (env CLEARLANE_MODELS_KEEP; default 5).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would be removed; change nothing.")] = False,
    include_assessed: Annotated[bool, typer.Option(
        "--include-assessed", help="Also remove models that stored assessments, selections "
        "or lodgement answers refer to (those results stay, naming a removed version).")] = False,
) -> None:
    """Remove old models (registry rows and artifact files), never the promoted model of a
    kind nor the one it replaced; prints what was removed and the space freed."""
    ws = _open(workspace)
    n = keep if keep is not None else Settings().models_keep
    result = model_retention.prune_models(ws, keep=n, include_assessed=include_assessed,
                                          dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    table = Table(title=f"{verb} {len(result.removed)} models (keeping the newest {n} of "
                        "each kind, the promoted one and the one it replaced)")
    for column in ("version", "kind", "status", "created (UTC)", "assessed", "size"):
        table.add_column(column)
    for m in result.removed:
        table.add_row(m.version, m.kind, m.status, _when(m.created_at),
                      "yes" if m.referenced else "no", _megabytes(m.bytes))
    console.print(table)
    if result.orphans:
        console.print(f"{verb} {len(result.orphans)} artifact files no model refers to "
                      f"({_megabytes(result.orphan_bytes)}).", highlight=False)
    if result.kept_referenced:
        console.print(f"Kept {len(result.kept_referenced)} older models that stored results "
                      "refer to (--include-assessed removes them): "
                      + ", ".join(result.kept_referenced), highlight=False)
    console.print(f"{'Would free' if dry_run else 'Freed'} {_megabytes(result.freed_bytes)}.",
                  highlight=False)
