"""The readiness report as PDF (reportlab, offline). Sections start on a new page:

1. summary with the radar chart and area scores, 2. prioritised actions, 3. roadmap,
4. one page per impact assessment (if any), 5. answers and evidence (may run over pages).

Uses the PDF core font Helvetica (Latin-1 texts: English, French); scripts such as Arabic will
need a TrueType font registered here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clearlane.errors import MissingExtraError
from clearlane.readiness.radar import radar_geometry
from clearlane.readiness.report import Report


def _reportlab() -> Any:
    try:
        import reportlab
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError("reportlab", "report") from exc
    return reportlab


def render_pdf(report: Report, path: Path) -> Path:
    """Write ``report`` to ``path`` as an A4 PDF; returns ``path``."""
    _reportlab()
    from xml.sax.saxutils import escape

    from reportlab.graphics.shapes import Drawing, Line, Polygon, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import (
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )
    from reportlab.platypus.flowables import Flowable

    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8, leading=10)
    lb = report.labels

    def para(text: str, style: Any = body) -> Paragraph:
        return Paragraph(escape(text), style)

    def table(headers: list[str], rows: Sequence[tuple[str, ...]], widths: list[float]) -> Table:
        header = any(headers)
        data = ([[para(h, small) for h in headers]] if header else []) + [
            [para(c, small) for c in r] for r in rows]
        t = Table(data, colWidths=widths, repeatRows=1 if header else 0)
        style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                 ("VALIGN", (0, 0), (-1, -1), "TOP")]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0f8")))
        t.setStyle(TableStyle(style))
        return t

    def radar() -> Flowable:
        size = 300.0
        g = radar_geometry(report.area_values, size)
        d = Drawing(size + 120, size)

        def flip(points: tuple[tuple[float, float], ...]) -> list[float]:
            return [v for x, y in points for v in (x + 60, size - y)]

        for ring in g.rings:
            d.add(Polygon(flip(ring), fillColor=None, strokeColor=colors.HexColor("#cccccc")))
        cx, cy = g.centre[0] + 60, size - g.centre[1]
        for x, y in g.axes:
            d.add(Line(cx, cy, x + 60, size - y, strokeColor=colors.HexColor("#bbbbbb")))
        d.add(Polygon(flip(g.values), fillColor=colors.Color(0.12, 0.47, 0.71, alpha=0.35),
                      strokeColor=colors.HexColor("#1f77b4"), strokeWidth=2))
        for (x, y), label, value in zip(g.label_points, report.area_labels, report.area_values,
                                        strict=True):
            anchor = "middle" if abs(x - g.centre[0]) < 1 else (
                "start" if x > g.centre[0] else "end")
            d.add(String(x + 60, size - y - 3, f"{label} ({value:.0f})", fontSize=8,
                         textAnchor=anchor, fontName="Helvetica"))
        return d

    width = A4[0] - 4 * cm
    story: list[Any] = [
        para(report.title, styles["Title"]),
        para(report.subtitle, styles["Italic"]),
        para(report.intro),
        Spacer(1, 0.3 * cm),
        table(["", ""], report.summary, [width * 0.45, width * 0.55]),
        Spacer(1, 0.2 * cm),
        para(report.stage_description, styles["Heading4"]),
        para(lb["radar_title"], styles["Heading3"]),
        radar(),
        table([lb["area"], lb["score"], lb["answered"], lb["unknown"]], report.area_rows,
              [width * 0.4, width * 0.2, width * 0.2, width * 0.2]),
        Spacer(1, 0.2 * cm),
        para(report.method_note, small),
        PageBreak(),
        para(lb["actions"], styles["Heading1"]),
    ]
    if report.actions:
        story.append(table([lb["action_priority"], lb["area"], lb["question"], lb["next_step"]],
                           report.actions, [width * 0.08, width * 0.17, width * 0.4, width * 0.35]))
    else:
        story.append(para(lb["no_actions"]))
    story += [PageBreak(), para(lb["roadmap"], styles["Heading1"])]
    for phase, status, progress, steps in report.roadmap:
        story.append(para(f"{phase} ({status}, {progress})", styles["Heading2"]))
        for step, items in steps:
            story.append(para(step + ("" if items else " - OK"), styles["Heading4"]))
            story += [para(f"- {item}", small) for item in items]
    for section in report.impacts:
        story += [PageBreak(), para(section.title, styles["Heading1"]),
                  table(["", ""], section.rows, [width * 0.5, width * 0.5]),
                  para(section.level_title, styles["Heading2"]),
                  para(section.level_description), para(section.mitigation_note, small),
                  para(lb["obligations"], styles["Heading3"])]
        story += [para(f"- {o}") for o in section.obligations]
    story += [PageBreak(), para(lb["answers"], styles["Heading1"]),
              table([lb["question"], lb["level"], "", lb["evidence"]], report.answers,
                    [width * 0.36, width * 0.1, width * 0.32, width * 0.22]),
              Spacer(1, 0.3 * cm), para(report.footer, small)]

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(2 * cm, 1.2 * cm, report.subtitle)
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, str(doc.page))
        canvas.restoreState()

    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm,
                            topMargin=1.8 * cm, bottomMargin=2 * cm, title=report.title,
                            author="Clearlane", lang=report.lang)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return path
