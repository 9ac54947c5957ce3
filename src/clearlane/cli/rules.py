"""`clearlane rules validate | list | test`: check, show and back-test risk profiles."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.rules import load_rules
from clearlane.services.selection import backtest_rules
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Risk rules: validate a YAML risk profile, list its rules, back-test it.",
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
