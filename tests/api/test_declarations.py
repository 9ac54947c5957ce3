"""Declarations over real HTTP: paging, filters, office scope, the audited detail read."""

from __future__ import annotations

from typing import Any

import httpx
from tests.api.conftest import OFFICE, Server
from tests.api.reads_fixtures import OTHER_OFFICE, key_actors, trained_server

__all__ = ["trained_server"]


def _all_pages(http: httpx.Client, limit: int, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = http.get("/api/v1/declarations", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body["next"]
        if cursor is None:
            return items


def _stored_ids(server: Server, where: str = "TRUE") -> set[str]:
    frame = server.workspace.query(
        f"SELECT DISTINCT declaration_id FROM declarations WHERE {where}")
    return set(frame["declaration_id"].to_list())


def test_pages_cover_every_declaration_once_in_a_stable_order(trained_server: Server) -> None:
    with trained_server.client("analyst") as http:
        small = _all_pages(http, 97)
        large = _all_pages(http, 1000)
    ids = [i["declaration_id"] for i in small]
    assert ids == [i["declaration_id"] for i in large]
    assert len(ids) == len(set(ids)) == len(_stored_ids(trained_server))
    keys = [(i["declared_at"], i["declaration_id"]) for i in small]
    assert keys == sorted(keys)


def test_list_carries_the_latest_risk_and_lane(trained_server: Server) -> None:
    with trained_server.client("analyst") as http:
        items = http.get("/api/v1/declarations", params={"limit": 50}).json()["items"]
    assert all(0 <= i["fraud_probability"] <= 1 for i in items)
    assert all(i["assessed_items"] == i["items"] for i in items)
    assert all(i["lane"] in ("red", "yellow", "blue", "green") for i in items)


def test_filters_lane_office_and_hs_prefix(trained_server: Server) -> None:
    with trained_server.client("analyst") as http:
        red = _all_pages(http, 1000, lane="red")
        port = _all_pages(http, 1000, office_id=OTHER_OFFICE, hs_code="6")
        first_day = http.get("/api/v1/declarations", params={"limit": 1}).json()["items"][0]
        day = _all_pages(http, 1000, date_from=first_day["declared_at"],
                         date_to=first_day["declared_at"])
    assert red and all(i["lane"] == "red" for i in red)
    assert {i["office_id"] for i in port} == {OTHER_OFFICE}
    assert {i["declaration_id"] for i in port} == _stored_ids(
        trained_server, f"office_id = '{OTHER_OFFICE}' AND starts_with(hs_code, '6')")
    assert {i["declared_at"] for i in day} == {first_day["declared_at"]}


def test_an_officer_lists_only_their_offices(trained_server: Server) -> None:
    with trained_server.client("officer") as http:
        items = _all_pages(http, 1000)
        other = http.get("/api/v1/declarations",
                         params={"office_id": OTHER_OFFICE}).json()["items"]
    assert {i["office_id"] for i in items} == {OFFICE}
    assert {i["declaration_id"] for i in items} == _stored_ids(
        trained_server, f"office_id = '{OFFICE}'")
    assert other == []


def test_detail_has_items_with_assessments_and_lanes(trained_server: Server) -> None:
    declaration = _stored_ids(trained_server, "item_no = 2").pop()
    with trained_server.client("auditor") as http:
        response = http.get(f"/api/v1/declarations/{declaration}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["declaration_id"] == declaration
    assert [i["item_no"] for i in body["items"]] == sorted(i["item_no"] for i in body["items"])
    item = body["items"][0]
    assert item["fields"]["declaration_id"] == declaration and "batch_id" not in item["fields"]
    assessment = item["assessment"]
    assert assessment["model_version"].startswith("fraud")
    assert {s["name"] for s in assessment["scorers"]} >= {"fraud", "anomaly"}
    assert item["lane"]["lane"] in ("red", "yellow", "blue", "green")
    assert body["lane"] == item["lane"]["lane"] or len(body["items"]) > 1


def test_every_detail_read_is_one_audit_entry_naming_the_caller(trained_server: Server) -> None:
    declaration = _stored_ids(trained_server, f"office_id = '{OFFICE}'").pop()
    with trained_server.client("auditor") as auditor:
        before = auditor.get("/api/v1/audit/log", params={"limit": 1}).json()[-1]["sequence"]
        with trained_server.client("officer") as officer:
            for _ in range(2):
                assert officer.get(f"/api/v1/declarations/{declaration}").status_code == 200
        entries = [e for e in auditor.get("/api/v1/audit/log", params={"limit": 50}).json()
                   if e["sequence"] > before]
        assert auditor.get("/api/v1/audit/verify").json()["ok"]
    assert [(e["action"], e["object_id"]) for e in entries] == [
        ("declaration.read", declaration)] * 2
    assert all(e["actor"] in key_actors(trained_server, "officer") for e in entries)


def test_another_offices_declaration_is_not_found_like_a_missing_one(
        trained_server: Server) -> None:
    other = _stored_ids(trained_server, f"office_id = '{OTHER_OFFICE}'").pop()
    with trained_server.client("officer") as http:
        hidden = http.get(f"/api/v1/declarations/{other}")
        missing = http.get("/api/v1/declarations/NO-SUCH-DECLARATION")
    with trained_server.client("analyst") as http:
        seen = http.get(f"/api/v1/declarations/{other}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(other, "X") == \
        missing.json()["detail"].replace("NO-SUCH-DECLARATION", "X")
    assert seen.status_code == 200


def test_bad_paging_and_filters_are_problems_naming_the_field(trained_server: Server) -> None:
    with trained_server.client("analyst") as http:
        cases = {
            "cursor": http.get("/api/v1/declarations", params={"cursor": "not-a-cursor"}),
            "limit": http.get("/api/v1/declarations", params={"limit": 1001}),
            "lane": http.get("/api/v1/declarations", params={"lane": "purple"}),
            "hs_code": http.get("/api/v1/declarations", params={"hs_code": "85x"}),
            "date_from": http.get("/api/v1/declarations",
                                  params={"date_from": "2024-02-01", "date_to": "2024-01-01"}),
        }
    for field, response in cases.items():
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]]


def test_reading_declarations_needs_credentials(trained_server: Server) -> None:
    with trained_server.client() as http:
        assert http.get("/api/v1/declarations").status_code == 401
