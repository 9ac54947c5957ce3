"""Build the country geometry the maps draw, from the npm package ``world-atlas`` (Natural
Earth 1:110m, public domain; pinned in package.json and package-lock.json).

Run by ``make assets`` after ``npm ci``: decodes the TopoJSON, keys each country by its
ISO 3166-1 alpha-2 code (the topology's ids are ISO numeric codes, mapped with pycountry), cuts
the polygons that cross the antimeridian, orients the rings as RFC 7946 asks and writes a
compact GeoJSON FeatureCollection into the package (git-ignored, like the vendored JS). The
app never downloads anything at run time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import pycountry  # noqa: E402

from clearlane.maps.antimeridian import orient, split_polygon  # noqa: E402
from clearlane.maps.topojson import Polygon, decode_arcs, polygons  # noqa: E402

PACKAGE = ROOT / "node_modules" / "world-atlas"
SOURCE = PACKAGE / "countries-110m.json"
SMALL_COUNTRIES = PACKAGE / "countries-50m.json"
"""Countries too small for the 1:110m file (Singapore, Hong Kong, Malta, Bahrain, Mauritius,
…) come from the 1:50m one: a trade map needs them."""
TARGET = ROOT / "src" / "clearlane" / "maps" / "data" / "countries.geo.json"
DIGITS = 3
"""Decimals kept (about 100 m; the 1:110m source is quantized to about 400 m)."""
WITHOUT_ID = {"Kosovo": "XK", "N. Cyprus": "CY", "Somaliland": "SO"}
"""Natural Earth features without an ISO numeric id: Kosovo gets the code its own customs and
the EU use (XK, user-assigned); the two others are drawn as parts of their ISO country."""


def alpha_2(geometry: dict[str, Any]) -> tuple[str, str]:
    """The ISO alpha-2 code and name of a topology geometry."""
    name = str((geometry.get("properties") or {}).get("name", ""))
    if "id" not in geometry:
        code = WITHOUT_ID[name]
        country = pycountry.countries.get(alpha_2=code)
    else:
        country = pycountry.countries.get(numeric=str(geometry["id"]).zfill(3))
        if country is None:
            raise SystemExit(f"no ISO country for numeric id {geometry['id']} ({name})")
        code = country.alpha_2
    if country is not None:
        name = getattr(country, "common_name", None) or country.name
    return code, name


def _rounded(polygon: Polygon) -> list[list[list[float]]]:
    rings = []
    for ring in polygon:
        points: list[list[float]] = []
        for lon, lat in ring:
            point = [round(lon, DIGITS), round(lat, DIGITS)]
            if not points or point != points[-1]:
                points.append(point)
        if len(points) >= 4:
            rings.append(points)
    return rings


def _add(topology: dict[str, Any], countries: dict[str, tuple[str, list[Any]]],
         only_new: bool) -> None:
    """Add the countries of ``topology`` (``only_new``: those not there yet, with an ISO id)."""
    arcs = decode_arcs(topology)
    known = set(countries)
    for geometry in topology["objects"]["countries"]["geometries"]:
        if only_new and "id" not in geometry:
            continue
        code, name = alpha_2(geometry)
        if only_new and code in known:
            continue
        pieces = [_rounded(orient(piece)) for polygon in polygons(geometry, arcs)
                  for piece in split_polygon(polygon)]
        countries[code] = (name, countries.get(code, (name, []))[1] + [p for p in pieces if p])


def main() -> int:
    if not (SOURCE.is_file() and SMALL_COUNTRIES.is_file()):
        print(f"missing {SOURCE}: run `npm ci` first", file=sys.stderr)
        return 1
    topology = json.loads(SOURCE.read_text(encoding="utf-8"))
    version = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
    countries: dict[str, tuple[str, list[list[list[list[float]]]]]] = {}
    _add(topology, countries, only_new=False)
    _add(json.loads(SMALL_COUNTRIES.read_text(encoding="utf-8")), countries, only_new=True)
    features = [{"type": "Feature", "id": code,
                 "properties": {"iso_a2": code, "name": name},
                 "geometry": {"type": "MultiPolygon", "coordinates": coordinates}}
                for code, (name, coordinates) in sorted(countries.items())]
    collection = {"type": "FeatureCollection",
                  "source": f"world-atlas {version} countries-110m.json and, for the smaller "
                            "countries, countries-50m.json (Natural Earth, public domain)",
                  "features": features}
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    temporary = TARGET.with_name(f".{TARGET.name}.tmp")
    temporary.write_text(json.dumps(collection, separators=(",", ":")), encoding="utf-8")
    temporary.replace(TARGET)
    print(f"wrote {len(features)} countries to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
