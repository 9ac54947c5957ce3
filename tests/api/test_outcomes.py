"""Outcomes recorded over real HTTP and the performance report against the random sample."""

from __future__ import annotations

from tests.api.conftest import OFFICE, Server
from tests.api.reads_fixtures import OTHER_OFFICE, key_actors, trained_server

__all__ = ["trained_server"]


def _decisions(server: Server, where: str) -> list[tuple[str, int]]:
    frame = server.workspace.query(
        "SELECT declaration_id, item_no FROM lane_decisions WHERE " + where
        + " ORDER BY declaration_id, item_no")
    return [(str(d), int(i)) for d, i in frame.iter_rows()]


def test_outcomes_recorded_over_http_count_in_the_performance_report(
        trained_server: Server) -> None:
    random_items = _decisions(trained_server, "random_control")[:6]
    red_items = _decisions(trained_server, "lane = 'red' AND NOT random_control")[:4]
    assert len(random_items) == 6 and len(red_items) == 4
    body = [{"declaration_id": d, "item_no": i, "fraud": n % 2 == 0,
             "revenue_recovered": 1000.0 if n % 2 == 0 else None, "inspected_at": "2024-02-01"}
            for n, (d, i) in enumerate(random_items + red_items)]
    with trained_server.client("analyst") as http:
        before = http.get("/api/v1/performance").json()
        recorded = http.post("/api/v1/outcomes", json=body)
        after = http.get("/api/v1/performance").json()
        again = http.post("/api/v1/outcomes", json=body[:2]).json()
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["recorded"] == 10 and recorded.json()["linked"] == 10
    assert recorded.json()["frauds"] == 5
    assert again["replaced"] == 2
    assert after["fraud_rate"]["n"] == before["fraud_rate"]["n"] + 6
    assert after["fraud_rate"]["frauds"] == before["fraud_rate"]["frauds"] + 3
    red_before = next(g for g in before["by_lane"] if g["group"] == "red")
    red_after = next(g for g in after["by_lane"] if g["group"] == "red")
    added_red = sum(1 for d, i in random_items + red_items
                    if (d, i) in set(_decisions(trained_server, "lane = 'red'")))
    assert red_after["inspected"] == red_before["inspected"] + added_red
    assert 0 <= after["fraud_rate"]["low"] <= after["fraud_rate"]["rate"] \
        <= after["fraud_rate"]["high"] <= 1
    stored = trained_server.workspace.query(
        "SELECT count(*) FROM declarations WHERE inspected AND inspected_at = DATE '2024-02-01'")
    assert stored.item() >= 10


def test_an_outcome_is_audited_as_recorded_by_the_caller(trained_server: Server) -> None:
    (declaration, item), = _decisions(trained_server, "lane = 'yellow'")[:1]
    with trained_server.client("system") as http:
        assert http.post("/api/v1/outcomes", json=[{
            "declaration_id": declaration, "item_no": item, "fraud": False}]).status_code == 200
    actor, action = trained_server.workspace.query(
        "SELECT actor, action FROM audit_log ORDER BY sequence DESC LIMIT 1").row(0)
    assert action == "outcome.record" and actor in key_actors(trained_server, "system")


def test_an_officer_records_only_for_their_offices(trained_server: Server) -> None:
    (mine, mine_item), = _decisions(trained_server, f"office_id = '{OFFICE}'")[:1]
    (other, other_item), = _decisions(trained_server, f"office_id = '{OTHER_OFFICE}'")[:1]
    with trained_server.client("officer") as http:
        ok = http.post("/api/v1/outcomes", json=[
            {"declaration_id": mine, "item_no": mine_item, "fraud": False}])
        refused = http.post("/api/v1/outcomes", json=[
            {"declaration_id": other, "item_no": other_item, "fraud": True}])
        report = http.get("/api/v1/performance")
    assert ok.status_code == 200, ok.text
    assert refused.status_code == 404 and "not in the workspace" in refused.json()["detail"]
    assert report.status_code == 403
    untouched = trained_server.workspace.query(
        "SELECT count(*) FROM outcomes WHERE declaration_id = ? AND item_no = ?",
        [other, other_item]).item()
    assert untouched == 0


def test_bad_outcomes_are_problems_naming_the_item_and_field(trained_server: Server) -> None:
    (declaration, item), = _decisions(trained_server, "TRUE")[:1]
    good = {"declaration_id": declaration, "item_no": item, "fraud": True}
    with trained_server.client("analyst") as http:
        revenue = http.post("/api/v1/outcomes", json=[
            good, {**good, "item_no": item + 100, "fraud": False, "revenue_recovered": 5.0}])
        missing = http.post("/api/v1/outcomes", json=[good, {"declaration_id": declaration}])
        twice = http.post("/api/v1/outcomes", json=[good, good])
        empty = http.post("/api/v1/outcomes", json=[])
        unknown = http.post("/api/v1/outcomes", json=[{**good, "declaration_id": "NOPE"}])
    assert revenue.status_code == 422
    assert [(e["field"], e["row"]) for e in revenue.json()["errors"]] == [
        ("revenue_recovered", 1)]
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["[1].fraud"]
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "declaration_id"
    assert empty.status_code == 422
    assert unknown.status_code == 404 and "NOPE" in unknown.json()["detail"]


def test_performance_parameters_are_bounded(trained_server: Server) -> None:
    with trained_server.client("auditor") as http:
        weekly = http.get("/api/v1/performance", params={"every": "1w"})
        bad = http.get("/api/v1/performance", params={"every": "1 month"})
        unknown = http.get("/api/v1/performance", params={"selection_id": "S-none"})
    assert weekly.status_code == 200 and len(weekly.json()["drift"]) >= 4
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "every"
    assert unknown.status_code == 404 and "clearlane select" in unknown.json()["detail"]


def test_performance_before_any_selection_names_the_command(server: Server) -> None:
    with server.client("analyst") as http:
        response = http.get("/api/v1/performance")
    assert response.status_code == 404
    assert "clearlane select" in response.json()["detail"]
