"""`clearlane simulate`: replay history week by week and compare selection strategies."""

from __future__ import annotations

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
from clearlane.evaluate.simulate import STRATEGIES, SimulationConfig
from clearlane.services.simulate import simulate_workspace
from clearlane.store.workspace import Workspace


def simulate(
    workspace: WorkspaceOption = None,
    initial_weeks: Annotated[int, typer.Option(help="Fully labelled weeks at the start.")] = 4,
    weeks: Annotated[int | None, typer.Option(help="Simulated weeks (default: all).")] = None,
    start_rate: Annotated[float, typer.Option(help="Inspection rate of the first week.")] = 1.0,
    final_rate: Annotated[float, typer.Option(help="Inspection rate after the ramp.")] = 0.10,
    ramp_weeks: Annotated[int, typer.Option(help="Weeks to fall to the final rate.")] = 10,
    explore: Annotated[float, typer.Option(help="Exploration / random share.")] = 0.10,
    objective: Annotated[str, typer.Option(help="frauds or revenue.")] = "frauds",
    retrain_every: Annotated[int, typer.Option(help="Retrain every N weeks.")] = 1,
    strategy: Annotated[list[str] | None, typer.Option(
        help="Strategy to run (repeatable): " + ", ".join(STRATEGIES))] = None,
    rules: Annotated[Path | None, typer.Option(
        help="Risk profile for the rules strategy (default: learned from the initial "
             "weeks).")] = None,
    output: Annotated[Path | None, typer.Option(
        help="Folder for weekly.csv, summary.csv, precision.png, simulation.html.")] = None,
    segment_signal: Annotated[bool, typer.Option(
        help="Add the segment signal (recent excess of frauds over the model) to every model "
             "strategy.")] = True,
    seed: Annotated[int | None, typer.Option(
        help="Random seed (env CLEARLANE_SEED; default 42).", show_default=False)] = None,
) -> None:
    """Online simulation ("Take a Chance" protocol): only selected declarations reveal their
    outcome, models retrain on what was revealed, strategies compete at the same rate."""
    config = SimulationConfig(
        initial_weeks=initial_weeks, weeks=weeks, start_rate=start_rate, final_rate=final_rate,
        ramp_weeks=ramp_weeks, explore=explore, objective=objective,
        retrain_every=retrain_every, strategies=tuple(strategy or STRATEGIES),
        segment_signal=segment_signal, seed=seed_value(seed))
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Simulating") as advance:
        run = simulate_workspace(ws, config, output_dir=output, rules_path=rules,
                                 progress=lambda d, t: advance(d, t))
    summary = run.result.summary
    table = Table(title="Mean weekly metrics after the ramp")
    for column in summary.columns:
        table.add_column(column, justify="right")
    for row in summary.iter_rows():
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v))
                        for v in row])
    console.print(table)
    if run.dropped:
        console.print(f"[yellow]Note:[/] {run.dropped:,} declarations without an outcome were "
                      "left out (the simulator needs the outcome of every declaration).")
    for note in run.result.notes[:5]:
        console.print(f"[yellow]Note:[/] {note}")
    for path in run.files:
        console.print(f"Wrote {path}")
