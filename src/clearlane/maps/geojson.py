"""GeoJSON (RFC 7946) FeatureCollections of the maps' numbers, for QGIS or any GIS.

Coordinates are longitude/latitude in WGS84 (EPSG:4326), exterior rings counter-clockwise,
holes clockwise, and no geometry crosses the antimeridian (see
:mod:`clearlane.maps.antimeridian`): QGIS opens the files as they are. Each property is
documented in :data:`ORIGIN_PROPERTIES` and :data:`FLOW_PROPERTIES` (name, unit, meaning;
docs/maps.md prints the same table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clearlane.maps.geometry import Geometry

MEDIA_TYPE = "application/geo+json"


@dataclass(frozen=True)
class Property:
    name: str
    unit: str
    meaning: str


WINDOW_PROPERTIES: tuple[Property, ...] = (
    Property("date_from", "date (ISO 8601)", "First acceptance date counted (inclusive)."),
    Property("date_to", "date (ISO 8601)", "Last acceptance date counted (inclusive)."),
    Property("office", "office id or null", "The one customs office counted (null: every "
                                            "office the caller may see)."),
)

ORIGIN_PROPERTIES: tuple[Property, ...] = (
    Property("iso_a2", "ISO 3166-1 alpha-2", "Country of origin."),
    Property("name", "text", "Country name (English, ISO 3166)."),
    Property("declarations", "count", "Declarations with at least one item of this origin."),
    Property("items", "count", "Declaration items of this origin."),
    Property("customs_value", "national currency", "Sum of the items' customs (CIF) value."),
    Property("inspected", "count", "Items of this origin with an inspection outcome."),
    Property("frauds", "count", "Inspected items where fraud was found."),
    Property("fraud_rate", "0-1 or null", "frauds / inspected; null when none was inspected "
                                          "(read it with `inspected`: few inspections, "
                                          "uncertain rate)."),
    Property("revenue_at_stake", "national currency",
             "Sum of the expected revenue (probability × revenue if fraud) of the items' latest "
             "risk assessments."),
    Property("assessed", "count", "Items with a risk assessment (revenue_at_stake covers "
                                  "these)."),
    Property("revenue_recovered", "national currency",
             "Additional duties and taxes raised on the items where fraud was found."),
    *WINDOW_PROPERTIES,
)
"""Properties of each feature of the origins file (a country's MultiPolygon)."""

FLOW_PROPERTIES: tuple[Property, ...] = (
    Property("origin", "ISO 3166-1 alpha-2", "Country of origin (where the line starts)."),
    Property("origin_name", "text", "Its name."),
    Property("departure", "ISO 3166-1 alpha-2", "Country of departure (where the line ends)."),
    Property("departure_name", "text", "Its name."),
    Property("declarations", "count", "Declarations with at least one item on this route."),
    Property("items", "count", "Declaration items on this route."),
    Property("customs_value", "national currency", "Sum of the items' customs (CIF) value "
                                                   "(the line's weight)."),
    *WINDOW_PROPERTIES,
)
"""Properties of each feature of the flows file (a LineString origin → departure)."""


def _multipolygon(geometry: Geometry, code: str) -> dict[str, Any]:
    country = geometry.countries[code]
    return {"type": "MultiPolygon",
            "coordinates": [[[[round(x, 4), round(y, 4)] for x, y in ring] for ring in polygon]
                            for polygon in country.polygons]}


def feature_collection(features: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """A FeatureCollection (``name`` is the layer name QGIS shows)."""
    return {"type": "FeatureCollection", "name": name, "features": features}


def origins_collection(geometry: Geometry, rows: Sequence[Mapping[str, Any]],
                       window: Mapping[str, Any]) -> dict[str, Any]:
    """One feature per country of the map: ``rows`` (dicts with the
    :data:`ORIGIN_PROPERTIES` of the countries that have data, keyed by ``iso_a2``), zeros and
    nulls for the others; ``window`` gives the date and office properties."""
    by_code = {row["iso_a2"]: row for row in rows}
    features = []
    for code, country in sorted(geometry.countries.items()):
        row = by_code.get(code, {})
        properties: dict[str, Any] = {"iso_a2": code, "name": country.name}
        for p in ORIGIN_PROPERTIES[2:len(ORIGIN_PROPERTIES) - len(WINDOW_PROPERTIES)]:
            default = None if p.name == "fraud_rate" else 0
            properties[p.name] = row.get(p.name, default)
        properties.update({p.name: window.get(p.name) for p in WINDOW_PROPERTIES})
        features.append({"type": "Feature", "id": code, "properties": properties,
                         "geometry": _multipolygon(geometry, code)})
    return feature_collection(features, "clearlane_origins")


def flows_collection(geometry: Geometry, rows: Sequence[Mapping[str, Any]],
                     window: Mapping[str, Any]) -> dict[str, Any]:
    """One LineString per route of ``rows`` (dicts with ``origin``, ``departure`` and the
    counts of :data:`FLOW_PROPERTIES`) whose two countries are on the map, from the origin's
    representative point to the departure country's: a straight segment in longitude/latitude
    between two points of [-180, 180], so it never crosses the antimeridian (RFC 7946)."""
    features = []
    for row in rows:
        origin, departure = row["origin"], row["departure"]
        if origin not in geometry.countries or departure not in geometry.countries:
            continue
        start = geometry.countries[origin].anchor
        end = geometry.countries[departure].anchor
        properties: dict[str, Any] = {
            "origin": origin, "origin_name": geometry.countries[origin].name,
            "departure": departure, "departure_name": geometry.countries[departure].name,
            "declarations": row["declarations"], "items": row["items"],
            "customs_value": row["customs_value"]}
        properties.update({p.name: window.get(p.name) for p in WINDOW_PROPERTIES})
        features.append({"type": "Feature", "id": f"{origin}-{departure}",
                         "properties": properties,
                         "geometry": {"type": "LineString",
                                      "coordinates": [[round(start[0], 4), round(start[1], 4)],
                                                      [round(end[0], 4), round(end[1], 4)]]}})
    return feature_collection(features, "clearlane_flows")
