"""Data commands: init, info, fields, ingest, quarantine, and the `profile` group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from clearlane.cli.app import app
from clearlane.cli.common import WorkspaceOption, console, progress_bar, workspace_path
from clearlane.errors import NothingStoredError
from clearlane.ingest.profile import load_profile, shipped_profiles
from clearlane.ingest.readers import ROW_COLUMN, open_source
from clearlane.ingest.suggest import suggest_profile
from clearlane.quality.compute import resolve_batch
from clearlane.schema.fields import DECLARATION_FIELDS
from clearlane.services.ingest import IngestReport, ingest_file
from clearlane.services.workspace import (
    conflicting_rows,
    conflicts_for_review,
    describe_workspace,
    init_workspace,
    quarantine_problems,
    quarantined_rows,
)
from clearlane.settings import Settings
from clearlane.store.exports import write_table
from clearlane.store.workspace import Workspace, without_password

profile_app = typer.Typer(
    help="Column-mapping profiles: list, show and suggest.", no_args_is_help=True
)
app.add_typer(profile_app, name="profile")


@app.command("init")
def init(
    workspace: WorkspaceOption = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="Keep the tables in this PostgreSQL database "
        "(postgresql://USER@HOST:PORT/DBNAME, created empty beforehand; the password goes in "
        "~/.pgpass or PGPASSWORD). Default: CLEARLANE_DATABASE_URL, else an embedded DuckDB "
        "file in the folder.")] = None,
) -> None:
    """Create a workspace folder with its database (safe to run again)."""
    path = workspace_path(workspace)
    ws, created = init_workspace(path, db if db is not None else Settings().database_url)
    verb = "Created" if created else "Workspace already exists, schema up to date:"
    where = "" if ws.database_url is None else f", tables in {without_password(ws.database_url)}"
    console.print(f"{verb} [bold]{ws.path}[/] (schema version {ws.schema_version()}{where})")


@app.command("info")
def info(workspace: WorkspaceOption = None) -> None:
    """Show what the workspace holds: declarations, labels, ingest batches."""
    ws = Workspace.open(workspace_path(workspace))
    summary, batches = describe_workspace(ws)
    console.print(f"[bold]Workspace[/] {summary.path}  (schema version {summary.schema_version})")
    console.print(
        f"Declaration items: [bold]{summary.declarations:,}[/]"
        + (f" from {summary.first_date} to {summary.last_date}" if summary.declarations else "")
    )
    console.print(
        f"Inspected: {summary.labelled:,}  frauds found: {summary.frauds:,}  "
        f"quarantined rows: {summary.quarantined:,}  conflicts: {summary.conflicts:,}"
    )
    if batches.height:
        columns = ("batch_id", "source_file", "profile_name", "rows_read", "rows_accepted",
                   "rows_rejected", "rows_duplicate", "rows_conflict", "rows_warned")
        table = Table(title="Ingest batches", show_lines=False)
        for column in columns:
            table.add_column(
                column.replace("rows_", ""), justify="right" if column.startswith("rows") else "left"
            )
        for row in batches.iter_rows(named=True):
            table.add_row(*[f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in columns])
        console.print(table)


@app.command("fields")
def fields() -> None:
    """List the canonical declaration fields (WCO Data Model ids) that profiles map onto."""
    table = Table(title="Canonical declaration fields")
    for column in ("field", "kind", "required", "WCO id", "description"):
        table.add_column(column)
    for f in DECLARATION_FIELDS:
        table.add_row(
            f.name,
            f.kind,
            "yes" if f.required else ("outcome" if f.outcome else ""),
            f.wco_id or "",
            f.description,
        )
    console.print(table)


def print_ingest_report(report: IngestReport) -> None:
    """Terminal summary of one ingest."""
    if report.already_ingested:
        console.print(
            f"[yellow]{report.source_file}[/] was already ingested with profile "
            f"{report.profile!r} (batch {report.batch_id}); nothing added."
        )
        return
    c = report.counts
    console.print(
        f"[bold green]Ingested[/] {report.source_file} with profile {report.profile!r} "
        f"in {report.seconds:.1f} s (batch {report.batch_id})"
    )
    table = Table(show_header=False, box=None)
    table.add_column(justify="left")
    table.add_column(justify="right")
    for label, value in (
        ("rows read", c.rows_read),
        ("accepted (new)", c.rows_accepted),
        ("rejected → quarantine", c.rows_rejected),
        ("duplicates skipped", c.rows_duplicate),
        ("conflicts (kept existing)", c.rows_conflict),
        ("accepted with warnings", c.rows_warned),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    if c.rows_rejected or c.rows_conflict:
        console.print("See [bold]clearlane quarantine[/] for the rejected rows and their reasons.")


@app.command("ingest")
def ingest(
    files: Annotated[
        list[Path], typer.Argument(help="CSV, Parquet, Excel (.xlsx) or JSON Lines files.")
    ],
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="Shipped profile name or a YAML file path.")
    ] = "canonical",
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Exit 0 even when a file has no row that could be stored (every row rejected).",
        ),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Validate files and add their declarations to the workspace (all or nothing per file).

    Rejected rows go to the quarantine with their row, field and reason; the same file twice
    adds nothing; a declaration seen again with different content is a conflict, never
    overwritten. A file none of whose rows could be stored (every row rejected, or no row)
    ends with exit code 2 once every file is done, unless --allow-empty; undo an ingest with
    `clearlane batches drop`.
    """
    ws = Workspace.open(workspace_path(workspace))
    mapping = load_profile(profile)
    empty: list[IngestReport] = []
    for path in files:
        with progress_bar(f"Ingesting {path.name}") as advance:
            report = ingest_file(ws, path, mapping, progress=lambda d, t: advance(d, t))
        print_ingest_report(report)
        if stored_nothing(report):
            empty.append(report)
    if empty and not allow_empty:
        raise NothingStoredError(
            "no row could be stored from "
            + "; ".join(
                f"{Path(r.source_file).name} ("
                + (
                    f"{r.counts.rows_rejected:,} of {r.counts.rows_read:,} rows rejected"
                    if r.counts.rows_read
                    else "no row in the file"
                )
                + f"; batch {r.batch_id})"
                for r in empty
            )
            + ". See the reasons with `clearlane quarantine --batch BATCH`, fix the file and "
            "ingest it again (drop the failed batch first with `clearlane batches drop BATCH` "
            "to keep the workspace clean), or pass --allow-empty to accept it."
        )


