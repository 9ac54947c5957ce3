"""Simulation use case: replay a workspace's labelled history with the online simulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from clearlane.errors import ValidationError
from clearlane.evaluate.simulate import SimulationConfig, SimulationResult, simulate
from clearlane.evaluate.simulate_chart import png_chart, simulation_html
from clearlane.models.simulation_scorers import FastScorer
from clearlane.rules import load_rules
from clearlane.store.exports import write_table
from clearlane.store.workspace import Workspace

Progress = Callable[[float, float | None], None]


@dataclass(frozen=True)
class SimulationRun:
    result: SimulationResult
    files: tuple[Path, ...]
    dropped: int


def simulate_workspace(workspace: Workspace, config: SimulationConfig, *,
                       output_dir: Path | None = None, rules_path: Path | None = None,
                       progress: Progress | None = None) -> SimulationRun:
    """Simulate on the workspace's inspected declarations (their outcome is the hidden truth).

    Uninspected declarations have no known outcome and are left out (counted in ``dropped``).
    Writes ``weekly.csv``, ``summary.csv``, ``precision.png`` and ``simulation.html`` to
    ``output_dir`` (default: ``<workspace>/reports/simulation``).
    """
    data = workspace.declarations()
    known = data.filter(pl.col("inspected").fill_null(False) & pl.col("fraud").is_not_null())
    if known.height == 0:
        raise ValidationError("the simulator needs declarations with known outcomes "
                              "(inspected, fraud); none in this workspace")
    rules = load_rules(rules_path) if rules_path is not None else None
    truth_revenue = (known["revenue_recovered"].cast(pl.Float64).fill_null(0.0).to_numpy()
                     if known["revenue_recovered"].null_count() < known.height else None)
    result = simulate(known, known["fraud"].to_numpy(), truth_revenue, config=config,
                      scorer=FastScorer(random_state=config.seed), rules=rules,
                      progress=progress)
    folder = output_dir or workspace.reports_dir / "simulation"
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "weekly.csv", folder / "summary.csv", folder / "simulation.html"]
    write_table(result.weekly, files[0])
    write_table(result.summary, files[1])
    files[2].write_text(simulation_html(result.weekly, result.summary, result.notes,
                                        config.moving_average), encoding="utf-8")
    files.append(png_chart(result.weekly, f"precision_ma{config.moving_average}",
                           f"Precision, {config.moving_average}-week moving average",
                           folder / "precision.png"))
    return SimulationRun(result, tuple(files), data.height - known.height)
