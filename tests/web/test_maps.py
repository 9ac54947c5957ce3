"""The trade maps over HTTP and in a real browser: the choropleth and the routes drawn as
inline SVG (countries coloured for the synthetic origins), the GeoJSON downloads parsing with
the documented properties, and only the roles with `reports:read` let in."""

from __future__ import annotations

import json
import re
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.conftest import Server
from tests.web.conftest import signed_in
from tests.web.test_browser import sign_in

from clearlane.maps.antimeridian import signed_area
from clearlane.maps.geojson import FLOW_PROPERTIES, MEDIA_TYPE, ORIGIN_PROPERTIES
from clearlane.maps.geometry import load
from clearlane.services.maps import MapWindow
from clearlane.web.i18n import catalogue, languages
from clearlane.web.maps import LAYERS, _query, map_window
from clearlane.web.render import CONTENT_SECURITY_POLICY


def test_every_layer_has_its_texts_in_every_language() -> None:
    for lang in languages():
        keys = catalogue(lang).keys
        for layer in LAYERS.values():
            assert {layer.label, layer.explain} <= keys, (lang, layer.name)


def test_the_window_is_kept_in_links_safely() -> None:
    window = map_window("2024-01-01", "", "A&B 1")
    assert window == MapWindow(date(2024, 1, 1), None, "A&B 1")
    assert _query(window) == "?date_from=2024-01-01&office=A%26B+1"


def _origins_in_data(server: Server) -> dict[str, int]:
    frame = server.workspace.query(
        "SELECT origin_country AS c, count(*) AS n FROM declarations "
        "WHERE origin_country IS NOT NULL GROUP BY 1")
    return {row["c"]: row["n"] for row in frame.iter_rows(named=True)}


@pytest.fixture(scope="module")
def analyst(web_server: Server) -> httpx.Client:
    return signed_in(web_server, "analyst")


