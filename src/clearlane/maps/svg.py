"""Drawing a world map as SVG: an equirectangular projection, one path per country, a classed
colour scale with its legend, and curved flow lines whose width grows with their value.

Everything here is data for a template (path strings, colours, legend rows): the page writes
the ``<svg>`` itself, with presentation attributes only (the pages' Content-Security-Policy
allows no inline style).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from clearlane.maps.geometry import Country, Geometry
from clearlane.maps.topojson import Point

WIDTH = 1000.0
"""Width of the map in SVG units: 360° of longitude."""
SOUTH = -60.0
"""The map stops at 60° S (Antarctica is not drawn: no trade comes from it)."""
NORTH = 84.0
HEIGHT = (NORTH - SOUTH) * WIDTH / 360.0
NOT_DRAWN = frozenset({"AQ"})
NO_DATA = "#d9d9d9"
"""Fill of a country without data (the legend says so; the pages also hatch it)."""

PALETTES: dict[str, tuple[str, ...]] = {
    # ColorBrewer sequential schemes (5 classes), light to dark
    "blues": ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"),
    "reds": ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"),
    "purples": ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"),
}


def project(point: Point) -> tuple[float, float]:
    """Longitude/latitude to SVG x/y (equirectangular: x from the longitude, y from the
    latitude, north up).

    >>> project((-180.0, 84.0)), project((180.0, -60.0))
    ((0.0, 0.0), (1000.0, 400.0))
    """
    lon, lat = point
    return ((lon + 180.0) * WIDTH / 360.0, (NORTH - lat) * WIDTH / 360.0)


def path_of(country: Country) -> str:
    """The SVG path data of ``country`` (one closed subpath per ring; draw it with
    ``fill-rule="evenodd"`` so that holes stay empty)."""
    parts: list[str] = []
    for polygon in country.polygons:
        for ring in polygon:
            points = [project(p) for p in ring[:-1]]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
    return "".join(parts)


def cached_path(geometry: Geometry, code: str) -> str:
    """:func:`path_of` the country ``code``, computed once per loaded geometry."""
    path = geometry.svg_paths.get(code)
    if path is None:
        path = geometry.svg_paths[code] = path_of(geometry.countries[code])
    return path


@dataclass(frozen=True)
class LegendClass:
    colour: str
    low: float
    high: float


@dataclass(frozen=True)
class ColourScale:
    """A classed sequential scale: ``breaks`` are the upper bounds of each class but the last
    (a value equal to a break falls in the lower class)."""

    colours: tuple[str, ...]
    breaks: tuple[float, ...]
    low: float
    high: float

    def colour(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return NO_DATA
        for colour, bound in zip(self.colours, self.breaks, strict=False):
            if value <= bound:
                return colour
        return self.colours[len(self.breaks)]

    def legend(self) -> list[LegendClass]:
        bounds = (self.low, *self.breaks, self.high)
        return [LegendClass(c, bounds[i], bounds[i + 1])
                for i, c in enumerate(self.colours[:len(self.breaks) + 1])]


def classify(values: Iterable[float | None], palette: str = "blues",
             method: str = "quantile") -> ColourScale:
    """A scale of up to five classes for ``values`` (None ignored): ``quantile`` (as many
    countries in each class; for skewed counts and amounts) or ``equal`` (equal intervals; for
    rates). Fewer distinct values give fewer classes (their colours spread over the palette).

    >>> scale = classify([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    >>> [scale.colour(v) for v in (1, 2, 3, 10)] == [PALETTES["blues"][i] for i in (0, 0, 1, 4)]
    True
    >>> scale.colour(None) == NO_DATA
    True
    """
    colours = PALETTES[palette]
    data = sorted(float(v) for v in values if v is not None and not math.isnan(float(v)))
    if not data:
        return ColourScale(colours, (), 0.0, 0.0)
    low, high = data[0], data[-1]
    count = min(len(colours), len(set(data)))
    if method == "equal":
        candidates = [low + (high - low) * i / count for i in range(1, count)]
    else:
        candidates = [data[math.ceil(len(data) * i / count) - 1] for i in range(1, count)]
    breaks = tuple(sorted({b for b in candidates if low <= b < high}))
    classes = len(breaks) + 1  # fewer classes: colours spread over the palette, darkest last
    picked = (tuple(colours[round(i * (len(colours) - 1) / (classes - 1))]
                    for i in range(classes)) if classes > 1 else (colours[len(colours) // 2],))
    return ColourScale(picked, breaks, low, high)


@dataclass(frozen=True)
class MapPath:
    """One country on the map: its code, name, path data, fill and tooltip value."""

    code: str
    name: str
    d: str
    fill: str
    has_data: bool


def choropleth(geometry: Geometry, values: Mapping[str, float | None],
               scale: ColourScale) -> list[MapPath]:
    """Every drawn country, filled by ``scale`` from ``values`` (no value: :data:`NO_DATA`)."""
    return [MapPath(c.code, c.name, cached_path(geometry, c.code),
                    scale.colour(values.get(c.code)),
                    values.get(c.code) is not None)
            for c in sorted(geometry.countries.values(), key=lambda c: c.code)
            if c.code not in NOT_DRAWN]


@dataclass(frozen=True)
class FlowLine:
    """One flow drawn from ``source`` to ``target``: a quadratic curve (``d``) and its width."""

    source: str
    target: str
    value: float
    d: str
    width: float


MIN_WIDTH = 1.0
MAX_WIDTH = 10.0


def curve(start: Point, end: Point, bend: float = 0.2) -> str:
    """SVG path data of a quadratic curve from ``start`` to ``end`` (lon/lat), bowed to the
    left of its direction by ``bend`` × its length (so A→B and B→A do not overlap)."""
    (x1, y1), (x2, y2) = project(start), project(end)
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    dx, dy = x2 - x1, y2 - y1
    cx, cy = mx + dy * bend, my - dx * bend
    return f"M{x1:.1f},{y1:.1f}Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}"


def flow_lines(geometry: Geometry, flows: Sequence[tuple[str, str, float]]) -> list[FlowLine]:
    """Lines for ``(source, target, value)`` flows between drawn countries (others skipped),
    widest last so that they are drawn on top; width proportional to the square root of the
    value (its area-like reading), from :data:`MIN_WIDTH` to :data:`MAX_WIDTH`."""
    known = [(s, t, v) for s, t, v in flows
             if s in geometry.countries and t in geometry.countries and s != t and v > 0]
    if not known:
        return []
    top = math.sqrt(max(v for _, _, v in known))
    lines = [FlowLine(s, t, v, curve(geometry.countries[s].anchor, geometry.countries[t].anchor),
                      MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * math.sqrt(v) / top)
             for s, t, v in known]
    return sorted(lines, key=lambda line: line.value)
