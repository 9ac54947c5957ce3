"""`clearlane notify …`: webhook notifications of alerts (docs/notifications.md).

While `clearlane serve` runs with a webhook_url it delivers by itself; without a server,
`notify send` runs one delivery pass (e.g. every minute from cron).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.services import notifications
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Webhook notifications of alerts: deliver pending ones, list "
                       "deliveries, send a signed test payload.", no_args_is_help=True)


def _setup(workspace: WorkspaceOption) -> tuple[Workspace, Settings]:
    path = workspace_path(workspace)
    settings = Settings(workspace=path)
    return Workspace.open(path), settings


@app.command("send")
def send(workspace: WorkspaceOption = None) -> None:
    """Deliver once: open new alerts, queue those at or over CLEARLANE_WEBHOOK_MIN_SEVERITY,
    post those due (new ones and retries whose wait is over) and record each attempt."""
    ws, settings = _setup(workspace)
    done = notifications.deliver_pending(ws, settings)
    console.print(f"{done.delivered} delivered, {done.failed} failed (retried later), "
                  f"{done.gave_up} given up; {done.queued} newly queued, {done.skipped} "
                  f"below the minimum severity {settings.webhook_min_severity}.")
    counts = notifications.outbox_counts(ws)
    console.print("Outbox: " + ", ".join(f"{n} {state}" for state, n in counts.items()))


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option(help="Attempts to show, newest first.")] = 50,
    alert: Annotated[str | None, typer.Option(help="Only the attempts of this alert.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Recent delivery attempts (HTTP status, error, next attempt) and the outbox counts."""
    ws = Workspace.open(workspace_path(workspace))
    attempts = notifications.recent_deliveries(ws, limit=limit, alert_id=alert)
    table = Table(title=f"{len(attempts)} delivery attempt(s)")
    for column in ("alert", "attempt", "event", "sent (UTC)", "status", "HTTP", "error",
                   "next attempt"):
        table.add_column(column)
    for a in attempts:
        table.add_row(a.alert_id, str(a.attempt), a.event, f"{a.sent_at:%Y-%m-%d %H:%M:%S}",
                      a.status, "" if a.http_status is None else str(a.http_status),
                      (a.error or "")[:60],
                      "" if a.next_attempt_at is None else f"{a.next_attempt_at:%H:%M:%S}")
    console.print(table)
    counts = notifications.outbox_counts(ws)
    console.print("Outbox: " + ", ".join(f"{n} {state}" for state, n in counts.items()))


@app.command("test")
def test(workspace: WorkspaceOption = None) -> None:
    """Post a signed test payload (event webhook.test) to CLEARLANE_WEBHOOK_URL once; exit
    code 1 when the receiver does not answer 2xx."""
    ws, settings = _setup(workspace)
    attempt = notifications.send_test(ws, settings)
    if attempt.status == "delivered":
        console.print(f"Test payload delivered to {attempt.url}: HTTP {attempt.http_status} "
                      f"in {attempt.duration_ms:,.0f} ms.")
        return
    console.print(f"[red]Test payload not delivered[/] to {attempt.url}: {attempt.error}",
                  highlight=False)
    raise typer.Exit(1)
