"""The country geometry of the maps: loaded from the GeoJSON that ``make assets`` builds into
the package (``scripts/build_geometry.py``, from the npm package ``world-atlas``), keyed by
ISO 3166-1 alpha-2 code, each country with a representative point (where flow lines start
and end, and where QGIS users may put a label)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise

from clearlane.errors import NotFoundError
from clearlane.maps.antimeridian import signed_area
from clearlane.maps.topojson import Point, Polygon, Ring

GEOMETRY_FILE = "data/countries.geo.json"


@dataclass(frozen=True)
class Country:
    """One country: its ISO alpha-2 code, English name, polygons (lon/lat WGS84, exterior
    rings counter-clockwise, none crossing the antimeridian) and representative point."""

    code: str
    name: str
    polygons: tuple[Polygon, ...]
    anchor: Point


@dataclass(frozen=True)
class Geometry:
    countries: dict[str, Country]
    source: str
    svg_paths: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    """SVG path data of each country, filled on first use (:func:`clearlane.maps.svg.path_of`)."""


def _centroid(ring: Ring) -> Point:
    area = signed_area(ring)
    if abs(area) < 1e-12:
        return ring[0]
    cx = sum((a[0] + b[0]) * (a[0] * b[1] - b[0] * a[1]) for a, b in pairwise(ring))
    cy = sum((a[1] + b[1]) * (a[0] * b[1] - b[0] * a[1]) for a, b in pairwise(ring))
    return (cx / (6 * area), cy / (6 * area))


def representative_point(polygon: Polygon) -> Point:
    """A point inside ``polygon``'s exterior ring, near its centroid: on the centroid's
    latitude, the centroid itself when inside, else the middle of the widest stretch of that
    latitude inside the ring (a concave country's centroid may fall outside it).

    >>> representative_point([[(0, 0), (4, 0), (4, 2), (0, 2), (0, 0)]])
    (2.0, 1.0)
    """
    ring = polygon[0]
    cx, cy = _centroid(ring)
    crossings = sorted(a[0] + (cy - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
                       for a, b in pairwise(ring) if (a[1] > cy) != (b[1] > cy))
    stretches = list(zip(crossings[::2], crossings[1::2], strict=False))
    for low, high in stretches:
        if low <= cx <= high:
            return (float(cx), float(cy))
    if not stretches:
        return (float(cx), float(cy))
    low, high = max(stretches, key=lambda s: s[1] - s[0])
    return ((low + high) / 2, float(cy))


def _polygon(coordinates: list[list[list[float]]]) -> Polygon:
    return [[(float(p[0]), float(p[1])) for p in ring] for ring in coordinates]


def parse(collection: dict[str, object]) -> Geometry:
    """The countries of a FeatureCollection as ``scripts/build_geometry.py`` writes it."""
    countries: dict[str, Country] = {}
    for feature in collection["features"]:  # type: ignore[attr-defined]
        properties = feature["properties"]
        polygons = tuple(_polygon(c) for c in feature["geometry"]["coordinates"])
        largest = max(polygons, key=lambda p: abs(signed_area(p[0])))
        countries[properties["iso_a2"]] = Country(
            properties["iso_a2"], properties["name"], polygons, representative_point(largest))
    return Geometry(countries, str(collection.get("source", "")))


@cache
def load() -> Geometry:
    """The built country geometry (read once); a NotFoundError naming ``make assets`` when the
    package was installed without it."""
    resource = resources.files("clearlane.maps").joinpath(GEOMETRY_FILE)
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"the map geometry {GEOMETRY_FILE} is missing from the package: "
                            "run `make assets` (it converts the npm package world-atlas)"
                            ) from None
    return parse(json.loads(text))
