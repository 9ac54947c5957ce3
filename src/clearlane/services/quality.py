"""Use case: the data-quality report of a workspace (or one ingest batch), and its HTML file."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import UTC, date, datetime
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


# What a report depends on changes only through an ingest batch, a dropped batch or a
# recorded outcome: while none of these moved, a report of the same day is the same report.
_MARKER = ("SELECT (SELECT count(*) FROM ingest_batches), (SELECT max(finished_at) FROM "
           "ingest_batches), (SELECT count(*) FROM batch_drops), (SELECT count(*) FROM outcomes), "
           "(SELECT max(recorded_at) FROM outcomes)")


def cached_quality_report(workspace: Workspace, cache: MutableMapping[str, object],
                          batch_id: str | None = None) -> QualityReport:
    """:func:`quality_report` of today, computed again only when an ingest, a dropped batch or
    a recorded outcome changed what it reads since the one kept in ``cache`` (a server's
    cache: the report costs about a second on 200,000 declarations)."""
    with workspace.connect() as con:
        marker = tuple(con.execute(_MARKER).fetchall()[0])
    key = (batch_id, datetime.now(UTC).date(), marker)
    slot = cache.setdefault("quality", {})
    assert isinstance(slot, dict)
    if key not in slot:
        slot.clear()  # keep only the newest report: a new filter or new data replaces it
        slot[key] = quality_report(workspace, batch_id)
    report = slot[key]
    assert isinstance(report, QualityReport)
    return report


def write_quality_html(
    workspace: Workspace, report: QualityReport, path: Path | None = None
) -> Path:
    """Write the report as one self-contained HTML file; default ``<reports>/quality.html``."""
    target = Path(path) if path is not None else workspace.reports_dir / DEFAULT_HTML_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_quality_html(report, workspace=str(workspace.path)), encoding="utf-8")
    return target
