"""`clearlane rules …`: check, show and back-test risk profiles (files), and the lifecycle of
the workspace's rule set: draft, back-test, publish, retire, history.

The CLI does not log in: whoever can open the workspace file holds its database. ``--user
NAME`` names the user a lifecycle command acts for: an active user of the workspace whose
role grants ``rules:edit`` (draft, back-test) or ``rules:publish`` (publish, retire); the
audit log names ``user:NAME``. Without it the command acts for the OS user. The one who drafted
a version never publishes it (four-eyes rule): publish with another ``--user``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path, workspace_user
from clearlane.errors import NotFoundError
from clearlane.rules import load_rules
from clearlane.services import audit
from clearlane.services import rules_lifecycle as lifecycle
from clearlane.services.selection import backtest_rules
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Risk rules: validate a YAML risk profile, list its rules, back-test it; "
                       "draft, back-test, publish and retire the workspace's rule set.",
                  no_args_is_help=True)

RulesFile = Annotated[Path, typer.Argument(help="Risk profile (YAML).", show_default=False)]


@app.command("validate")
def validate(path: RulesFile) -> None:
    """Check a risk profile; errors name the line, the rule and the field."""
    rules = load_rules(path)
    console.print(f"[green]OK[/] {path}: profile [bold]{rules.name}[/], {len(rules)} rule(s), "
                  f"{len(rules.watchlists)} watchlist(s); fingerprint {rules.fingerprint()[:12]}")


@app.command("list")
def list_rules(path: RulesFile) -> None:
    """Show the rules of a profile: id, version, lane, severity, validity, owner, conditions."""
    rules = load_rules(path)
    table = Table(title=f"Profile {rules.name}")
    for column in ("rule", "lane", "mandatory", "severity", "valid", "owner", "when"):
        table.add_column(column)
    for rule in rules:
        valid = f"{rule.valid_from or '…'} – {rule.valid_to or '…'}"
        table.add_row(rule.label, rule.lane, "yes" if rule.mandatory else "", rule.severity,
                      valid, rule.owner, rule.describe())
    console.print(table)


@app.command("test")
def test(
    path: RulesFile,
    workspace: WorkspaceOption = None,
    date_from: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"], help="First declaration date (inclusive).")] = None,
    date_to: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="Last declaration date (inclusive).")] = None,
) -> None:
    """Run the rules over history: hits, past hit rate among inspected hits, revenue."""
    ws = Workspace.open(workspace_path(workspace))
    rules, summary, total = backtest_rules(
        ws, path, date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None)
    table = Table(title=f"Profile {rules.name} over {total:,} declarations")
    for column in ("rule", "lane", "hits", "share", "inspected", "frauds", "hit rate",
                   "revenue"):
        table.add_column(column, justify="right" if column not in ("rule", "lane") else "left")
    for row in summary.iter_rows(named=True):
        rate = "—" if row["hit_rate"] is None else f"{row['hit_rate']:.1%}"
        table.add_row(f"{row['rule_id']} v{row['version']}", row["lane"], f"{row['hits']:,}",
                      f"{row['hit_share']:.2%}", f"{row['inspected']:,}", f"{row['frauds']:,}",
                      rate, f"{row['revenue']:,.0f}")
    console.print(table)
    console.print("Hit rate = frauds / inspected hits: past inspections were themselves "
                  "selected, so it is not the rate among all hits.")


UserOption = Annotated[str | None, typer.Option(
    "--user", help="Act for this user of the workspace (their role must allow the action; "
                   "the audit log names them). Default: the OS user.")]
VersionArgument = Annotated[int, typer.Argument(help="The rule set version (a number).",
                                                show_default=False)]
DateFrom = Annotated[datetime | None, typer.Option(
    "--from", formats=["%Y-%m-%d"], help="First declaration date (inclusive).")]
DateTo = Annotated[datetime | None, typer.Option(
    "--to", formats=["%Y-%m-%d"], help="Last declaration date (inclusive).")]


@contextlib.contextmanager
def _acting(workspace: Workspace, user: str | None, permission: str) -> Iterator[None]:
    """Act for ``user`` (checked: active, role grants ``permission``), else the OS user."""
    if user is None:
        yield
        return
    workspace_user(workspace, user, "--user", permission)
    with audit.acting_as(f"user:{user}"):
        yield


def _rate(value: Any) -> str:
    return "—" if value is None else f"{value:.1%}"


def _backtest_table(version: lifecycle.RuleSetVersion) -> Table | None:
    result = version.backtest
    if result is None:
        return None
    window = f"{result['date_from'] or 'start'} – {result['date_to'] or 'end'}"
    table = Table(title=f"Back-test of {version.label} over {result['declarations']:,} "
                        f"declaration items ({window})")
    for column in ("rule", "lane", "hits", "share", "inspected", "frauds", "hit rate",
                   "revenue", "in selections", "model red/yellow"):
        table.add_column(column, justify="left" if column in ("rule", "lane") else "right")
    for row in [*result["rules"], {**result["totals"], "rule_id": "any rule", "lane": ""}]:
        label = (f"{row['rule_id']} v{row['version']}" if "version" in row
                 else row["rule_id"])
        table.add_row(label, row["lane"], f"{row['hits']:,}", f"{row['hit_share']:.2%}",
                      f"{row['inspected']:,}", f"{row['frauds']:,}", _rate(row["hit_rate"]),
                      f"{row['revenue']:,.0f}", f"{row['in_selections']:,}",
                      f"{row['model_selected']:,}")
    return table


def _summary(version: lifecycle.RuleSetVersion) -> str:
    return (f"[bold]{version.label}[/bold]: {version.status}; {len(version.rules())} rule(s), "
            f"fingerprint {version.fingerprint[:12]}")


@app.command("draft")
def draft(path: RulesFile, user: UserOption = None, workspace: WorkspaceOption = None) -> None:
    """Store a risk profile as the next draft version of the workspace's rule set."""
    ws = Workspace.open(workspace_path(workspace))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"rules file {str(path)!r} does not exist") from None
    with _acting(ws, user, "rules:edit"):
        version = lifecycle.draft_rules(ws, text, source=str(path))
    console.print(_summary(version))
    console.print(f"Next: clearlane rules backtest {version.version}")


