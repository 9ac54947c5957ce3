"""`clearlane outcomes record | list`: inspection outcomes, the labels of the next retrain."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.errors import ValidationError
from clearlane.services.outcomes import list_outcomes, record_outcomes
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Inspection outcomes: record them (a file or one at a time), list them.",
                  no_args_is_help=True)


@app.command("record")
def record(
    path: Annotated[Path | None, typer.Argument(
        help="Outcomes file (.csv, .parquet, .jsonl) with declaration_id, item_no, fraud, "
             "revenue_recovered, critical, finding, inspected_at, officer_id.",
        show_default=False)] = None,
    declaration: Annotated[str | None, typer.Option(
        help="One declaration id (instead of a file).")] = None,
    item: Annotated[int, typer.Option(help="Item number (with --declaration).")] = 1,
    fraud: Annotated[bool | None, typer.Option(
        "--fraud/--no-fraud", help="What the inspection found (with --declaration).")] = None,
    revenue: Annotated[float | None, typer.Option(
        help="Revenue recovered, national currency.")] = None,
    critical: Annotated[bool, typer.Option(help="The finding was critical.")] = False,
    finding: Annotated[str | None, typer.Option(help="Finding, free text.")] = None,
    inspected_at: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Inspection date.")] = None,
    officer: Annotated[str | None, typer.Option(help="Officer id.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Record outcomes, linked to the selection that caused each inspection."""
    ws = Workspace.open(workspace_path(workspace))
    if path is not None and declaration is not None:
        raise ValidationError("give an outcomes file or --declaration, not both")
    if path is not None:
        result = record_outcomes(ws, path)
    elif declaration is not None:
        if fraud is None:
            raise ValidationError("--declaration needs --fraud or --no-fraud")
        result = record_outcomes(ws, [{
            "declaration_id": declaration, "item_no": item, "fraud": fraud,
            "revenue_recovered": revenue, "critical": critical, "finding": finding,
            "inspected_at": inspected_at.date() if inspected_at else None,
            "officer_id": officer}], source="--declaration")
    else:
        raise ValidationError("give an outcomes file or --declaration ID --fraud/--no-fraud")
    console.print(f"Recorded {result.recorded:,} outcome(s) ({result.frauds:,} fraud); "
                  f"{result.linked:,} linked to a selection, {result.replaced:,} replaced "
                  "earlier ones. They are labels for the next `clearlane train`.")


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    workspace: WorkspaceOption = None,
) -> None:
    """The most recently recorded outcomes."""
    ws = Workspace.open(workspace_path(workspace))
    frame = list_outcomes(ws, limit)
    table = Table(title=f"Latest {frame.height} outcome(s)")
    for column in frame.columns:
        table.add_column(column)
    for row in frame.iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)
