"""Partitioned data and clusters: `clearlane export --parquet`, `clearlane scale assess` and
`clearlane scale train`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from clearlane.cli.common import (
    WorkspaceOption,
    console,
    progress_bar,
    seed_value,
    workspace_path,
)
from clearlane.cli.risk import report_trained
from clearlane.errors import ValidationError
from clearlane.services.scale import (
    assess_parquet,
    export_parquet,
    train_on_cluster,
    train_out_of_core,
)
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
    cluster: Annotated[str | None, typer.Option(
        help="Refit a registered model's trees on a Dask cluster: local:N (N worker processes "
             "on this machine) or tcp://HOST:PORT. Without it, train here, one month in "
             "memory at a time.", show_default=False)] = None,
    workspace: WorkspaceOption = None,
    date_from: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"],
        help="First declaration date used (inclusive; not with --cluster).")] = None,
    date_to: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"],
        help="Last declaration date used (inclusive; not with --cluster).")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Random seed (env CLEARLANE_SEED; default 42; not with --cluster).",
        show_default=False)] = None,
    search: Annotated[bool, typer.Option(
        help="Search hyper-parameters on the validation window (--no-search: one default, "
             "faster; not with --cluster).")] = True,
    model: Annotated[str | None, typer.Option(
        help="With --cluster: the reference fraud model whose parameters, rounds and "
             "training window are used (default: the promoted, else newest).")] = None,
    promote: Annotated[bool, typer.Option(help="Promote the new model(s) at once.")] = False,
    timeout: Annotated[float, typer.Option(
        help="Seconds to wait for a tcp:// scheduler before giving up.")] = 10.0,
) -> None:
    """Train from a dataset, on this machine out of core or on a Dask cluster.

    Without --cluster: what `clearlane train` does (fraud model and anomaly detector, the
    same models on the same declarations), reading one month at a time, so a history larger
    than memory can be trained on one machine.

    With --cluster: refit a registered fraud model's trees with lightgbm.dask, with the
    parameters and rounds the reference model chose on its validation window; its feature
    pipeline, calibration and revenue model are kept. Compare the two with
    `clearlane evaluate --model`.
    """
    ws = Workspace.open(workspace_path(workspace))
    if cluster is None:
        if model is not None:
            raise ValidationError("--model names the reference of a cluster refit; "
                                  "give --cluster, or leave --model out")
        with progress_bar("Training from the dataset (two passes over the months)") as advance:
            result = train_out_of_core(
                ws, parquet, date_from=date_from.date() if date_from else None,
                date_to=date_to.date() if date_to else None, seed=seed_value(seed),
                search=search, promote=promote,
                progress=lambda done, total: advance(done, total))
        report_trained(result)
        return
    ignored = [name for name, given in (("--from", date_from), ("--to", date_to),
                                        ("--seed", seed), ("--no-search", not search)) if given]
    if ignored:
        raise ValidationError(f"{', '.join(ignored)} apply to training here; on a cluster the "
                              "reference model's window, seed and parameters are used")
    with progress_bar("Training on the cluster") as advance:
        record = train_on_cluster(ws, parquet, cluster=cluster, version=model, promote=promote,
                                  timeout=timeout)
        advance(1, 1)
    console.print(f"Fraud model [bold]{record.version}[/] ({record.status}) trained on "
                  f"{cluster} with the parameters and {record.params.get('n_rounds')} rounds "
                  f"of {record.params.get('reference_model')}")
