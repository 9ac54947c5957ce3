"""`clearlane users add | list | password | deactivate`: user accounts, without prompts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from clearlane.accounts.roles import ROLES
from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.errors import Problem, ValidationError
from clearlane.services.accounts import add_user, deactivate_user, list_users, set_password
from clearlane.store.workspace import Workspace

app = typer.Typer(help="User accounts: add, list, change a password, deactivate.",
                  no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin",
    help="Read the password from the first line of standard input (required: no prompts, "
         "and never on the command line, where other users could see it).")]


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        raise ValidationError("give the password on standard input with --password-stdin",
                              [Problem("password", None, "e.g. printf '%s\\n' \"$PW\" | "
                                       "clearlane users add NAME --role R --password-stdin")])
    return sys.stdin.readline().rstrip("\r\n")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name.", show_default=False)],
    role: Annotated[str, typer.Option(help=f"Role: {', '.join(ROLES)}.", show_default=False)],
    office: Annotated[list[str] | None, typer.Option(
        help="Office the user is scoped to (repeat for several; officers need one).")] = None,
    password_stdin: PasswordStdin = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Add a user with a role; the password is read from standard input."""
    password = _read_password(password_stdin)
    ws = Workspace.open(workspace_path(workspace))
    user = add_user(ws, name, role, password, office or ())
    offices = f", offices {', '.join(sorted(user.offices))}" if user.offices else ""
    console.print(f"Added user {user.name!r} with role {user.role!r}{offices}.")


@app.command("list")
def list_command(workspace: WorkspaceOption = None) -> None:
    """Every user: name, role, offices, whether active, when created (no password hashes)."""
    users = list_users(Workspace.open(workspace_path(workspace)))
    table = Table(title=f"{len(users)} user(s)")
    for column in ("name", "role", "offices", "active", "created (UTC)"):
        table.add_column(column)
    for user in users:
        table.add_row(user.name, user.role, ", ".join(sorted(user.offices)),
                      "yes" if user.active else "no", f"{user.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command("password")
def password(
    name: Annotated[str, typer.Argument(help="User name.", show_default=False)],
    password_stdin: PasswordStdin = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Set a user's password (read from standard input); their sessions end."""
    new_password = _read_password(password_stdin)
    set_password(Workspace.open(workspace_path(workspace)), name, new_password)
    console.print(f"Password of {name!r} changed; their sessions have ended.")


@app.command("deactivate")
def deactivate(
    name: Annotated[str, typer.Argument(help="User name.", show_default=False)],
    workspace: WorkspaceOption = None,
) -> None:
    """Deactivate a user: no more logins, and their sessions end."""
    deactivate_user(Workspace.open(workspace_path(workspace)), name)
    console.print(f"Deactivated user {name!r}.")
