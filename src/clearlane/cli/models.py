"""`clearlane models`: list, show and promote registered models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.models import registry
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Registered models: list, show, import, promote.", no_args_is_help=True)


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


@app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Model version to promote.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Make a model the one used by default for its kind."""
    ws = Workspace.open(workspace_path(workspace))
    m = registry.promote(ws, version)
    console.print(f"Promoted [bold]{m.version}[/] ({m.kind})")
