"""Cutting polygons at the antimeridian: every piece stays in [-180, 180], no edge jumps
across the map, no area is lost, and the rings turn the way RFC 7946 asks."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.maps.antimeridian import crosses, orient, signed_area, split_polygon
from clearlane.maps.topojson import Polygon, Ring


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def _star(cx: float, cy: float, radii: list[float]) -> Ring:
    """A star-shaped ring round (cx, cy), counter-clockwise, unwrapped (lon may pass 180)."""
    n = len(radii)
    ring = [(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n))
            for i, r in enumerate(radii)]
    return [*ring, ring[0]]


def _check(pieces: list[Polygon]) -> None:
    for piece in pieces:
        for ring in piece:
            assert ring[0] == ring[-1]
            assert all(-180.0 <= lon <= 180.0 for lon, _ in ring)
            assert all(abs(b[0] - a[0]) <= 180.0 for a, b in pairwise(ring))
        assert signed_area(orient(piece)[0]) > 0


@settings(max_examples=200, deadline=None)
@given(cx=st.floats(120.0, 240.0), cy=st.floats(-60.0, 60.0),
       radii=st.lists(st.floats(0.5, 25.0), min_size=3, max_size=24))
def test_a_polygon_near_the_antimeridian_is_cut_without_losing_area(
        cx: float, cy: float, radii: list[float]) -> None:
    unwrapped = _star(cx, cy, radii)
    ring = [(_wrap(lon), lat) for lon, lat in unwrapped]
    pieces = split_polygon([ring])
    _check(pieces)
    expected = abs(signed_area(unwrapped))
    assert math.isclose(sum(abs(signed_area(p[0])) for p in pieces), expected, rel_tol=1e-6)
    straddles = min(lon for lon, _ in unwrapped) < 180.0 < max(lon for lon, _ in unwrapped)
    assert len(pieces) == (2 if straddles else 1)


def test_a_hole_stays_with_its_piece() -> None:
    outer = [(170.0, -10.0), (-170.0, -10.0), (-170.0, 10.0), (170.0, 10.0), (170.0, -10.0)]
    hole = [(175.0, -5.0), (175.0, 5.0), (-175.0, 5.0), (-175.0, -5.0), (175.0, -5.0)]
    pieces = split_polygon([outer, hole])
    _check(pieces)
    assert [len(p) for p in pieces] == [2, 2]
    total = sum(abs(signed_area(p[0])) - abs(signed_area(p[1])) for p in pieces)
    assert math.isclose(total, 20 * 20 - 10 * 10)


def test_a_ring_round_the_south_pole_is_closed_along_it() -> None:
    # as Natural Earth's Antarctica: crosses the antimeridian once
    lons = list(range(-180, 181, 30))
    ring = [(float(lon), -70.0 - (lon % 60) / 10) for lon in lons[1:-1]]
    ring = [(180.0, -70.0), *ring[::-1], (-180.0, -70.0)]
    ring = [*ring, ring[0]]
    assert crosses(ring)
    pieces = split_polygon([ring])
    _check(pieces)
    assert min(lat for p in pieces for _, lat in p[0]) == -90.0


def test_a_polygon_that_does_not_cross_is_left_alone() -> None:
    ring = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 0.0)]
    assert split_polygon([ring]) == [[ring]]
    assert orient([ring[::-1]]) == [ring]
