"""`clearlane report performance`: honest measurement of selection (terminal and HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.services.outcomes import performance_report
from clearlane.store.workspace import Workspace

app = typer.Typer(help="Reports on selection and outcomes.", no_args_is_help=True)


def _print(frame: object, title: str) -> None:
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column, justify="right")
    for row in frame.iter_rows():
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))
                        for v in row])
    console.print(table)


@app.command("performance")
def performance(
    workspace: WorkspaceOption = None,
    selection: Annotated[str | None, typer.Option(help="One selection id (default: all).")] = None,
    every: Annotated[str, typer.Option(help="Drift period (polars duration: 1w, 1mo).")] = "1mo",
    html: Annotated[Path | None, typer.Option(help="Also write an HTML report here.")] = None,
) -> None:
    """Hit rate and revenue by lane and by reason, random-sample fraud rate, drift."""
    ws = Workspace.open(workspace_path(workspace))
    report = performance_report(ws, every=every, selection_id=selection)
    _print(report.by_lane, "By lane")
    _print(report.by_basis, "By selection reason")
    fr = report.fraud_rate
    if fr.rate is None:
        console.print("Fraud rate: no random control item has an outcome yet.")
    else:
        console.print(f"Fraud rate of all declarations (random control sample, n={fr.n}): "
                      f"[bold]{fr.rate:.2%}[/] (95 % interval {fr.low:.2%} – {fr.high:.2%})")
    _print(report.drift, "Drift (PSI against the first period; > 0.25 = large shift)")
    for note in report.notes:
        console.print(f"[yellow]Note:[/] {note}")
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(report.to_html(), encoding="utf-8")
        console.print(f"HTML report written to {html}")
