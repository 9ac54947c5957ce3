"""HS suggest, check and search, and the price check, over real HTTP; problems (never a 500)
when the workspace has no classifier or no bands."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Server
from tests.api.reads_fixtures import trained_server

__all__ = ["trained_server"]


def _items(server: Server, n: int) -> list[dict[str, Any]]:
    frame = server.workspace.query(
        "SELECT declaration_id, item_no, declared_at, importer_id, hs_code, origin_country, "
        "quantity, quantity_unit, net_mass_kg, customs_value, tax_rate, goods_description "
        f"FROM declarations ORDER BY declared_at DESC, declaration_id LIMIT {n}")
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in frame.to_dicts()]


def test_suggest_ranks_codes_for_descriptions(trained_server: Server) -> None:
    texts = [i["goods_description"] for i in _items(trained_server, 3)]
    with trained_server.client("officer") as http:
        response = http.post("/api/v1/hs:suggest", json={"descriptions": texts, "k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [s["description"] for s in body] == texts
    for suggestion in body:
        assert len(suggestion["hs6"]) == 3 and all(len(c["code"]) == 6
                                                   for c in suggestion["hs6"])
        confidences = [c["confidence"] for c in suggestion["hs6"]]
        assert confidences == sorted(confidences, reverse=True)


def test_check_flags_a_wrong_chapter_more_than_the_declared_code(
        trained_server: Server) -> None:
    item = _items(trained_server, 1)[0]
    wrong = "010121" if not item["hs_code"].startswith("01") else "870323"
    pairs = [{"description": item["goods_description"], "hs_code": item["hs_code"],
              "declared_at": item["declared_at"]},
             {"description": item["goods_description"], "hs_code": wrong}]
    with trained_server.client("analyst") as http:
        body = http.post("/api/v1/hs:check", json={"items": pairs, "level": 2}).json()
        bad = http.post("/api/v1/hs:check", json={"items": [{**pairs[0], "hs_code": "99x"}]})
    assert body[1]["declared"] == wrong
    assert body[1]["p_wrong"] > body[0]["p_wrong"]
    assert body[1]["flagged"] == (body[1]["reason"] is not None)
    assert bad.status_code == 422
    assert [(e["field"], e["row"]) for e in bad.json()["errors"]] == [("items[0].hs_code", 0)]


def test_search_needs_no_model(server: Server) -> None:
    with server.client("officer") as http:
        hits = http.get("/api/v1/hs/search", params={"q": "mobile phone", "limit": 5}).json()
        blank = http.get("/api/v1/hs/search", params={"q": "   "})
    assert hits and len(hits) <= 5 and any(h["code"].startswith("8517") for h in hits)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "q"


def test_price_check_scores_given_declarations(trained_server: Server) -> None:
    items = [{k: v for k, v in i.items() if k != "goods_description"}
             for i in _items(trained_server, 5)]
    cheap = {**items[0], "declaration_id": "CHEAP", "customs_value": items[0]["customs_value"]
             / 50}
    with trained_server.client("analyst") as http:
        response = http.post("/api/v1/prices:check", json={"items": [*items, cheap]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bands_version"] == "v1"
    assert [i["declaration_id"] for i in body["items"]] == [
        *[i["declaration_id"] for i in items], "CHEAP"]
    scored = body["items"][0], body["items"][-1]
    assert scored[0]["price_score"] is not None
    assert scored[1]["price_score"] > scored[0]["price_score"]
    assert scored[1]["flagged"] and scored[1]["reasons"]


def test_price_check_input_is_validated(trained_server: Server) -> None:
    item = {k: v for k, v in _items(trained_server, 1)[0].items() if k != "goods_description"}
    with trained_server.client("analyst") as http:
        negative = http.post("/api/v1/prices:check",
                             json={"items": [{**item, "customs_value": -1}]})
        unknown = http.post("/api/v1/prices:check",
                            json={"items": [item], "bands_version": "v99"})
        ancient = http.post("/api/v1/prices:check",
                            json={"items": [{**item, "declared_at": "0001-01-01"}]})
    assert negative.status_code == 422
    assert negative.json()["errors"][0]["field"] == "items[0].customs_value"
    assert unknown.status_code == 404 and "v99" in unknown.json()["detail"]
    assert ancient.status_code == 422
    assert ancient.json()["errors"][0]["field"] == "items[0].declared_at"


def test_without_classifier_or_bands_the_problem_names_the_command(server: Server) -> None:
    with server.client("analyst") as http:
        suggest = http.post("/api/v1/hs:suggest", json={"descriptions": ["cotton shirts"]})
        check = http.post("/api/v1/hs:check", json={"items": [
            {"description": "cotton shirts", "hs_code": "620520"}]})
        prices = http.post("/api/v1/prices:check", json={"items": [{
            "declared_at": "2024-01-01", "hs_code": "620520", "origin_country": "CN",
            "customs_value": 100.0, "net_mass_kg": 2.0}]})
    for response in (suggest, check):
        assert response.status_code == 404 and "clearlane hs train" in response.json()["detail"]
    assert prices.status_code == 404
    assert "clearlane valuation build" in prices.json()["detail"]
