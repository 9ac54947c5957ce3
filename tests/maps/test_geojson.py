"""The GeoJSON builders: every feature carries exactly the documented properties (and
docs/maps.md documents each of them), countries without data are there with zeros, routes
are straight segments between the two countries' points."""

from __future__ import annotations

import json
from pathlib import Path

from clearlane.maps.geojson import (
    FLOW_PROPERTIES,
    ORIGIN_PROPERTIES,
    flows_collection,
    origins_collection,
)
from clearlane.maps.geometry import load

DOC = Path(__file__).resolve().parents[2] / "docs" / "maps.md"
WINDOW = {"date_from": "2024-01-01", "date_to": "2024-01-31", "office": None}


def test_every_property_is_documented_in_maps_md() -> None:
    text = DOC.read_text(encoding="utf-8")
    for p in (*ORIGIN_PROPERTIES, *FLOW_PROPERTIES):
        assert f"| `{p.name}` | {p.unit} | {p.meaning} |" in text, p.name
    assert "EPSG:4326" in text and "Add Vector Layer" in text


def test_origins_have_every_country_and_the_documented_properties() -> None:
    geometry = load()
    row = {"iso_a2": "CN", "declarations": 3, "items": 4, "customs_value": 10.0,
           "inspected": 2, "frauds": 1, "fraud_rate": 0.5, "revenue_at_stake": 7.5,
           "assessed": 3, "revenue_recovered": 2.0}
    collection = json.loads(json.dumps(origins_collection(geometry, [row], WINDOW)))
    features = {f["id"]: f for f in collection["features"]}
    assert set(features) == set(geometry.countries)
    names = [p.name for p in ORIGIN_PROPERTIES]
    assert all(list(f["properties"]) == names for f in features.values())
    assert features["CN"]["properties"] == {**row, "name": geometry.countries["CN"].name,
                                            **WINDOW}
    assert features["FR"]["properties"]["declarations"] == 0
    assert features["FR"]["properties"]["fraud_rate"] is None


def test_routes_join_the_representative_points() -> None:
    geometry = load()
    rows = [{"origin": "CN", "departure": "AE", "declarations": 2, "items": 3,
             "customs_value": 9.0},
            {"origin": "CN", "departure": "ZZ", "declarations": 1, "items": 1,
             "customs_value": 1.0}]
    features = flows_collection(geometry, rows, WINDOW)["features"]
    assert [f["id"] for f in features] == ["CN-AE"]  # ZZ is not on the map
    assert list(features[0]["properties"]) == [p.name for p in FLOW_PROPERTIES]
    start, end = features[0]["geometry"]["coordinates"]
    assert start == [round(c, 4) for c in geometry.countries["CN"].anchor]
    assert end == [round(c, 4) for c in geometry.countries["AE"].anchor]
