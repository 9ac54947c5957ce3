"""`clearlane audit verify | log | checkpoint`: the workspace's tamper-evident audit chain."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.services import audit
from clearlane.store.workspace import Workspace

app = typer.Typer(
    help="The audit chain: verify it, list its entries, sign a checkpoint of its head.",
    no_args_is_help=True,
)


@app.command("verify")
def audit_verify(workspace: WorkspaceOption = None) -> None:
    """Recompute the hash chain and check it against the signed checkpoint; on success, sign a
    new checkpoint of the head. A broken chain exits with code 8 naming the first broken entry
    (edited, deleted, reordered, truncated, rewritten, or a checkpoint signature that fails)."""
    ws = Workspace.open(workspace_path(workspace))
    result = audit.verify_workspace(ws)
    audit.raise_if_broken(result)
    signed = audit.checkpoint(ws)
    checked = (f"; it holds the checkpoint of entry {result.checkpoint.sequence}"
               if result.checkpoint is not None else "; no earlier checkpoint")
    console.print(f"Audit chain intact: {result.entries:,} entries{checked}.")
    if signed is not None:
        console.print(f"Checkpoint signed at entry {signed.sequence}: "
                      f"{escape(str(result.checkpoint_file))}")


@app.command("checkpoint")
def audit_checkpoint(workspace: WorkspaceOption = None) -> None:
    """Verify the chain, then sign its head (sequence, hash) with the audit key (setting
    CLEARLANE_AUDIT_KEY) into the checkpoint file outside the database."""
    ws = Workspace.open(workspace_path(workspace))
    signed = audit.checkpoint(ws)
    if signed is None:
        console.print("The audit log is empty: nothing to checkpoint.")
        return
    console.print(f"Checkpoint signed at entry {signed.sequence}: "
                  f"{escape(str(audit.checkpoint_path(ws)))}")


@app.command("log")
def audit_log(
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1,
                                       help="Show the last N entries.")] = 50,
) -> None:
    """List the last entries of the audit log, oldest first."""
    ws = Workspace.open(workspace_path(workspace))
    entries = audit.log(ws, limit)
    if not entries:
        console.print("The audit log is empty.")
        return
    table = Table(title="Audit log")
    for column in ("seq", "recorded_at", "actor", "action", "object", "hash"):
        table.add_column(column)
    for e in entries:
        table.add_row(str(e.sequence), e.recorded_at, escape(e.actor), e.action,
                      escape(f"{e.object_type} {e.object_id}"), e.hash[:16])
    console.print(table)
