"""`clearlane demo`: the whole flow on synthetic data, from an empty folder, with no questions."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from clearlane.cli import risk as risk_cli
from clearlane.cli import selection as selection_cli
from clearlane.cli.commands_data import print_ingest_report
from clearlane.cli.common import (
    WorkspaceOption,
    console,
    progress_bar,
    seed_value,
    workspace_path,
)
from clearlane.cli.quality import print_quality_summary
from clearlane.services.quality import quality_report, write_quality_html
from clearlane.services.synth import ingest_synthetic, write_synthetic
from clearlane.services.workspace import init_workspace
from clearlane.synth import SynthConfig

HOLDOUT_DAYS = 90
EXAMPLE_RULES = Path(__file__).resolve().parent.parent / "rules" / "examples" / "basic.yaml"
TOUR = """[bold]What to run next[/] (add [bold]-w {ws}[/] to each, or set CLEARLANE_WORKSPACE):

  clearlane info               what the workspace holds
  clearlane quality            the data-quality report (terminal + HTML)
  clearlane quarantine         rejected rows with row, field and reason
  clearlane models list        trained models, their windows and validation metrics
  clearlane evaluate --by revenue   precision, recall and revenue at 1-10 %
  clearlane valuation build    reference value bands; then `valuation check`
  clearlane outcomes record F  record inspection results for the selected declarations
  clearlane report performance hit rates by lane and reason against the random sample
  clearlane profile suggest F  propose a column mapping for your own export F
  clearlane ingest F -p P      ingest your own declarations with profile P
  clearlane --help             every command

Quality report: {html}
Synthetic answer key (planted fraud per item): {truth}"""


def demo(
    workspace: WorkspaceOption = None,
    items: Annotated[int, typer.Option(help="Synthetic declaration items to generate.")] = 200_000,
    seed: Annotated[int | None, typer.Option(
        help="Random seed (env CLEARLANE_SEED; default 42).", show_default=False)] = None,
) -> None:
    """Run the main flow on synthetic data: data, ingest, quality, train, measure, assess, select."""
    seed = seed_value(seed)
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

    # 5-7. The risk engine: train on all but the last quarter, measure on it, assess it.
    summary = ws.summary()
    holdout_start = summary.last_date - timedelta(days=HOLDOUT_DAYS - 1)
    train_to = datetime.combine(holdout_start - timedelta(days=1), time())
    console.print(
        f"5. Training the fraud model and the anomaly detector on declarations up to {train_to:%Y-%m-%d}"
    )
    risk_cli.train(
        workspace=ws.path, date_from=None, date_to=train_to, seed=seed, promote=True, search=True
    )
    console.print(
        f"6. Measuring it on the held-out last {HOLDOUT_DAYS} days (time-ordered split, inspected items only)"
    )
    risk_cli.evaluate(workspace=ws.path, model=None, date_from=None, date_to=None, by="probability")
    console.print(
        f"7. Assessing the {HOLDOUT_DAYS} held-out days: the riskiest declarations and why"
    )
    risk_cli.assess(
        workspace=ws.path,
        model=None,
        date_from=datetime.combine(holdout_start, time()),
        date_to=None,
        output=Path(ws.reports_dir) / "assessments.parquet",
        explain_top=10.0,
        show=5,
    )

    last_day = datetime.combine(summary.last_date, time())
    first_day = last_day - timedelta(days=6)
    console.print(
        f"8. Selecting lanes for the last week, {first_day:%Y-%m-%d} to {last_day:%Y-%m-%d} "
        "(the example risk rules, at most 25 red per office and day, 1 % random control, "
        "10 % exploration)"
    )
    selection_cli.select(
        workspace=ws.path,
        date_from=first_day,
        date_to=last_day,
        rules=EXAMPLE_RULES,
        capacity=25,
        seed=seed,
    )

    console.print(Panel(TOUR.format(ws=ws.path, html=html, truth=run.files.truth), title="Tour"))
