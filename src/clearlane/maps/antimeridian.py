"""Polygons that cross the antimeridian (longitude ±180°), cut there, and rings oriented as
RFC 7946 asks.

A ring of Natural Earth's Russia or Fiji jumps from 179° to -180°: drawn as is on a flat map it
draws a line across the whole world, and RFC 7946 (section 3.1.9) asks that such a geometry be
cut in two. :func:`split_polygon` unwraps the longitudes of a crossing polygon (so that it is
continuous, e.g. 170° to 190°), clips it to each 360°-wide window it overlaps and shifts each
piece back into [-180, 180]. A ring that goes round a pole (Antarctica: it crosses the
antimeridian once) is closed along that pole first.

:func:`orient` then turns exterior rings counter-clockwise and holes clockwise (the RFC's
right-hand rule; the npm ``world-atlas`` topology has them the other way round, as d3 does).

>>> ring = [(170.0, 0.0), (-170.0, 0.0), (-170.0, 10.0), (170.0, 10.0), (170.0, 0.0)]
>>> sorted(min(x for x, _ in p[0]) for p in split_polygon([ring]))
[-180.0, 170.0]
"""

from __future__ import annotations

import math
from itertools import pairwise

from clearlane.maps.topojson import Point, Polygon, Ring

ANTIMERIDIAN = 180.0


def crosses(ring: Ring) -> bool:
    """Whether two consecutive points of ``ring`` are more than 180° of longitude apart (the
    short way between them crosses the antimeridian)."""
    return any(abs(b[0] - a[0]) > ANTIMERIDIAN for a, b in pairwise(ring))


def signed_area(ring: Ring) -> float:
    """Planar (shoelace) area of ``ring`` in square degrees: > 0 counter-clockwise."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring)) / 2


def _unwrap(ring: Ring) -> Ring:
    """``ring`` with continuous longitudes (each step the short way round)."""
    out: Ring = [ring[0]]
    for lon, lat in ring[1:]:
        previous = out[-1][0]
        lon += 360.0 * round((previous - lon) / 360.0)
        out.append((lon, lat))
    return out


def _close_round_pole(ring: Ring) -> Ring:
    """An unwrapped ring whose ends are 360° apart goes round a pole: close it along that pole
    (the one on the side of its mean latitude)."""
    start, end = ring[0], ring[-1]
    if abs(end[0] - start[0]) < ANTIMERIDIAN:
        return ring
    pole = -90.0 if sum(lat for _, lat in ring) < 0 else 90.0
    steps = 8  # 45° apart: no edge of the closed ring spans more than 180° of longitude
    along = [(end[0] + (start[0] - end[0]) * i / steps, pole) for i in range(steps + 1)]
    return [*ring, *along, start]


def _clip(ring: Ring, edge: float, keep_below: bool) -> Ring:
    """Sutherland-Hodgman: the part of ``ring`` on one side of the meridian ``edge``."""
    def inside(p: Point) -> bool:
        return p[0] <= edge if keep_below else p[0] >= edge

    out: Ring = []
    for a, b in pairwise(ring):
        if inside(b):
            if not inside(a):
                out.append(_at(a, b, edge))
            out.append(b)
        elif inside(a):
            out.append(_at(a, b, edge))
    if out and out[0] != out[-1]:
        out.append(out[0])
    return _dedupe(out)


def _at(a: Point, b: Point, lon: float) -> Point:
    t = (lon - a[0]) / (b[0] - a[0])
    return (lon, a[1] + t * (b[1] - a[1]))


def _dedupe(ring: Ring) -> Ring:
    out: Ring = []
    for p in ring:
        if not out or p != out[-1]:
            out.append(p)
    return out


def _window(ring: Ring, k: int) -> Ring:
    """The part of an unwrapped ring in [-180 + 360k, 180 + 360k], shifted back by -360k."""
    low, high = -ANTIMERIDIAN + 360.0 * k, ANTIMERIDIAN + 360.0 * k
    clipped = _clip(_clip(ring, low, keep_below=False), high, keep_below=True)
    if len(clipped) < 4 or abs(signed_area(clipped)) < 1e-12:
        return []
    return [(min(max(lon - 360.0 * k, -ANTIMERIDIAN), ANTIMERIDIAN), lat)
            for lon, lat in clipped]


def split_polygon(polygon: Polygon) -> list[Polygon]:
    """``polygon`` (exterior ring then holes) as pieces that stay within [-180, 180] and never
    cross the antimeridian; a polygon that does not cross it is returned as the only piece."""
    if not any(crosses(ring) for ring in polygon):
        return [polygon]
    exterior = _close_round_pole(_unwrap(polygon[0]))
    middle = sum(lon for lon, _ in exterior) / len(exterior)
    holes = []
    for hole in polygon[1:]:
        unwrapped = _unwrap(hole)
        shift = 360.0 * round((middle - unwrapped[0][0]) / 360.0)
        holes.append([(lon + shift, lat) for lon, lat in unwrapped])
    lons = [lon for lon, _ in exterior]
    first = math.floor((min(lons) + ANTIMERIDIAN) / 360.0)
    last = math.ceil((max(lons) + ANTIMERIDIAN) / 360.0) - 1
    pieces: list[Polygon] = []
    for k in range(first, max(first, last) + 1):
        outer = _window(exterior, k)
        if outer:
            pieces.append([outer, *filter(None, (_window(h, k) for h in holes))])
    return pieces


def orient(polygon: Polygon) -> Polygon:
    """The exterior ring counter-clockwise, the holes clockwise (RFC 7946, section 3.1.6)."""
    oriented: Polygon = []
    for index, ring in enumerate(polygon):
        counter_clockwise = signed_area(ring) > 0
        wanted = index == 0
        oriented.append(ring if counter_clockwise == wanted else ring[::-1])
    return oriented
