"""The HTML report: self-contained, with every section, values escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from quality_fixtures import AS_OF, PLANTED_LOW, Crafted

from clearlane.reports.quality_html import render_quality_html
from clearlane.services.quality import quality_report, write_quality_html
from clearlane.store.workspace import Workspace

SECTIONS = ("score", "rows", "volume", "fields", "ranges", "duplicates", "unit-values", "issues")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.external: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            if values.get(name):
                self.external.append(str(values[name]))


def test_html_has_every_section_and_nothing_external(crafted: Crafted) -> None:
    report = quality_report(crafted.workspace, as_of=AS_OF)
    path = write_quality_html(crafted.workspace, report)
    assert path == crafted.workspace.reports_dir / "quality.html"
    text = path.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(text)
    assert set(SECTIONS) <= parser.ids
    assert parser.external == [] and parser.scripts == 0
    assert "<style>" in text and "<svg" in text
    assert PLANTED_LOW in text
    assert "TAX_RATE_ABOVE_100" in text and "HS code contains letters" in text
    assert re.search(r"\d+\.\d / 100", text)


def test_html_escapes_values_from_the_data(crafted: Crafted) -> None:
    with crafted.workspace.transaction() as con:
        con.execute(
            "INSERT INTO ingest_issues VALUES ('batch-a', 'a.csv', 7, 'office_id', "
            "'<script>alert(1)</script>', 'unknown office', 'warning')"
        )
    html = render_quality_html(quality_report(crafted.workspace, as_of=AS_OF))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_html_written_where_asked_for_an_empty_workspace(workspace: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    report = quality_report(workspace, as_of=AS_OF)
    path = write_quality_html(workspace, report, tmp_path / "out" / "q.html")
    assert path.exists()
    assert "ingest a file first" in path.read_text(encoding="utf-8")
