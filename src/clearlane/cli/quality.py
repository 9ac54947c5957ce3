"""`clearlane quality`: the data-quality report in the terminal and as an HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, progress_bar, workspace_path
from clearlane.quality import IssueExample, QualityReport
from clearlane.services.quality import quality_report, write_quality_html
from clearlane.store.workspace import Workspace

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_GRADE_STYLE = {"A": "bold green", "B": "green", "C": "yellow", "D": "yellow", "E": "bold red"}


def quality(
    workspace: WorkspaceOption = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch", "-b",
            help="Only this ingest batch (an id, a unique prefix, or 'latest'); default: all.",
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Where to write the HTML report (default: <workspace>/reports/quality.html).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Check the quality of the stored declarations: completeness, validity, duplicates,
    out-of-range values and unit-value outliers per HS6; writes an HTML report too."""
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Checking data quality", total=None) as advance:
        report = quality_report(
            ws, batch, progress=lambda done, total: advance(done, total=total)
        )
    print_quality_summary(report, console)
    path = write_quality_html(ws, report, html)
    console.print(f"HTML report: [bold]{path}[/]")


def print_quality_summary(report: QualityReport, console: Console, *, issues: int = 10) -> None:
    """Print the report as Rich tables (reused by `ingest` and `demo`)."""
    score = report.score
    style = _GRADE_STYLE.get(score.grade, "bold")
    dates = f", declared {report.first_date} to {report.last_date}" if report.first_date else ""
    console.print(
        f"[bold]Data quality[/] of the {report.scope}{dates}: "
        f"[{style}]{score.overall:.1f}/100 (grade {score.grade})[/] — higher is better"
    )
    for note in report.notes:
        console.print(f"[yellow]Note:[/] {note}")
    if report.rows.read == 0 and report.rows.accepted == 0:
        return
    if report.months:
        sparse = sum(m.sparse for m in report.months)
        console.print(
            f"Items per month: {len(report.months)} months, "
            f"{min(m.rows for m in report.months):,} to {max(m.rows for m in report.months):,}"
            + (f", [yellow]{sparse} sparse[/]" if sparse else ""),
            highlight=False,
        )
    r = report.rows
    if report.batch_id is None:
        console.print(
            f"Judged on what is stored: {r.accepted:,} stored + {r.rejected:,} rejected rows "
            f"still outstanding (ingest read {r.read_by_ingest:,} rows in all"
            + (f"; {r.resolved:,} quarantined rows later stored or rejected again are not "
               "counted" if r.resolved else "")
            + ")",
            highlight=False,
        )
    console.print(
        f"Rows {'held' if report.batch_id is None else 'read'} {r.read:,} · accepted {r.accepted:,} · "
        f"rejected {r.rejected:,} · "
        f"warned {r.warned:,} · exact duplicates skipped {r.duplicate_skipped:,} · "
        f"conflicts {r.conflicts:,}",
        highlight=False,
    )

    scores = Table(title="Score components", title_justify="left")
    scores.add_column("Component")
    scores.add_column("Weight", justify="right")
    scores.add_column("Value", justify="right")
    scores.add_column("Why")
    for c in score.components:
        scores.add_row(c.name, f"{c.weight:.0%}", f"{c.value:.1%}", c.explanation)
    console.print(scores)

    fields = Table(
        title="Fields (* required; complete = share of accepted rows with a value)",
        title_justify="left",
    )
    fields.add_column("Field", no_wrap=True)
    for name in ("Complete", "", "Rejected", "Warned", "Valid", "Normalised"):
        fields.add_column(name, justify="left" if name == "" else "right")
    missing: list[str] = []
    for f in report.fields:
        if not f.provided and not f.required:
            missing.append(f.name)
            continue
        colour = "green" if f.completeness >= 0.95 else "yellow" if f.completeness >= 0.5 else "red"
        bar = "█" * round(10 * f.completeness)
        fields.add_row(
            f.name + (" *" if f.required else ""), f"{f.completeness:.1%}",
            f"[{colour}]{bar:<10}[/]", f"{f.rejected:,}", f"{f.warned:,}", f"{f.validity:.1%}",
            f"{f.normalised:,}",
        )
    console.print(fields)
    if missing:
        console.print(f"[dim]Not provided by any row: {', '.join(missing)}[/]")

    failing = [r for r in report.ranges if r.violations]
    if failing:
        ranges = Table(title="Out-of-range values", title_justify="left")
        for name in ("Check", "Field", "Rows", "Share", "Example"):
            ranges.add_column(name, justify="right" if name in ("Rows", "Share") else "left")
        for check in failing:
            ranges.add_row(
                f"[{_SEVERITY_STYLE[check.severity]}]{check.code}[/]", check.field,
                f"{check.violations:,}", f"{check.share:.2%}",
                _example(check.examples[0]) if check.examples else "",
            )
        console.print(ranges)
    else:
        console.print("Out-of-range values: [green]none[/]")

    d = report.duplicates
    console.print(
        f"Duplicates: exact skipped {d.exact_skipped:,} · conflicts {d.conflicts:,} · "
        f"repeated keys {d.key_repeated:,} · "
        f"suspected double submissions {d.suspected_rows:,} ({d.suspected_groups:,} groups)",
        highlight=False,
    )
    uv = report.unit_values
    console.print(
        f"Unit-value outliers per HS6 (|robust z| > {uv.threshold:g}, HS6 with ≥ "
        f"{uv.min_cell_size} items): {uv.outliers:,} of {uv.rows_tested:,} items tested "
        f"({uv.share:.2%}; {uv.outliers_low:,} low, {uv.outliers_high:,} high) in "
        f"{uv.cells_tested:,} HS6; {uv.rows_untestable:,} items not testable",
        highlight=False,
    )

    if report.top_issues:
        top = Table(title="Top issues", title_justify="left")
        for name in ("Severity", "Field", "Reason", "Count", "Example"):
            top.add_column(name, justify="right" if name == "Count" else "left")
        for issue in report.top_issues[:issues]:
            top.add_row(
                f"[{_SEVERITY_STYLE[issue.severity]}]{issue.severity}[/]", issue.field or "",
                issue.reason, f"{issue.count:,}",
                _example(issue.examples[0]) if issue.examples else "",
            )
        console.print(top)


def _example(example: IssueExample) -> str:
    where = []
    if example.declaration_id:
        where.append(example.declaration_id + (f"/{example.item_no}" if example.item_no else ""))
    if example.row is not None:
        where.append(f"row {example.row}")
    value = example.value if example.value is None or len(example.value) <= 60 else (
        example.value[:57] + "..."
    )
    return " ".join(where) + (f": {value}" if value is not None else "")
