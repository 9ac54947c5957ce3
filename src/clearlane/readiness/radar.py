"""Radar-chart geometry shared by the HTML (SVG) and PDF renderers; no plotting library."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

Point = tuple[float, float]


@dataclass(frozen=True)
class RadarGeometry:
    """Coordinates in a ``size`` x ``size`` box, y growing downwards (SVG convention)."""

    size: float
    centre: Point
    radius: float
    axes: tuple[Point, ...]
    rings: tuple[tuple[Point, ...], ...]
    values: tuple[Point, ...]
    label_points: tuple[Point, ...]


def radar_geometry(values: list[float], size: float = 360.0, maximum: float = 100.0,
                   rings: int = 4) -> RadarGeometry:
    """Axis ends, grid rings and the value polygon of one radar chart (first axis at top)."""
    n = len(values)
    c = size / 2
    radius = size * 0.32

    def at(i: int, r: float) -> Point:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return (c + r * math.cos(angle), c + r * math.sin(angle))

    return RadarGeometry(
        size=size,
        centre=(c, c),
        radius=radius,
        axes=tuple(at(i, radius) for i in range(n)),
        rings=tuple(tuple(at(i, radius * k / rings) for i in range(n)) for k in range(1, rings + 1)),
        values=tuple(at(i, radius * max(0.0, min(v, maximum)) / maximum)
                     for i, v in enumerate(values)),
        label_points=tuple(at(i, radius * 1.18) for i in range(n)),
    )


def _points(points: tuple[Point, ...]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def radar_svg(labels: list[str], values: list[float], title: str, size: float = 360.0) -> str:
    """A self-contained SVG radar chart (0-100 scale) with labelled axes and values."""
    g = radar_geometry(values, size)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size:.0f} {size:.0f}" '
        f'width="{size:.0f}" height="{size:.0f}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for ring in g.rings:
        parts.append(f'<polygon points="{_points(ring)}" fill="none" stroke="#ccc"/>')
    for x, y in g.axes:
        parts.append(f'<line x1="{g.centre[0]:.1f}" y1="{g.centre[1]:.1f}" x2="{x:.1f}" '
                     f'y2="{y:.1f}" stroke="#bbb"/>')
    parts.append(f'<polygon points="{_points(g.values)}" fill="#1f77b4" fill-opacity="0.35" '
                 'stroke="#1f77b4" stroke-width="2"/>')
    for (x, y), label, value in zip(g.label_points, labels, values, strict=True):
        anchor = "middle" if abs(x - g.centre[0]) < 1 else ("start" if x > g.centre[0] else "end")
        parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="12" text-anchor="{anchor}" '
                     f'font-family="sans-serif">{escape(label)} ({value:.0f})</text>')
    parts.append("</svg>")
    return "".join(parts)
