"""Render a :class:`~clearlane.quality.QualityReport` as one self-contained HTML page.

Inline CSS and inline SVG bars only: the file opens offline, from e-mail or a USB stick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from clearlane import __version__
from clearlane.quality import QualityReport

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, digits=1: f"{100.0 * float(v):.{digits}f} %"
    env.filters["num"] = lambda v: f"{int(v):,}"
    env.filters["money"] = lambda v: f"{float(v):,.4g}"
    return env


CHART_WIDTH = 1000
CHART_HEIGHT = 120


@dataclass(frozen=True)
class _Column:
    x: float
    y: float
    width: float
    height: float
    label: str
    rows: int
    sparse: bool


def _month_columns(report: QualityReport) -> list[_Column]:
    """Geometry of the monthly-volume column chart (SVG user units)."""
    months = report.months
    if not months:
        return []
    top = max(m.rows for m in months) or 1
    step = CHART_WIDTH / len(months)
    columns = []
    for i, m in enumerate(months):
        height = CHART_HEIGHT * m.rows / top
        columns.append(
            _Column(
                x=round(i * step + 0.1 * step, 2), y=round(CHART_HEIGHT - height, 2),
                width=round(0.8 * step, 2), height=round(height, 2),
                label=m.month.strftime("%Y-%m"), rows=m.rows, sparse=m.sparse,
            )
        )
    return columns


def render_quality_html(report: QualityReport, workspace: str | None = None) -> str:
    """The HTML text of the report (self-contained: no external CSS, JS or fonts)."""
    template = _environment().get_template("quality.html.j2")
    provided = [f for f in report.fields if f.provided or f.required]
    missing = [f.name for f in report.fields if not f.provided and not f.required]
    return template.render(
        report=report,
        workspace=workspace,
        version=__version__,
        provided_fields=provided,
        missing_fields=missing,
        failing_ranges=[r for r in report.ranges if r.violations],
        passing_ranges=[r for r in report.ranges if not r.violations],
        columns=_month_columns(report),
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
    )
