"""`clearlane select` (lanes for a day or window) and `clearlane override` (officer override)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import polars as pl
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
from clearlane.selection import SelectionPolicy
from clearlane.services.selection import override_lane, select_for_inspection, write_export
from clearlane.store.workspace import Workspace


def _capacity(default: int | None, offices: list[str]) -> dict[str, int] | None:
    capacity: dict[str, int] = {}
    if default is not None:
        capacity["*"] = default
    for item in offices:
        office, _, value = item.partition("=")
        if not value.strip().isdigit():
            raise ValidationError(f"--office-capacity {item!r}: write OFFICE=NUMBER, e.g. "
                                  "PORT01=40")
        capacity[office.strip()] = int(value)
    return capacity or None


def select(
    workspace: WorkspaceOption = None,
    day: Annotated[datetime | None, typer.Option(
        "--day", formats=["%Y-%m-%d"], help="Select the declarations of this day.")] = None,
    date_from: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"], help="First declaration date (inclusive).")] = None,
    date_to: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="Last declaration date (inclusive).")] = None,
    rules: Annotated[Path | None, typer.Option(
        help="Risk profile (YAML) to apply instead of the workspace's published rule set "
             "(`clearlane rules publish`).")] = None,
    red_rate: Annotated[float, typer.Option(help="Share of declarations sent red.")] = 0.05,
    yellow_rate: Annotated[float, typer.Option(help="Share sent yellow (documents).")] = 0.10,
    blue_rate: Annotated[float, typer.Option(help="Share sent blue (post-clearance).")] = 0.03,
    capacity: Annotated[int | None, typer.Option(
        help="Most red inspections per office per day (every office).")] = None,
    office_capacity: Annotated[list[str] | None, typer.Option(
        help="OFFICE=NUMBER red capacity of one office (repeatable).")] = None,
    random_share: Annotated[float, typer.Option(
        help="Share of all declarations drawn uniformly at random for red (control).")] = 0.01,
    exploration_share: Annotated[float, typer.Option(
        help="Share of discretionary red slots given to exploration.")] = 0.10,
    exploration: Annotated[str, typer.Option(
        help="segments (Thompson sampling over segments from recorded outcomes), uncertainty "
             "or anomaly.")] = "segments",
    checks: Annotated[bool, typer.Option(
        help="Use the HS and price checks as signals when the workspace has an HS classifier "
             "or value bands.")] = True,
    segment_signal: Annotated[bool, typer.Option(
        help="Raise the risk of segments where recent outcomes exceeded the model's "
             "expectation.")] = True,
    objective: Annotated[str, typer.Option(help="revenue or frauds.")] = "revenue",
    per_item: Annotated[bool, typer.Option(
        help="One lane per item instead of per declaration.")] = False,
    seed: Annotated[int | None, typer.Option(
        help="Random seed; same seed, same lanes (env CLEARLANE_SEED; default 42).",
        show_default=False)] = None,
    model: Annotated[str | None, typer.Option(help="Model version of the assessments.")] = None,
    output: Annotated[Path | None, typer.Option(
        help="Write the selected items (lane, basis, scores, reasons and every scorer's "
             "verdict) to a .csv file, or .parquet.")] = None,
) -> None:
    """Assign red/yellow/blue/green lanes under capacity, with reasons, and store them."""
    seed = seed_value(seed)
    if day is not None:
        date_from = date_to = day
    policy = SelectionPolicy(
        red_rate=red_rate, yellow_rate=yellow_rate, blue_rate=blue_rate,
        capacity=_capacity(capacity, office_capacity or []), random_share=random_share,
        exploration_share=exploration_share, exploration=exploration, objective=objective,
        per_declaration=not per_item)
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Selecting") as advance:
        run = select_for_inspection(
            ws, date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None, rules_path=rules, policy=policy,
            seed=seed, model_version=model, checks=checks, segment_signal=segment_signal,
            progress=lambda d, t: advance(d, t))
    counts = run.result.counts()
    table = Table(title=f"Selection {run.selection_id}")
    for column in ("lane", "basis", "declarations" if not per_item else "items"):
        table.add_column(column)
    for row in counts.iter_rows():
        table.add_row(row[0], row[1], f"{row[2]:,}")
    console.print(table)
    console.print(f"Model: {run.model_version or 'none'}; rules: "
                  f"{run.rules.name if run.rules else 'none'}; seed {seed}")
    for note in run.notes:
        console.print(f"[yellow]Note:[/] {note}")
    for warning in run.warnings:
        console.print(f"[bold red]Warning:[/] {warning}", highlight=False)
    lanes = run.result.lanes
    top = lanes.filter(pl.col("lane") == "red").unique("declaration_id", keep="first",
                                                      maintain_order=True).head(5)
    for red_row in top.to_dicts():
        reasons = "; ".join(r["text"] for r in json.loads(red_row["reasons"] or "[]"))
        console.print(f"[red]red[/] {red_row['declaration_id']}: {reasons}", highlight=False)
    if output is not None:
        write_export(run, output)
        console.print(f"Lanes written to {output}")


def override(
    declaration_id: Annotated[str, typer.Argument(help="Declaration to move.")],
    lane: Annotated[str, typer.Option("--to", help="New lane: red, yellow, blue or green.")],
    justification: Annotated[str, typer.Option(help="Why (kept for audit; required).")],
    officer: Annotated[str, typer.Option(help="Officer id.")],
    selection: Annotated[str | None, typer.Option(help="Selection id (default: latest).")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Override a declaration's lane; refused without a justification; always recorded."""
    ws = Workspace.open(workspace_path(workspace))
    done = override_lane(ws, declaration_id=declaration_id, to_lane=lane,
                         justification=justification, officer_id=officer,
                         selection_id=selection)
    console.print(f"{done.declaration_id}: {done.from_lane} → {done.to_lane} by "
                  f"{done.officer_id} ({done.justification})")
