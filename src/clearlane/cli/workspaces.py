"""`clearlane workspace copy`: move a workspace between the embedded store and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import console, progress_bar
from clearlane.services.workspace_copy import copy_workspace
from clearlane.store.workspace import Workspace, without_password

app = typer.Typer(help="Whole workspaces: copy one to another store.", no_args_is_help=True)


@app.command("copy")
def copy(
    source: Annotated[Path, typer.Argument(help="The workspace folder to copy.",
                                           show_default=False)],
    destination: Annotated[Path, typer.Argument(
        help="A new folder for the copy (its artifacts and reports; and its database file "
        "unless --db is given).", show_default=False)],
    db: Annotated[str | None, typer.Option(
        "--db", help="Put the copy's tables in this empty PostgreSQL database "
        "(postgresql://USER@HOST:PORT/DBNAME). Without it: an embedded DuckDB file.")] = None,
) -> None:
    """Copy every table and file of a workspace to another store, checked row by row.

    Both directions work: embedded → PostgreSQL (give --db) and PostgreSQL → embedded (omit
    it). Each table's row count and content digest are compared after the copy; any
    difference keeps nothing. The source is only read.
    """
    ws = Workspace.open(source)
    copied: dict[str, int] = {}
    with progress_bar("Copying") as advance:
        def step(table: str, rows: int) -> None:
            copied[table] = copied.get(table, 0) + rows
            advance(sum(copied.values()), None, f"Copying {table}")

        report = copy_workspace(ws, destination, db, progress=step)
    table = Table(title=f"Copied {report.source} → {report.destination}")
    table.add_column("Table")
    table.add_column("Rows", justify="right")
    table.add_column("Digest (both sides)")
    for item in report.tables:
        if item.rows:
            table.add_row(item.table, f"{item.rows:,}", item.digest[:16])
    console.print(table)
    where = without_password(db) if db else "an embedded DuckDB file"
    console.print(
        f"{report.rows:,} rows in {len(report.tables)} tables (empty ones not shown) and "
        f"{report.files} files copied; tables in {where}. Row counts and digests match."
    )
