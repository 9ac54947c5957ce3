"""`clearlane demo`: the whole flow on synthetic data, from an empty folder, with no questions.

Run again on the same workspace it reuses what the first run made: the same synthetic file is
already ingested, the promoted models trained on the same window are reused (not retrained),
the held-out days are assessed again with the same model (replacing, never adding, their
assessments) and the week already selected is not selected twice.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
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
from clearlane.models.registry import ModelRecord, list_models
from clearlane.services.ingest import IngestReport
from clearlane.services.quality import quality_report, write_quality_html
from clearlane.services.synth import ingest_synthetic, write_synthetic
from clearlane.services.workspace import init_workspace
from clearlane.store.workspace import Workspace
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
  clearlane serve --dev        the REST API on http://127.0.0.1:8000 (docs at /api/v1/docs)
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
    reused = reusable_models(ws, report, train_to.date())
    if reused:
        console.print(
            f"5. Reusing the trained models {', '.join(m.version for m in reused)} (trained on "
            f"declarations up to {train_to:%Y-%m-%d}; no new declaration since): not retrained"
        )
    else:
        console.print(
            "5. Training the fraud model and the anomaly detector on declarations up to "
            f"{train_to:%Y-%m-%d}"
        )
        risk_cli.train(
            workspace=ws.path, date_from=None, date_to=train_to, seed=seed, promote=True,
            search=True,
        )
    console.print(
        f"6. Measuring it on the held-out last {HOLDOUT_DAYS} days (time-ordered split, inspected items only)"
    )
    risk_cli.evaluate(workspace=ws.path, model=None, date_from=None, date_to=None, by="probability")
    console.print(
        f"7. Assessing the {HOLDOUT_DAYS} held-out days: the riskiest declarations and why"
        + (" (again with the same model: its earlier assessments are replaced)" if reused else "")
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
    earlier = selected_before(ws, first_day.date(), last_day.date(), seed)
    if earlier is not None:
        console.print(
            f"8. The last week, {first_day:%Y-%m-%d} to {last_day:%Y-%m-%d}, was already "
            f"selected with this model (selection {earlier}): not selected twice; see "
            f"`clearlane report performance` or the lane_decisions of {earlier}"
        )
    else:
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


def reusable_models(
    workspace: Workspace, report: IngestReport, train_to: date
) -> list[ModelRecord]:
    """The promoted models a demo run can reuse, or [] to train anew.

    Reused when this run stored no new declaration and the promoted anomaly detector (and the
    promoted fraud model, when one exists) were trained on data ending in the week before
    ``train_to`` (the demo's training window).
    """
    if report.counts.rows_accepted and not report.already_ingested:
        return []
    promoted = {m.kind: m for m in list_models(workspace) if m.status == "promoted"}
    if "anomaly" not in promoted:
        return []
    chosen = [promoted[kind] for kind in ("fraud", "anomaly") if kind in promoted]
    for model in chosen:
        end = model.train_to.date() if isinstance(model.train_to, datetime) else model.train_to
        if not isinstance(end, date) or not train_to - timedelta(days=7) <= end <= train_to:
            return []
    return chosen


def selected_before(workspace: Workspace, first: date, last: date, seed: int) -> str | None:
    """The id of a stored selection of this window, seed and promoted model, if any."""
    promoted = [m.version for m in list_models(workspace, "fraud") if m.status == "promoted"]
    found = workspace.query(
        """SELECT selection_id FROM selections
           WHERE seed = ? AND date_from >= ? AND date_to <= ?
                 AND model_version IS NOT DISTINCT FROM ?
           ORDER BY created_at DESC LIMIT 1""",
        [seed, first, last, promoted[0] if promoted else None],
    )
    return str(found.item()) if found.height else None