def stored_nothing(report: IngestReport) -> bool:
    """Whether an ingest found no valid row at all: none stored, duplicate or conflicting.

    A file ingested before (``already_ingested``) is not such a failure: it adds nothing by
    design.
    """
    c = report.counts
    return not report.already_ingested and c.rows_accepted + c.rows_duplicate + c.rows_conflict == 0


def _shown(value: object, width: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command("quarantine")
def quarantine(
    batch: Annotated[
        str | None, typer.Option(help="Only this ingest batch (an id, a unique prefix or 'latest').")
    ] = None,
    limit: Annotated[int, typer.Option(help="Problems (or conflicts) to show.")] = 30,
    export: Annotated[
        Path | None,
        typer.Option(help="Write all quarantined rows (or, with --conflicts, all conflicts) to "
                     "this CSV/Parquet file."),
    ] = None,
    conflicts: Annotated[
        bool,
        typer.Option("--conflicts", help="Show or export the conflicts instead: rows whose key "
                     "was stored with different content, with the incoming row for review."),
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Show rejected rows with the file, row, field, offending value and reason; optionally
    export them (or the conflicts, with their incoming content) for correction."""
    ws = Workspace.open(workspace_path(workspace))
    if batch is not None:
        with ws.connect() as con:
            batch = resolve_batch(con, batch)
    if conflicts:
        _show_conflicts(ws, batch, limit, export)
        return
    if export is not None:
        rows = quarantined_rows(ws, batch, limit=None)
        write_table(rows, export, "parquet" if export.suffix.lower() == ".parquet" else "csv")
        console.print(f"Wrote {rows.height:,} quarantined rows to {export}")
        return
    problems = quarantine_problems(ws, batch, limit)
    total = ws.query(
        "SELECT count(*) FROM quarantine" + (" WHERE batch_id = ?" if batch else ""),
        [batch] if batch else None,
    ).item()
    table = Table(title=f"Quarantined rows: {total:,} (first {limit} problems)")
    for column in ("file", "row", "field", "value", "reason"):
        table.add_column(column, justify="right" if column == "row" else "left")
    for row in problems.iter_rows(named=True):
        table.add_row(
            row["source_file"], _shown(row["source_row"]), _shown(row["field"]),
            _shown(row["value"]), row["reason"],
        )
    console.print(table)
    found = ws.query(
        "SELECT count(*) FROM conflicts" + (" WHERE batch_id = ?" if batch else ""),
        [batch] if batch else None,
    ).item()
    if found:
        console.print(
            f"[yellow]{found:,} conflicting rows[/] (same key, different content; the stored "
            "row was kept): see them with `clearlane quarantine --conflicts`"
        )


def _show_conflicts(ws: Workspace, batch: str | None, limit: int, export: Path | None) -> None:
    if export is not None:
        rows = conflicts_for_review(conflicting_rows(ws, batch, limit=None))
        write_table(rows, export, "parquet" if export.suffix.lower() == ".parquet" else "csv")
        console.print(f"Wrote {rows.height:,} conflicting rows (with their incoming content) to {export}")
        return
    rows = conflicting_rows(ws, batch, limit)
    table = Table(title=f"Conflicts (first {limit}): same key, different content; stored row kept")
    for column in ("file", "row", "declaration", "differing fields", "stored in batch"):
        table.add_column(column)
    for row in rows.iter_rows(named=True):
        table.add_row(
            row["source_file"], _shown(row["source_row"]),
            f"{row['declaration_id']}/{row['item_no']}", row["differing_fields"] or "",
            f"{row['existing_batch_id']} row {row['existing_source_row']}",
        )
    console.print(table)


@profile_app.command("list")
def profile_list() -> None:
    """List the profiles shipped with Clearlane."""
    for name in shipped_profiles():
        console.print(f"{name}: {load_profile(name).description}")


@profile_app.command("show")
def profile_show(
    name: Annotated[str, typer.Argument(help="Shipped profile name or YAML path.")],
) -> None:
    """Print a profile as YAML (after validation)."""
    console.print(load_profile(name).to_yaml(), highlight=False, markup=False)


@profile_app.command("suggest")
def profile_suggest(
    file: Annotated[Path, typer.Argument(help="A sample of the unknown layout.")],
    out: Annotated[Path | None, typer.Option(help="Write the proposed YAML here.")] = None,
    rows: Annotated[int, typer.Option(help="Rows sampled to look at contents.")] = 5000,
) -> None:
    """Propose a profile for an unknown layout from column names and contents, to edit.

    Each column gets a confidence (0-1) and a reason; what the data cannot settle is listed
    as a decision naming the field. The YAML carries the same as comments.
    """
    scan = open_source(file, batch_rows=rows, max_records=rows)
    sample = next(iter(scan.batches()), pl.DataFrame()).drop(ROW_COLUMN, strict=False)
    suggestion = suggest_profile(sample, file.stem)
    table = Table(title=f"Suggested mapping for {file.name} ({sample.height:,} rows sampled)")
    for column in ("source column", "canonical field", "confidence", "reason"):
        table.add_column(column, overflow="fold")
    for s in suggestion.columns:
        field = s.field or "[dim](extra)[/]"
        table.add_row(s.column, field, f"{s.score:.2f}" if s.field else "", escape(s.why))
    console.print(table)
    for d in suggestion.decisions:
        tag = "[yellow]Needs a decision[/]" if d.blocking else "[dim]Note[/]"
        console.print(f"{tag} {d.field}: {escape(d.message)}")
    text = suggestion.yaml_text
    if out:
        out.write_text(text, encoding="utf-8")
        verdict = (
            "it should ingest as is" if suggestion.ingests_as_is else "settle the decisions above"
        )
        console.print(f"Wrote {out}; {verdict}, then: clearlane ingest {file} --profile {out}")
    else:
        console.print(text, highlight=False, markup=False)