def test_the_map_page_draws_every_country_and_colours_the_origins(
        web_server: Server, analyst: httpx.Client) -> None:
    answer = analyst.get("/maps")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page = answer.text
    assert page.count('<path class="country') > 100
    coloured = set(re.findall(r'class="country has-data" data-code="([A-Z]{2})"', page))
    drawn = set(_origins_in_data(web_server)) & set(load().countries)
    assert coloured == drawn and len(coloured) >= 10
    assert " style=" not in page and "<script>" not in page  # the CSP allows neither
    assert 'id="origins-table"' in page and "(CN)" in page
    for layer in ("fraud_rate", "revenue_at_stake"):
        assert analyst.get(f"/maps?layer={layer}").status_code == 200
    partial = analyst.get("/maps?layer=fraud_rate", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and 'id="origins-map"' in partial.text


def test_the_routes_page_draws_lines_origin_to_departure(analyst: httpx.Client) -> None:
    answer = analyst.get("/maps/flows?date_from=2024-01-01&date_to=2024-12-31")
    assert answer.status_code == 200
    routes = re.findall(r'class="flow" data-route="([A-Z]{2})-([A-Z]{2})"', answer.text)
    assert routes and all(origin != departure for origin, departure in routes)
    assert 'id="flows-table"' in answer.text


def test_a_date_that_is_not_one_is_a_plain_error_page(analyst: httpx.Client) -> None:
    answer = analyst.get("/maps?date_from=yesterday")
    assert answer.status_code == 422
    assert "a date YYYY-MM-DD" in answer.text


def test_the_officer_may_not_open_the_maps(web_server: Server) -> None:
    officer = signed_in(web_server, "officer")
    assert officer.get("/maps").status_code == 403
    assert officer.get("/maps/origins.geojson").status_code == 403
    assert 'href="/maps"' not in officer.get("/queue").text  # nor see the menu entry
    with web_server.client("officer") as api:
        assert api.get("/api/v1/maps/origins").status_code == 403
        assert api.get("/api/v1/maps/flows").status_code == 403
    anonymous = httpx.get(f"{web_server.url}/maps", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def _check_origins(collection: dict[str, Any], server: Server) -> None:
    assert collection["type"] == "FeatureCollection"
    names = [p.name for p in ORIGIN_PROPERTIES]
    items = {}
    for feature in collection["features"]:
        assert feature["type"] == "Feature" and sorted(feature["properties"]) == sorted(names)
        assert feature["geometry"]["type"] == "MultiPolygon"
        for polygon in feature["geometry"]["coordinates"]:
            for index, ring in enumerate(polygon):
                assert ring[0] == ring[-1] and len(ring) >= 4
                assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring)
                assert all(abs(b[0] - a[0]) <= 180 for a, b in pairwise(ring))
                assert (signed_area([tuple(p) for p in ring]) > 0) == (index == 0)
        properties = feature["properties"]
        if properties["items"]:
            items[properties["iso_a2"]] = properties["items"]
        if properties["inspected"]:
            assert properties["fraud_rate"] == properties["frauds"] / properties["inspected"]
        else:
            assert properties["fraud_rate"] is None
    in_data = _origins_in_data(server)
    assert items == {c: n for c, n in in_data.items() if c in load().countries}


def test_the_origins_download_parses_with_the_documented_properties(
        web_server: Server, analyst: httpx.Client) -> None:
    answer = analyst.get("/maps/origins.geojson")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(MEDIA_TYPE)
    assert "attachment" in answer.headers["content-disposition"]
    _check_origins(answer.json(), web_server)
    with web_server.client("analyst") as api:
        from_api = api.get("/api/v1/maps/origins")
    assert from_api.headers["content-type"].startswith(MEDIA_TYPE)
    assert from_api.json() == answer.json()


def test_the_flows_download_parses_with_the_documented_properties(web_server: Server) -> None:
    with web_server.client("auditor") as api:
        answer = api.get("/api/v1/maps/flows", params={"date_from": "2024-01-01"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(MEDIA_TYPE)
    features = answer.json()["features"]
    assert features
    names = sorted(p.name for p in FLOW_PROPERTIES)
    for feature in features:
        properties = feature["properties"]
        assert sorted(properties) == names and properties["date_from"] == "2024-01-01"
        assert properties["origin"] != properties["departure"]
        start, end = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "LineString"
        assert list(load().countries[properties["origin"]].anchor) == pytest.approx(start,
                                                                                    abs=1e-3)
        assert list(load().countries[properties["departure"]].anchor) == pytest.approx(
            end, abs=1e-3)
    total = web_server.workspace.query(
        "SELECT sum(customs_value) AS v FROM declarations WHERE origin_country <> "
        "departure_country").row(0)[0]
    assert sum(f["properties"]["customs_value"] for f in features) == pytest.approx(total)


def test_the_map_in_the_browser(page: Any, web_server: Server, tmp_path: Path) -> None:
    sign_in(page, "analyst")
    page.wait_for_url("**/home")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Maps").click()
    page.wait_for_url("**/maps")
    countries = page.locator("svg#origins-map path.country")
    assert countries.count() > 100
    coloured = page.locator("svg#origins-map path.has-data")
    assert coloured.count() >= 10
    fills = {coloured.nth(i).get_attribute("fill") for i in range(coloured.count())}
    assert fills and not any(f.startswith("url(") for f in fills)
    box = page.locator("svg#origins-map").bounding_box()
    assert box is not None and box["width"] > 300  # drawn, not an empty element
    page.locator("select[name=layer]").select_option("fraud_rate")  # htmx redraws the map
    page.wait_for_url("**/maps?layer=fraud_rate*")
    assert "Fraud rate" in page.locator("#origins-map-title").text_content()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as GeoJSON (QGIS)").click()
    saved = tmp_path / "origins.geojson"
    download.value.save_as(saved)
    _check_origins(json.loads(saved.read_text(encoding="utf-8")), web_server)
    page.get_by_role("link", name="Routes").click()
    page.wait_for_url("**/maps/flows*")
    assert page.locator("svg#flows-map path.flow").count() > 0


def test_the_map_reads_with_javascript_off(browser: Any, web_server: Server) -> None:
    context = browser.new_context(base_url=web_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "auditor")
        page.wait_for_url("**/audit*")
        page.goto("/maps")
        page.locator("select[name=layer]").select_option("revenue_at_stake")
        page.get_by_role("button", name="Show").click()  # a plain GET form without htmx
        page.wait_for_url("**/maps?layer=revenue_at_stake*")
        assert page.locator("svg#origins-map path.country").count() > 100
        assert "Revenue at stake" in page.locator("#origins-map-title").text_content()
    finally:
        context.close()
