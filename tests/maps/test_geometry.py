"""The country geometry built from world-atlas (make assets): keyed by ISO alpha-2, valid
for RFC 7946 (ranges, ring orientation, no antimeridian crossing), with points inside."""

from __future__ import annotations

from itertools import pairwise

import pycountry
import pytest

from clearlane.maps.antimeridian import signed_area
from clearlane.maps.geometry import Geometry, load, representative_point


@pytest.fixture(scope="module")
def geometry() -> Geometry:
    return load()


def test_countries_are_keyed_by_iso_alpha_2(geometry: Geometry) -> None:
    assert len(geometry.countries) > 200
    for code, country in geometry.countries.items():
        assert country.code == code
        assert code == "XK" or pycountry.countries.get(alpha_2=code) is not None, code
    # small trading countries come from the 1:50m file
    assert {"SG", "HK", "MT", "BH", "MU", "FR", "CN", "RU", "FJ"} <= set(geometry.countries)
    assert "world-atlas" in geometry.source


def test_rings_are_valid_for_rfc_7946(geometry: Geometry) -> None:
    for country in geometry.countries.values():
        for polygon in country.polygons:
            for index, ring in enumerate(polygon):
                assert len(ring) >= 4 and ring[0] == ring[-1], country.code
                assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring)
                assert all(abs(b[0] - a[0]) <= 180 for a, b in pairwise(ring)), country.code
                assert (signed_area(ring) > 0) == (index == 0), (country.code, index)


@pytest.mark.parametrize("code", ["RU", "FJ"])
def test_countries_across_the_antimeridian_have_a_piece_on_each_side(
        geometry: Geometry, code: str) -> None:
    polygons = geometry.countries[code].polygons
    assert any(max(lon for lon, _ in p[0]) == 180 for p in polygons)
    assert any(min(lon for lon, _ in p[0]) == -180 for p in polygons)


def test_representative_points_lie_in_their_country(geometry: Geometry) -> None:
    for code in ("FR", "CN", "US", "RU", "CL", "HR", "NO", "ID", "SG"):
        lon, lat = geometry.countries[code].anchor
        inside = any(_contains(p[0], lon, lat) for p in geometry.countries[code].polygons)
        assert inside, code


def test_a_concave_polygon_gets_a_point_inside_it() -> None:
    # a C shape: its centroid is in the gap
    ring = [(0.0, 0.0), (10.0, 0.0), (10.0, 2.0), (2.0, 2.0), (2.0, 8.0), (10.0, 8.0),
            (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)]
    lon, lat = representative_point([ring])
    assert _contains(ring, lon, lat)


def _contains(ring: list[tuple[float, float]], x: float, y: float) -> bool:
    inside = False
    for a, b in pairwise(ring):
        if (a[1] > y) != (b[1] > y) and x < a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]):
            inside = not inside
    return inside
