"""Use case: the data-quality report of a workspace (or one ingest batch), and its HTML file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from clearlane.quality import QualityReport, compute_quality_report
from clearlane.reports.quality_html import render_quality_html
from clearlane.store.workspace import Workspace

DEFAULT_HTML_NAME = "quality.html"


def quality_report(
    workspace: Workspace,
    batch_id: str | None = None,
    *,
    as_of: date | None = None,
    progress: Callable[[float, float | None], None] | None = None,
) -> QualityReport:
    """The data-quality report of ``workspace``; ``batch_id`` (an id, a unique prefix or
    ``latest``) restricts it to one ingest batch. ``as_of`` defaults to today (UTC)."""
    with workspace.connect() as con:
        return compute_quality_report(con, batch_id, as_of=as_of, progress=progress)


def write_quality_html(
    workspace: Workspace, report: QualityReport, path: Path | None = None
) -> Path:
    """Write the report as one self-contained HTML file; default ``<reports>/quality.html``."""
    target = Path(path) if path is not None else workspace.reports_dir / DEFAULT_HTML_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_quality_html(report, workspace=str(workspace.path)), encoding="utf-8")
    return target
