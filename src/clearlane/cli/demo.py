"""`clearlane demo`: the whole flow on synthetic data, from an empty folder, with no questions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from clearlane.cli.commands_data import print_ingest_report
from clearlane.cli.common import WorkspaceOption, console, progress_bar, workspace_path
from clearlane.cli.quality import print_quality_summary
from clearlane.services.quality import quality_report, write_quality_html
from clearlane.services.synth import ingest_synthetic, write_synthetic
from clearlane.services.workspace import init_workspace
from clearlane.synth import SynthConfig

TOUR = """[bold]What to run next[/] (add [bold]-w {ws}[/] to each, or set CLEARLANE_WORKSPACE):

  clearlane info               what the workspace holds
  clearlane quality            the data-quality report (terminal + HTML)
  clearlane quarantine         rejected rows with row, field and reason
  clearlane profile suggest F  propose a column mapping for your own export F
  clearlane ingest F -p P      ingest your own declarations with profile P
  clearlane --help             every command

Quality report: {html}
Synthetic answer key (planted fraud per item): {truth}"""


def demo(
    workspace: WorkspaceOption = None,
    items: Annotated[int, typer.Option(help="Synthetic declaration items to generate.")] = 200_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
) -> None:
    """Run the main flow on synthetic data: workspace, data, ingest, quality, next steps."""
    path = workspace_path(workspace)
    ws, created = init_workspace(path)
    console.rule("[bold]Clearlane demo")
    console.print(f"1. Workspace {'created' if created else 'reused'}: [bold]{ws.path}[/]")

    console.print(
        f"2. Generating {items:,} synthetic declaration items over two years (seed {seed})"
    )
    with progress_bar("Generating synthetic data") as advance:
        run = write_synthetic(
            SynthConfig(n_items=items, seed=seed), Path(ws.path) / "synthetic", progress=advance
        )
    console.print(f"   wrote {run.files.declarations} and {run.files.truth}")

    console.print("3. Ingesting the declarations (validation, quarantine, duplicates, conflicts)")
    with progress_bar("Ingesting") as advance:
        report = ingest_synthetic(ws, run.files, progress=lambda d, t: advance(d, t))
    print_ingest_report(report)

    console.print("4. Data-quality report")
    with progress_bar("Checking data quality") as advance:
        quality = quality_report(ws, progress=advance)
    html = write_quality_html(ws, quality)
    print_quality_summary(quality, console)

    console.print(Panel(TOUR.format(ws=ws.path, html=html, truth=run.files.truth), title="Tour"))
