"""`clearlane cases …`: the officer's queue and case work, the same use cases as the API.

The CLI does not log in: whoever can open the workspace file holds its database. ``--officer
NAME`` names the user the command acts for (an active user of the workspace whose role may
work cases): their offices limit what is seen and changed, and locks and events carry their
name. Without it the command acts for the OS user, over every office.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.accounts.roles import Principal
from clearlane.audit.log import os_user
from clearlane.cases.alerts import DEFAULT_LOCK_MINUTES, SORTS, CloseForm
from clearlane.cli.common import WorkspaceOption, console, workspace_path, workspace_user
from clearlane.errors import NotFoundError
from clearlane.services import cases as service
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Alerts and cases: the queue of an officer's offices, next, comment, "
                       "attach, snooze, refer, release and close with the inspection outcome.",
                  no_args_is_help=True)

OfficerOption = Annotated[str | None, typer.Option(
    "--officer", help="Act for this user of the workspace (their offices apply; locks and "
                      "events carry their name). Default: the OS user, every office.")]
AlertArgument = Annotated[str, typer.Argument(help="The alert id (A and 12 hex digits).",
                                              show_default=False)]


def _acting(workspace: Workspace, officer: str | None) -> Principal:
    if officer is None:
        return Principal(name=os_user(), role="admin", kind="os user")
    return workspace_user(workspace, officer, "--officer", "cases:work")


def _show(alert: service.Alert) -> None:
    held = f", locked by {alert.locked_by} until {alert.locked_until:%Y-%m-%d %H:%M} UTC" \
        if alert.locked_by and alert.locked_until else ""
    console.print(f"[bold]{alert.alert_id}[/bold] {alert.declaration_id} item {alert.item_no} "
                  f"({alert.office_id}, {alert.lane}, {alert.source}): {alert.status}{held}")
    for reason in alert.reasons:
        console.print(f"  - {reason.get('text', reason)}", markup=False)


@app.command("list")
def list_command(
    lane: Annotated[str | None, typer.Option(help="Only this lane (red, yellow, …).")] = None,
    status: Annotated[str, typer.Option(
        help="active (open or locked), open, locked, snoozed, closed, withdrawn or all.")
    ] = "active",
    office: Annotated[str | None, typer.Option(help="Only this office.")] = None,
    sort: Annotated[str, typer.Option(help="Order: " + ", ".join(SORTS) + ".")] = "priority",
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    officer: OfficerOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """The queue: alerts of the officer's offices (new alerts are opened first)."""
    ws = Workspace.open(workspace_path(workspace))
    alerts = service.queue(ws, _acting(ws, officer), lane=lane, status=status, office=office,
                           sort=sort, limit=limit)
    table = Table(title=f"{len(alerts)} alert(s)")
    for column in ("alert", "declaration", "item", "office", "lane", "status", "waiting h",
                   "expected revenue", "locked by"):
        table.add_column(column)
    for a in alerts:
        table.add_row(a.alert_id, a.declaration_id, str(a.item_no), a.office_id or "",
                      a.lane or "", a.status, f"{a.waiting_hours:,.1f}",
                      "" if a.expected_revenue is None else f"{a.expected_revenue:,.0f}",
                      a.locked_by or "")
    console.print(table)


