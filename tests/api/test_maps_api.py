"""The maps' GeoJSON routes of the API alone (no web pages): geo+json answers, the window and
office parameters, problems for a bad window, refused to the officer."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from tests.api.conftest import Server

from clearlane.maps.geojson import MEDIA_TYPE

ROWS = [("D1", 1, date(2024, 3, 1), "ABJ01", "CN", "AE", 100.0, True, True),
        ("D2", 1, date(2024, 3, 9), "PORT02", "CN", "CN", 50.0, True, False),
        ("D3", 1, date(2024, 4, 2), "ABJ01", "FR", "BE", 70.0, None, None)]


def _seed(server: Server) -> None:
    with server.workspace.transaction() as con:
        for row in ROWS:
            con.execute("INSERT INTO declarations (declaration_id, item_no, declared_at, "
                        "office_id, hs_code, origin_country, departure_country, customs_value, "
                        "inspected, fraud, batch_id) VALUES (?, ?, ?, ?, '610910', ?, ?, ?, ?, "
                        "?, 'b')", list(row))


def test_geojson_of_a_window_and_an_office(server: Server) -> None:
    _seed(server)
    with server.client("analyst") as api:
        everything = api.get("/api/v1/maps/origins")
        march = api.get("/api/v1/maps/origins",
                        params={"date_from": "2024-03-01", "date_to": "2024-03-31"})
        abj = api.get("/api/v1/maps/flows", params={"office": "ABJ01"})
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith(MEDIA_TYPE)

    def props(answer: httpx.Response, code: str) -> dict[str, Any]:
        return next(f["properties"] for f in answer.json()["features"] if f["id"] == code)

    assert props(everything, "CN")["items"] == 2 and props(everything, "FR")["items"] == 1
    assert props(everything, "CN")["fraud_rate"] == 0.5
    assert props(march, "FR")["items"] == 0 and props(march, "FR")["fraud_rate"] is None
    assert props(march, "CN")["date_from"] == "2024-03-01"
    routes = [(f["properties"]["origin"], f["properties"]["departure"],
               f["properties"]["customs_value"]) for f in abj.json()["features"]]
    assert routes == [("CN", "AE", 100.0), ("FR", "BE", 70.0)]


def test_a_bad_window_is_a_problem(server: Server) -> None:
    with server.client("auditor") as api:
        reversed_window = api.get("/api/v1/maps/origins",
                                  params={"date_from": "2024-05-01", "date_to": "2024-04-01"})
        not_a_date = api.get("/api/v1/maps/flows", params={"date_from": "soon"})
    assert reversed_window.status_code == 422
    assert reversed_window.headers["content-type"].startswith("application/problem+json")
    assert not_a_date.status_code == 422


def test_the_officer_is_refused(server: Server) -> None:
    with server.client("officer") as api:
        answer = api.get("/api/v1/maps/origins")
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
