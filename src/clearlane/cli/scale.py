"""Partitioned data and clusters: `clearlane export --parquet`, `clearlane scale assess`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearlane.cli.common import WorkspaceOption, console, progress_bar, workspace_path
from clearlane.services.scale import assess_parquet, export_parquet, train_on_cluster
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Work on month-partitioned Parquet datasets, on this machine or on a "
                       "Dask cluster (extra `cluster`).", no_args_is_help=True)

OverwriteOption = Annotated[bool, typer.Option(
    help="Replace an existing output folder (only once the new one is complete).")]


def export(
    parquet: Annotated[Path, typer.Option(
        "--parquet", help="Folder to write: one year_month=YYYY-MM partition per month and a "
                          "_manifest.json (row counts, schema version, SHA-256 digests).",
        show_default=False)],
    workspace: WorkspaceOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Export the declarations (outcomes included) as a Parquet dataset partitioned by month.

    Written into a hidden folder and renamed into place when complete: an interrupted
    export leaves nothing behind. `clearlane scale assess --parquet DIR` scores it.
    """
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Exporting months") as advance:
        manifest = export_parquet(ws, parquet, overwrite=overwrite,
                                  progress=lambda done, total: advance(done, total))
    console.print(f"Exported [bold]{manifest.rows:,}[/] declaration items in "
                  f"{len(manifest.partitions)} monthly partitions to {parquet} "
                  f"(digest {manifest.digest[:16]}…)")


@app.command("assess")
def assess(
    parquet: Annotated[Path, typer.Option(
        "--parquet", help="Dataset written by `clearlane export --parquet`.",
        show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Folder for the assessments (one partition per month and a "
                               "_manifest.json).", show_default=False)],
    workspace: WorkspaceOption = None,
    cluster: Annotated[str | None, typer.Option(
        help="Run on Dask: local:N (N worker processes on this machine) or tcp://HOST:PORT "
             "(a running `dask scheduler`). Default: one month at a time in this process.",
        show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        help="Model version (default: the promoted, else newest, fraud model).")] = None,
    explain_top: Annotated[float, typer.Option(
        help="Percent of the riskiest declarations of each month that get reasons.")] = 10.0,
    store: Annotated[bool, typer.Option(
        help="Also store the assessments in the workspace (risk_assessments).")] = True,
    timeout: Annotated[float, typer.Option(
        help="Seconds to wait for a tcp:// scheduler before giving up.")] = 10.0,
    overwrite: OverwriteOption = False,
) -> None:
    """Assess a month-partitioned dataset month by month, in time order.

    Each month's history features see every earlier month, so the scores are those of
    `clearlane assess` on the same declarations. The output folder appears only when every
    month is scored (and stored): a failed job leaves nothing half-written and can be run
    again.
    """
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Scoring months") as advance:
        result = assess_parquet(
            ws, parquet, output, version=model, cluster=cluster,
            explain_share=explain_top / 100.0, store=store, overwrite=overwrite,
            timeout=timeout, progress=lambda done, total: advance(done, total))
    where = f"on {result.cluster}" if result.cluster else "on this machine"
    console.print(f"Assessed [bold]{result.rows:,}[/] declaration items in {result.partitions} "
                  f"months {where} with {result.model_version}"
                  + (f" and {result.anomaly_version}" if result.anomaly_version else ""))
    for warning in result.warnings:
        console.print(f"[yellow]Warning:[/] {warning}", highlight=False)
    console.print(f"Written to {result.output}"
                  + ("; stored in the workspace" if result.stored else ""))


@app.command("train")
def train(
    parquet: Annotated[Path, typer.Option(
        "--parquet", help="Dataset written by `clearlane export --parquet`.",
        show_default=False)],
    cluster: Annotated[str, typer.Option(
        help="Dask cluster: local:N (N worker processes on this machine) or tcp://HOST:PORT.",
        show_default=False)],
    workspace: WorkspaceOption = None,
    model: Annotated[str | None, typer.Option(
        help="Reference fraud model whose parameters, rounds and training window are used "
             "(default: the promoted, else newest).")] = None,
    promote: Annotated[bool, typer.Option(help="Promote the new model at once.")] = False,
    timeout: Annotated[float, typer.Option(
        help="Seconds to wait for a tcp:// scheduler before giving up.")] = 10.0,
) -> None:
    """Refit a fraud model's trees on a Dask cluster (lightgbm.dask) from a dataset.

    The parameters and the number of rounds are those the reference model chose on its
    validation window (`clearlane train`); its feature pipeline, calibration and revenue
    model are kept. The result is registered as a new fraud model: compare it with
    `clearlane evaluate --model`.
    """
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Training on the cluster") as advance:
        record = train_on_cluster(ws, parquet, cluster=cluster, version=model, promote=promote,
                                  timeout=timeout)
        advance(1, 1)
    console.print(f"Fraud model [bold]{record.version}[/] ({record.status}) trained on "
                  f"{cluster} with the parameters and {record.params.get('n_rounds')} rounds "
                  f"of {record.params.get('reference_model')}")