@app.command("next")
def next_command(
    officer: OfficerOption = None,
    lock_minutes: Annotated[int, typer.Option(help="How long the lock lasts.")] =
        DEFAULT_LOCK_MINUTES,
    lane: Annotated[str | None, typer.Option(help="Only alerts of this lane.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Lock the next alert (red first, then expected revenue, then waiting) and show it."""
    ws = Workspace.open(workspace_path(workspace))
    _show(service.next_alert(ws, _acting(ws, officer), lock_minutes=lock_minutes, lane=lane))


@app.command("show")
def show(alert_id: AlertArgument, officer: OfficerOption = None,
         workspace: WorkspaceOption = None) -> None:
    """One alert with its events and attachments."""
    ws = Workspace.open(workspace_path(workspace))
    case = service.get_case(ws, _acting(ws, officer), alert_id)
    _show(case.alert)
    for event in case.events:
        console.print(f"  {event.at:%Y-%m-%d %H:%M} {event.actor} {event.kind} "
                      f"{json.dumps(event.detail, default=str)}", markup=False)
    for a in case.attachments:
        console.print(f"  attachment {a.name} ({a.media_type}, {a.size:,} bytes) "
                      f"sha256 {a.sha256}", markup=False)


@app.command("comment")
def comment(alert_id: AlertArgument,
            text: Annotated[str, typer.Argument(help="The note.", show_default=False)],
            officer: OfficerOption = None, workspace: WorkspaceOption = None) -> None:
    """Add a note to a case."""
    ws = Workspace.open(workspace_path(workspace))
    service.comment(ws, _acting(ws, officer), alert_id, text)
    console.print(f"Comment added to {alert_id}.")


@app.command("attach")
def attach(alert_id: AlertArgument,
           path: Annotated[Path, typer.Argument(help="A PDF, PNG, JPEG or plain-text file.",
                                                show_default=False)],
           officer: OfficerOption = None, workspace: WorkspaceOption = None) -> None:
    """Attach a document to a case (stored in the workspace under its SHA-256)."""
    ws = Workspace.open(workspace_path(workspace))
    if not path.is_file():
        raise NotFoundError(f"no file {str(path)!r}")
    info = service.attach(ws, _acting(ws, officer), alert_id, path.read_bytes(), path.name)
    console.print(f"Attached {info.name} ({info.media_type}, {info.size:,} bytes), "
                  f"sha256 {info.sha256}.")


@app.command("snooze")
def snooze(alert_id: AlertArgument,
           until: Annotated[datetime, typer.Option(
               formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"], help="When it comes back (UTC).",
               show_default=False)],
           reason: Annotated[str, typer.Option(help="Why.", show_default=False)],
           officer: OfficerOption = None, workspace: WorkspaceOption = None) -> None:
    """Put a case aside until a date, with a reason."""
    ws = Workspace.open(workspace_path(workspace))
    alert = service.snooze(ws, _acting(ws, officer), alert_id, until, reason)
    console.print(f"{alert_id} snoozed until {alert.snoozed_until:%Y-%m-%d %H:%M} UTC.")


@app.command("refer")
def refer(alert_id: AlertArgument,
          office: Annotated[str, typer.Option(help="The office to refer to.",
                                              show_default=False)],
          reason: Annotated[str, typer.Option(help="Why.", show_default=False)],
          officer: OfficerOption = None, workspace: WorkspaceOption = None) -> None:
    """Hand a case to another office's queue, with a reason."""
    ws = Workspace.open(workspace_path(workspace))
    alert = service.refer(ws, _acting(ws, officer), alert_id, office, reason)
    console.print(f"{alert_id} referred from {alert.referred_from} to {alert.office_id}.")


@app.command("release")
def release(alert_id: AlertArgument, officer: OfficerOption = None,
            workspace: WorkspaceOption = None) -> None:
    """Give a lock back; the case returns to the queue."""
    ws = Workspace.open(workspace_path(workspace))
    service.release(ws, _acting(ws, officer), alert_id)
    console.print(f"{alert_id} released.")


@app.command("close")
def close(
    alert_id: AlertArgument,
    fraud: Annotated[bool, typer.Option("--fraud/--no-fraud",
                                        help="What the inspection found.",
                                        show_default=False)],
    critical: Annotated[bool, typer.Option(help="The finding was critical.")] = False,
    revenue: Annotated[float | None, typer.Option(
        help="Revenue recovered, national currency (only with --fraud).")] = None,
    finding: Annotated[str | None, typer.Option(help="Finding, free text.")] = None,
    inspected_at: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Inspection date (default: today).")] = None,
    officer: OfficerOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Close a case with the inspection outcome, recorded as `clearlane outcomes record`
    records it (the label of the next `clearlane train`, counted by `report performance`)."""
    ws = Workspace.open(workspace_path(workspace))
    form = CloseForm(fraud=fraud, critical=critical, revenue_recovered=revenue,
                     finding=finding, inspected_at=inspected_at.date() if inspected_at else None)
    alert = service.close(ws, _acting(ws, officer), alert_id, form)
    outcome = alert.outcome or {}
    console.print(f"{alert_id} closed: {outcome.get('outcome')}; the outcome is recorded "
                  "(a label for the next `clearlane train`).")
