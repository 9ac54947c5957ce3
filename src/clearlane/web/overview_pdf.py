"""The head of unit's overview as a PDF (reportlab, offline, A4 landscape): the totals, the
clearance-time proxies and the monthly table. Helvetica covers English and French."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from clearlane.services.overview import Overview


def _cell(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def overview_pdf(overview: Overview, text: Callable[..., str], title: str) -> bytes:
    """The PDF bytes of ``overview``; ``text(key, **values)`` gives the labels in the
    reader's language."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), title=title,
                                 leftMargin=1.5 * cm, rightMargin=1.5 * cm,
                                 topMargin=1.5 * cm, bottomMargin=1.5 * cm)
    t = overview.totals
    rate = f"{t['hit_rate']:.1%}" if t["hit_rate"] is not None else "–"
    window = f"{overview.date_from or '…'} – {overview.date_to or '…'}"
    story: list[Any] = [
        Paragraph(escape(title), styles["Title"]),
        Paragraph(escape(text("overview/window", window=window,
                              office=overview.office or text("queue/all_offices"))),
                  styles["BodyText"]),
        Spacer(1, 0.4 * cm),
    ]
    summary = [
        [text("overview/declarations"), _cell(t["declarations"])],
        [text("overview/customs_value"), _cell(t["customs_value"])],
        [text("declaration/inspected"), _cell(t["inspected"])],
        [text("declaration/frauds"), _cell(t["frauds"])],
        [text("performance/hit_rate"), rate],
        [text("performance/revenue"), _cell(t["revenue_recovered"])],
        [text("overview/days_to_inspection"), _cell(overview.days_to_inspection, 1)],
        [text("overview/hours_to_close"), _cell(overview.hours_to_close, 1)],
    ]
    story.append(Table(summary, colWidths=[8 * cm, 5 * cm], hAlign="LEFT",
                       style=TableStyle([("ALIGN", (1, 0), (1, -1), "RIGHT"),
                                         ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey)])))
    story.append(Spacer(1, 0.5 * cm))
    header = [text("overview/month"), text("overview/declarations"),
              text("overview/customs_value"), text("lanes/red"), text("lanes/yellow"),
              text("lanes/blue"), text("lanes/green"), text("declaration/inspected"),
              text("declaration/frauds"), text("performance/hit_rate"),
              text("performance/revenue")]
    rows = [header] + [
        [str(r["period"])[:7], _cell(r["declarations"]), _cell(r["customs_value"]),
         _cell(r["red"]), _cell(r["yellow"]), _cell(r["blue"]), _cell(r["green"]),
         _cell(r["inspected"]), _cell(r["frauds"]),
         f"{r['hit_rate']:.1%}" if r["hit_rate"] is not None else "–",
         _cell(r["revenue_recovered"])]
        for r in overview.monthly.iter_rows(named=True)]
    story.append(Table(rows, repeatRows=1, style=TableStyle([
        ("FONTSIZE", (0, 0), (-1, -1), 8), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey)])))
    document.build(story)
    return buffer.getvalue()
