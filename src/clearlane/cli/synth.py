"""`clearlane synth`: generate a synthetic declaration set with planted fraud."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
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
from clearlane.errors import ValidationError
from clearlane.services.synth import (
    ingest_synthetic,
    summarise,
    summarise_files,
    write_synthetic,
    write_synthetic_parts,
)
from clearlane.synth import SynthConfig


class OutputFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


class Layout(StrEnum):
    canonical = "canonical"
    asycuda = "asycuda"


def _parse_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise ValidationError(f"--start {value!r} is not a date; use YYYY-MM-DD") from exc


def synth(
    items: Annotated[
        int, typer.Option("--items", "-n", help="Number of declaration items.")
    ] = 200_000,
    seed: Annotated[int | None, typer.Option(
        help="Random seed; the same seed gives the same data (env CLEARLANE_SEED; default 42).",
        show_default=False)] = None,
    start: Annotated[str, typer.Option(help="First declaration date (YYYY-MM-DD).")] = "2024-01-01",
    days: Annotated[int, typer.Option(help="Number of days covered.")] = 730,
    importers: Annotated[
        int | None, typer.Option(help="Number of importers (default: items / 40).")
    ] = None,
    offices: Annotated[int, typer.Option(help="Number of customs offices.")] = 12,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for declarations.* and truth.*.")
    ] = Path("synthetic-data"),
    format: Annotated[
        OutputFormat, typer.Option("--format", help="File format of the output.")
    ] = OutputFormat.parquet,
    ingest: Annotated[
        bool, typer.Option("--ingest", help="Also ingest the declarations into the workspace.")
    ] = False,
    workspace: WorkspaceOption = None,
    layout: Annotated[
        Layout,
        typer.Option(help="asycuda: also write asycuda_export.csv, an ASYCUDA World-style item "
                     "export (profile `asycuda`; docs/ingest.md)."),
    ] = Layout.canonical,
) -> None:
    """Generate synthetic declarations with planted, documented fraud mechanisms.

    Writes declarations.* (canonical columns, for the `canonical` profile) and truth.*.

    truth.* is the answer key: planted mechanism, true values, evaded revenue per item.

    Mechanisms, rates and labels: docs/synthetic-data.md.
    """
    config = SynthConfig(
        n_items=items, seed=seed_value(seed), start=_parse_date(start), days=days, n_importers=importers,
        n_offices=offices,
    ).validate()
    if format is OutputFormat.parquet and layout is Layout.canonical:
        # part by part: the data sets a large administration needs do not fit in memory whole
        with progress_bar(f"Generating {items:,} items", total=None) as advance:
            files = write_synthetic_parts(
                config, out, progress=lambda done, total: advance(done, total))
        summary = summarise_files(files)
    else:
        with progress_bar(f"Generating {items:,} items", total=None) as advance:
            run = write_synthetic(
                config, out, format=format.value,
                progress=lambda done, total: advance(done, total))
        files, summary = run.files, summarise(run.result)
        if layout is Layout.asycuda:
            from clearlane.synth.asycuda_export import AsycudaExportOptions, write_asycuda_export

            export = write_asycuda_export(
                run.result, out / "asycuda_export.csv", AsycudaExportOptions(seed=config.seed)
            )
            console.print(f"Wrote the ASYCUDA-style export {export} (profile: asycuda)")
    console.print(
        f"[bold green]Wrote[/] {summary.items:,} items in {summary.declarations:,} "
        f"declarations to {files.declarations} (answer key: {files.truth})"
    )
    table = Table(title="Planted fraud")
    for column in ("mechanism", "items", "share", "found by inspection", "evaded revenue"):
        table.add_column(column, justify="left" if column == "mechanism" else "right")
    for row in summary.mechanisms.iter_rows(named=True):
        table.add_row(
            str(row["mechanism"]), f"{row['items']:,}", f"{row['share']:.2%}", f"{row['found']:,}",
            f"{row['evaded_revenue']:,.0f} {config.currency}",
        )
    console.print(table)
    console.print(f"Inspected share of items: {summary.inspected_share:.1%}")
    if ingest:
        from clearlane.cli.commands_data import print_ingest_report
        from clearlane.store.workspace import Workspace

        ws = Workspace.create(workspace_path(workspace))
        with progress_bar("Ingesting", total=None) as advance:
            report = ingest_synthetic(ws, files, progress=lambda d, t: advance(d, t))
        print_ingest_report(report)