@app.command("backtest")
def backtest(version: VersionArgument, date_from: DateFrom = None, date_to: DateTo = None,
             user: UserOption = None, workspace: WorkspaceOption = None) -> None:
    """Back-test a draft over stored history (hits, past hit rate among inspected hits,
    revenue, overlap with the model's selections) and store the result with it."""
    ws = Workspace.open(workspace_path(workspace))
    with _acting(ws, user, "rules:edit"):
        done = lifecycle.backtest_draft(
            ws, version, date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None)
    table = _backtest_table(done)
    if table is not None:
        console.print(table)
    console.print("Hit rate = frauds / inspected hits (past inspections were themselves "
                  "selected). Model red/yellow = hits a stored selection already sent red or "
                  "yellow by model ranking.")


@app.command("publish")
def publish(version: VersionArgument, user: UserOption = None,
            workspace: WorkspaceOption = None) -> None:
    """Publish a back-tested draft: lodgement and `clearlane select` use it from now on; the
    set published before it is retired. Four-eyes rule: the user who drafted the version may
    not publish it (exit code 5); a second person publishes it with --user NAME."""
    ws = Workspace.open(workspace_path(workspace))
    with _acting(ws, user, "rules:publish"):
        done = lifecycle.publish_rules(ws, version)
    console.print(_summary(done))


@app.command("retire")
def retire(version: VersionArgument, user: UserOption = None,
           workspace: WorkspaceOption = None) -> None:
    """Retire a draft or the published set (then no rule set is published)."""
    ws = Workspace.open(workspace_path(workspace))
    with _acting(ws, user, "rules:publish"):
        done = lifecycle.retire_rules(ws, version)
    console.print(_summary(done))


@app.command("history")
def history(workspace: WorkspaceOption = None) -> None:
    """Every version of the rule set with who changed it and the assessments it produced."""
    ws = Workspace.open(workspace_path(workspace))
    table = Table(title="Rule set versions")
    for column in ("version", "status", "rules", "drafted", "published", "retired",
                   "lodgements", "selections", "rule hits"):
        table.add_column(column, justify="right" if column in (
            "rules", "lodgements", "selections", "rule hits") else "left")
    for entry in lifecycle.rule_history(ws):
        v = entry.rule_set
        table.add_row(
            v.label, v.status, str(len(entry.rules)), f"{v.created_at:%Y-%m-%d %H:%M} "
            f"{v.created_by}",
            f"{v.published_at:%Y-%m-%d %H:%M} {v.published_by}" if v.published_at else "",
            f"{v.retired_at:%Y-%m-%d %H:%M} {v.retired_by}" if v.retired_at else "",
            f"{entry.lodgements:,}", f"{entry.selections:,}",
            f"{entry.lodgement_hits + entry.selection_hits:,}")
    console.print(table)


@app.command("show")
def show(version: VersionArgument, workspace: WorkspaceOption = None) -> None:
    """One version: its rules, back-test and the assessments it produced, rule by rule."""
    ws = Workspace.open(workspace_path(workspace))
    [entry] = lifecycle.rule_history(ws, version)
    v = entry.rule_set
    console.print(_summary(v))
    console.print(f"Drafted {v.created_at:%Y-%m-%d %H:%M} by {v.created_by}", highlight=False)
    for when, who, what in ((v.backtested_at, v.backtested_by, "Back-tested"),
                            (v.published_at, v.published_by, "Published"),
                            (v.retired_at, v.retired_by, "Retired")):
        if when is not None:
            console.print(f"{what} {when:%Y-%m-%d %H:%M} by {who}", highlight=False)
    if v.superseded_by is not None:
        console.print(f"Superseded by version {v.superseded_by}")
    console.print(f"Assessments: {entry.lodgements:,} lodgement answer(s) "
                  f"({entry.lodgement_hits:,} with a rule hit), {entry.selections:,} "
                  f"selection(s) ({entry.selection_items:,} item(s), "
                  f"{entry.selection_hits:,} rule hit(s))")
    table = Table(title=f"Rules of {v.label}")
    for column in ("rule", "lane", "severity", "lodgement hits", "selection hits", "when"):
        table.add_column(column)
    uses = {(u.rule_id, u.version): u for u in entry.rules}
    for rule in v.rules():
        use = uses[(rule.id, rule.version)]
        table.add_row(rule.label, rule.lane, rule.severity, f"{use.lodgement_hits:,}",
                      f"{use.selection_hits:,}", rule.describe())
    console.print(table)
    backtest_table = _backtest_table(v)
    if backtest_table is not None:
        console.print(backtest_table)
    else:
        console.print(f"Not back-tested: clearlane rules backtest {v.version}")
