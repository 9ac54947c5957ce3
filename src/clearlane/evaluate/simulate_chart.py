"""Charts of simulator results: weekly moving average per strategy, as SVG (HTML) and PNG.

No plotting library: the SVG is written by hand and the PNG drawn with Pillow (installed with
reportlab, a core dependency).
"""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from clearlane.errors import MissingExtraError
from clearlane.evaluate.performance import frame_to_html

COLOURS = ("#7f7f7f", "#8c564b", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")


def _series(weekly: pl.DataFrame, metric: str) -> tuple[list[str], dict[str, list[tuple[int, float]]]]:
    strategies = list(dict.fromkeys(weekly["strategy"].to_list()))
    series: dict[str, list[tuple[int, float]]] = {}
    for strategy in strategies:
        part = weekly.filter(pl.col("strategy") == strategy).sort("week")
        series[strategy] = [(int(w), float(v)) for w, v in zip(part["week"], part[metric],
                                                                  strict=True) if v is not None]
    return strategies, series


def _geometry(weekly: pl.DataFrame, width: int, height: int, margin: int
              ) -> tuple[int, int]:
    return int(weekly["week"].min() or 0), int(weekly["week"].max() or 1)  # type: ignore[arg-type]


def svg_chart(weekly: pl.DataFrame, metric: str, title: str, width: int = 760,
              height: int = 380) -> str:
    """An SVG line chart of ``metric`` (0-1) by week, one line per strategy."""
    margin = 50
    lo, hi = _geometry(weekly, width, height, margin)
    span = max(1, hi - lo)
    strategies, series = _series(weekly, metric)

    def xy(week: int, value: float) -> tuple[float, float]:
        x = margin + (week - lo) / span * (width - 2 * margin - 120)
        y = height - margin - max(0.0, min(1.0, value)) * (height - 2 * margin)
        return x, y

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"font-family='sans-serif' font-size='11'><text x='{margin}' y='20' "
             f"font-size='14'>{html.escape(title)}</text>"]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        _, y = xy(lo, tick)
        parts.append(f"<line x1='{margin}' y1='{y:.1f}' x2='{width - margin - 120}' "
                     f"y2='{y:.1f}' stroke='#ddd'/><text x='8' y='{y + 4:.1f}'>{tick:.2f}</text>")
    parts.append(f"<text x='{margin}' y='{height - 15}'>week {lo}</text><text "
                 f"x='{width - margin - 160}' y='{height - 15}'>week {hi}</text>")
    for i, strategy in enumerate(strategies):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(w, v) for w, v in series[strategy]))
        parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' "
                     f"points='{points}'/>")
        parts.append(f"<rect x='{width - 160}' y='{40 + 18 * i}' width='12' height='12' "
                     f"fill='{colour}'/><text x='{width - 142}' y='{50 + 18 * i}'>"
                     f"{html.escape(strategy)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def png_chart(weekly: pl.DataFrame, metric: str, title: str, path: Path, width: int = 760,
              height: int = 380) -> Path:
    """The same chart as :func:`svg_chart`, drawn to a PNG file with Pillow."""
    try:
        from PIL import Image, ImageDraw
    except ImportError as exc:  # pragma: no cover - Pillow ships with reportlab
        raise MissingExtraError("Pillow", "reports") from exc
    margin = 50
    lo, hi = _geometry(weekly, width, height, margin)
    span = max(1, hi - lo)
    strategies, series = _series(weekly, metric)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def xy(week: int, value: float) -> tuple[float, float]:
        x = margin + (week - lo) / span * (width - 2 * margin - 120)
        y = height - margin - max(0.0, min(1.0, value)) * (height - 2 * margin)
        return x, y

    draw.text((margin, 8), title, fill="black")
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        _, y = xy(lo, tick)
        draw.line([(margin, y), (width - margin - 120, y)], fill="#dddddd")
        draw.text((8, y - 6), f"{tick:.2f}", fill="black")
    draw.text((margin, height - 25), f"week {lo}", fill="black")
    draw.text((width - margin - 160, height - 25), f"week {hi}", fill="black")
    for i, strategy in enumerate(strategies):
        colour = COLOURS[i % len(COLOURS)]
        points = [xy(w, v) for w, v in series[strategy]]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        draw.rectangle([width - 160, 40 + 18 * i, width - 148, 52 + 18 * i], fill=colour)
        draw.text((width - 142, 40 + 18 * i), strategy, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")
    return path


def simulation_html(weekly: pl.DataFrame, summary: pl.DataFrame, notes: tuple[str, ...] = (),
                    window: int = 13) -> str:
    """A self-contained HTML page: summary table, precision and revenue charts, weekly table."""
    charts = [svg_chart(weekly, f"precision_ma{window}",
                        f"Precision, {window}-week moving average")]
    if weekly["norm_revenue"].drop_nulls().len():
        charts.append(svg_chart(weekly, f"norm_revenue_ma{window}",
                                f"Normalised revenue, {window}-week moving average"))
    note_items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Clearlane simulation"
            "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
            "collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}</style>"
            "</head><body><h1>Online inspection simulation</h1><h2>Summary (after the ramp)"
            f"</h2>{frame_to_html(summary)}{''.join(charts)}"
            + (f"<h2>Notes</h2><ul>{note_items}</ul>" if note_items else "")
            + f"<h2>Weekly</h2>{frame_to_html(weekly)}</body></html>")
