"""Small charts drawn on the server as SVG: readable with JavaScript off, on a slow link and
in a printed PDF, and allowed by the pages' Content-Security-Policy (no script, no style
attribute). Each chart is a dataclass of shapes that a template draws."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PALETTE = ("#12355b", "#b3261e", "#2e7d32", "#8a6d00", "#6a1b9a", "#00838f")
"""Series colours, distinguishable in print and by most colour-blind readers."""


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[tuple[float, float | None], ...]
    """(x, y) in data units; y None is a gap."""


@dataclass(frozen=True)
class LineChart:
    """A line chart laid out in a ``width`` × ``height`` SVG box."""

    width: int
    height: int
    paths: tuple[tuple[str, str, str], ...]
    """(series name, colour, SVG path data)."""
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    plot: tuple[float, float, float, float]
    """The plotting area: left, top, right, bottom (SVG units)."""
    markers: tuple[tuple[float, float, str], ...] = field(default_factory=tuple)


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def line_chart(series: Sequence[Series], *, x_labels: Sequence[tuple[float, str]] = (),
               y_format: str = "{:.0%}", y_min: float | None = 0.0,
               y_max: float | None = None, width: int = 640, height: int = 240) -> LineChart:
    """Lines of ``series`` with y ticks at round numbers (``y_format`` formats them) and the x
    ticks given by ``x_labels`` ((x, label) pairs)."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points if y is not None and math.isfinite(y)]
    left, top, right, bottom = 56.0, 10.0, width - 24.0, height - 28.0
    if not xs or not ys:
        return LineChart(width, height, (), (), (), (left, top, right, bottom))
    lo = min(ys) if y_min is None else min(y_min, min(ys))
    hi = max(ys) if y_max is None else y_max
    if hi <= lo:
        hi = lo + 1.0
    step = _nice_step(hi - lo)
    hi = math.ceil(hi / step) * step
    x0, x1 = min(xs), max(xs)
    span_x = (x1 - x0) or 1.0

    def sx(x: float) -> float:
        return left + (x - x0) / span_x * (right - left)

    def sy(y: float) -> float:
        return bottom - (y - lo) / (hi - lo) * (bottom - top)

    paths = []
    markers = []
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        data, pen_down = [], False
        for x, y in s.points:
            if y is None or not math.isfinite(y):
                pen_down = False
                continue
            data.append(f"{'L' if pen_down else 'M'}{sx(x):.1f},{sy(y):.1f}")
            markers.append((round(sx(x), 1), round(sy(y), 1), colour))
            pen_down = True
        paths.append((s.name, colour, " ".join(data)))
    y_ticks = []
    value = lo
    while value <= hi + step / 2:
        y_ticks.append((round(sy(value), 1), y_format.format(value)))
        value += step
    x_ticks = tuple((round(sx(x), 1), label) for x, label in x_labels)
    return LineChart(width, height, tuple(paths), x_ticks, tuple(y_ticks),
                     (left, top, right, bottom), tuple(markers))
