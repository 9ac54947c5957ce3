"""`clearlane keys create | list | revoke`: API keys for systems (the secret is shown once)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from clearlane.accounts.roles import ROLES
from clearlane.cli.common import WorkspaceOption, console, err_console, workspace_path
from clearlane.services.accounts import create_key, list_keys, revoke_key, utcnow
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

app = typer.Typer(help="API keys for systems: create (the secret is shown once), list, revoke.",
                  no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for (a system's name).",
                                      show_default=False)],
    role: Annotated[str, typer.Option(help=f"Role: {', '.join(ROLES)}.", show_default=False)],
    office: Annotated[list[str] | None, typer.Option(
        help="Office the key is scoped to (repeat for several).")] = None,
    expires_days: Annotated[int | None, typer.Option(
        help="Days until it expires (env CLEARLANE_API_KEY_EXPIRY_DAYS; default 365).",
        show_default=False)] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a key; its token is printed once on standard output: store it now."""
    ws = Workspace.open(workspace_path(workspace))
    days = expires_days if expires_days is not None else Settings().api_key_expiry_days
    created = create_key(ws, name, role, office or (), days)
    expires = created.key.expires_at
    err_console.print(
        f"Created API key {created.key.prefix} ({created.key.name!r}, role "
        f"{created.key.role!r}, expires {expires:%Y-%m-%d %H:%M} UTC). Its token is shown "
        "once, below; only its SHA-256 is stored.", highlight=False)
    typer.echo(created.token)


@app.command("list")
def list_command(workspace: WorkspaceOption = None) -> None:
    """Every key: prefix, name, role, offices, status and dates (never a secret)."""
    keys = list_keys(Workspace.open(workspace_path(workspace)))
    now = utcnow()
    table = Table(title=f"{len(keys)} API key(s)")
    table.add_column("prefix", no_wrap=True)
    for column in ("name", "role", "offices", "status", "created (UTC)", "expires (UTC)"):
        table.add_column(column)
    for key in keys:
        table.add_row(key.prefix, key.name, key.role, ", ".join(sorted(key.offices)),
                      key.status(now), f"{key.created_at:%Y-%m-%d %H:%M}",
                      f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "never")
    console.print(table)


@app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (clk_ and 8 hex digits).",
                                          show_default=False)],
    workspace: WorkspaceOption = None,
) -> None:
    """Revoke a key: from now on it authenticates nothing."""
    key = revoke_key(Workspace.open(workspace_path(workspace)), prefix)
    console.print(f"Revoked API key {key.prefix} ({key.name!r}).")
