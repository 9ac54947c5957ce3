"""`clearlane batches list | show | drop`: the ingest batches of a workspace."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.services.batches import (
    BATCH_COLUMNS,
    batch_details,
    drop_batch,
    dropped_batches,
    list_batches,
)
from clearlane.store.workspace import Workspace

app = typer.Typer(
    help="Ingest batches: list them, show one, drop one (undo an ingest).", no_args_is_help=True
)

BatchArgument = Annotated[
    str, typer.Argument(help="Batch id, a unique prefix of it, or 'latest'.", show_default=False)
]


def _cell(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if hasattr(value, "strftime"):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return "" if value is None else str(value)


@app.command("list")
def batches_list(
    workspace: WorkspaceOption = None,
    dropped: Annotated[
        bool, typer.Option("--dropped", help="List the dropped batches (the drop log) instead.")
    ] = False,
) -> None:
    """List the ingest batches, oldest first: file, profile, when, and row counts."""
    ws = Workspace.open(workspace_path(workspace))
    if dropped:
        log = dropped_batches(ws)
        if not log.height:
            console.print("No batch has been dropped.")
            return
        table = Table(title="Dropped batches")
        columns = ("batch_id", "source_file", "rows_accepted", "dropped_at", "dropped_by", "reason")
        for column in columns:
            table.add_column(column)
        for row in log.iter_rows(named=True):
            table.add_row(*[_cell(row[c]) for c in columns])
        console.print(table)
        return
    batches = list_batches(ws)
    if not batches.height:
        console.print("No ingest batch yet: run `clearlane ingest FILE`.")
        return
    table = Table(title="Ingest batches")
    headings = {"finished_at": "ingested", "profile_name": "profile", "source_file": "file"}
    for column in BATCH_COLUMNS:
        name = headings.get(column, column.removeprefix("rows_"))
        table.add_column(
            name,
            justify="right" if column.startswith("rows_") else "left",
            no_wrap=column == "batch_id",
        )
    for row in batches.iter_rows(named=True):
        table.add_row(*[_cell(row[c]) for c in BATCH_COLUMNS])
    console.print(table)


@app.command("show")
def batches_show(batch: BatchArgument, workspace: WorkspaceOption = None) -> None:
    """Show one batch: its record, what it stores now, its quarantine reasons, what relies on it."""
    ws = Workspace.open(workspace_path(workspace))
    details = batch_details(ws, batch)
    record = details.record
    console.print(f"[bold]Batch {details.batch_id}[/]")
    for key in (
        "source_file", "file_sha256", "file_bytes", "profile_name", "started_at", "finished_at",
        "rows_read", "rows_accepted", "rows_rejected", "rows_duplicate", "rows_conflict",
        "rows_warned",
    ):
        if key in record:
            console.print(f"  {key}: {_cell(record[key])}", highlight=False)
    console.print(
        f"Now stored: {details.stored_rows:,} rows · quarantined {details.quarantined_rows:,} · "
        f"conflicts {details.conflicts:,}",
        highlight=False,
    )
    if details.reasons:
        table = Table(title="Quarantine reasons", title_justify="left")
        for column in ("field", "reason", "rows"):
            table.add_column(column, justify="right" if column == "rows" else "left")
        for name, reason, rows in details.reasons:
            table.add_row(name, reason, f"{rows:,}")
        console.print(table)
    relying = {table: n for table, n in details.dependents.items() if n}
    if relying:
        console.print(
            "Relies on its rows: " + ", ".join(f"{n:,} {t}" for t, n in relying.items())
            + " (dropping it needs --cascade)",
            highlight=False,
        )
    for later in details.reliant:
        console.print(
            f"Later batch {later.batch_id} ({later.source_file}) met its rows: "
            f"{later.duplicates:,} duplicates, {later.conflicts:,} conflicts "
            "(drop that batch first to drop this one)",
            highlight=False,
        )


@app.command("drop")
def batches_drop(
    batch: BatchArgument,
    cascade: Annotated[
        bool,
        typer.Option(
            "--cascade",
            help="Also remove the risk assessments, lane decisions (rule hits, overrides) and "
            "outcomes of its declarations.",
        ),
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why, kept in the drop log.")] = None,
    by: Annotated[
        str | None, typer.Option(help="Who drops it, kept in the drop log (default: OS user).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Undo one ingest: remove the batch's rows, quarantine, issues and conflicts.

    One transaction: the workspace is as it was before that ingest. Refused when risk
    assessments, lane decisions or outcomes concern its declarations (unless --cascade), or
    when a later batch met its rows (drop that one first). Every drop is logged: see
    `clearlane batches list --dropped`.
    """
    ws = Workspace.open(workspace_path(workspace))
    report = drop_batch(ws, batch, cascade=cascade, by=by, reason=reason)
    console.print(
        f"[bold]Dropped[/] batch {report.batch_id} ({report.source_file or 'no file recorded'}): "
        + ", ".join(f"{n:,} {t}" for t, n in report.removed.items() if n),
        highlight=False,
    )
    cascaded = {t: n for t, n in report.cascaded.items() if n}
    if cascaded:
        console.print(
            "Also removed (--cascade): " + ", ".join(f"{n:,} {t}" for t, n in cascaded.items()),
            highlight=False,
        )
