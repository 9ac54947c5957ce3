"""Cases over HTTP against a real server: many officers asking for "next" at once never get
the same alert; a case closed over the API is a label and counts in the performance report;
another office's alert is not found; a lock held by someone else is a named conflict;
attachments are type-checked and come back byte for byte."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.api.cases_fixtures import OFFICERS, OTHER_OFFICE, cases_server
from tests.api.conftest import OFFICE, Server
from tests.api.guard_fixtures import database

__all__ = ["cases_server"]

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _office_alerts(server: Server, office: str) -> int:
    with database(server.workspace) as con:
        row = con.execute("SELECT count(*) FROM alerts WHERE office_id = ? AND status <> "
                          "'closed'", [office]).fetchone()
    assert row is not None
    return int(row[0])


def test_many_officers_asking_at_once_never_get_the_same_alert(cases_server: Server) -> None:
    expected = _office_alerts(cases_server, OFFICE)
    assert expected >= 2 * OFFICERS  # enough alerts that every officer gets several
    start = threading.Barrier(OFFICERS)

    def drain(i: int) -> list[str]:
        got: list[str] = []
        with cases_server.client(f"officer{i}") as http:
            start.wait()
            while True:
                answer = http.post("/api/v1/cases:next", json={})
                if answer.status_code == 404:
                    return got
                assert answer.status_code == 200, answer.text
                body = answer.json()
                assert body["locked_by"] == f"officer{i}-key"
                assert body["office_id"] == OFFICE
                got.append(body["alert_id"])

    with ThreadPoolExecutor(OFFICERS) as pool:
        taken = [a for part in pool.map(drain, range(OFFICERS)) for a in part]
    assert len(taken) == len(set(taken)), "an alert was handed to two officers"
    assert len(taken) == expected  # every alert of the office handed out exactly once
    with database(cases_server.workspace) as con:
        locks = con.execute("SELECT count(*) FROM case_events WHERE kind = 'lock'").fetchone()
    assert locks is not None and locks[0] == expected


def test_a_case_closed_over_the_api_is_a_label_and_in_the_performance_report(
        cases_server: Server) -> None:
    with cases_server.client("admin") as admin:
        before = admin.get("/api/v1/performance").json()
    red_before = next(g for g in before["by_lane"] if g["group"] == "red")
    with cases_server.client("officer") as http:
        alert = http.post("/api/v1/cases:next", json={"lane": "red"}).json()
        closed = http.post(f"/api/v1/cases/{alert['alert_id']}:close", json={
            "fraud": True, "revenue_recovered": 1234.5, "finding": "undervalued invoice"})
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed"
        assert closed.json()["outcome"]["outcome"] == "fraud"
        again = http.post(f"/api/v1/cases/{alert['alert_id']}:close", json={"fraud": False})
        assert again.status_code == 409
    with database(cases_server.workspace) as con:
        label = con.execute(
            "SELECT fraud, revenue_recovered, officer_id, selection_id FROM outcomes "
            "WHERE declaration_id = ? AND item_no = ?",
            [alert["declaration_id"], alert["item_no"]]).fetchone()
        declared = con.execute(
            "SELECT inspected, fraud FROM declarations WHERE declaration_id = ? AND item_no = ?",
            [alert["declaration_id"], alert["item_no"]]).fetchone()
    assert label == (True, 1234.5, "officer-key", alert["source_id"])
    assert declared == (True, True)
    with cases_server.client("admin") as admin:
        after = admin.get("/api/v1/performance").json()
    red_after = next(g for g in after["by_lane"] if g["group"] == "red")
    assert red_after["inspected"] == red_before["inspected"] + 1
    assert red_after["frauds"] == red_before["frauds"] + 1
    assert red_after["revenue"] == red_before["revenue"] + 1234.5


def test_another_officers_lock_is_a_conflict_naming_them(cases_server: Server) -> None:
    with cases_server.client("officer0") as first, cases_server.client("officer1") as second:
        alert = first.post("/api/v1/cases:next", json={"lock_minutes": 10}).json()
        answer = second.post(f"/api/v1/cases/{alert['alert_id']}/comments",
                             json={"text": "mine?"})
        assert answer.status_code == 409
        assert "officer0-key" in answer.json()["detail"]
        assert first.post(f"/api/v1/cases/{alert['alert_id']}:release").status_code == 200
        ok = second.post(f"/api/v1/cases/{alert['alert_id']}/comments", json={"text": "mine"})
        assert ok.status_code == 201
        shown = second.get(f"/api/v1/cases/{alert['alert_id']}").json()
    assert [e["kind"] for e in shown["events"]] == ["open", "lock", "release", "comment"]


def test_another_offices_alert_is_not_found_and_the_queue_is_the_officers(
        cases_server: Server) -> None:
    with database(cases_server.workspace) as con:
        row = con.execute("SELECT alert_id FROM alerts WHERE office_id = ? LIMIT 1",
                          [OTHER_OFFICE]).fetchone()
    assert row is not None
    with cases_server.client("officer") as http:
        assert http.get(f"/api/v1/cases/{row[0]}").status_code == 404
        assert http.post(f"/api/v1/cases/{row[0]}:close", json={"fraud": False}
                         ).status_code == 404
        queue = http.get("/api/v1/cases", params={"sort": "waiting"}).json()
    assert queue and {a["office_id"] for a in queue} == {OFFICE}
    with cases_server.client("admin") as admin:
        everything = admin.get("/api/v1/cases", params={"limit": 1000}).json()
    assert {OFFICE, OTHER_OFFICE} <= {a["office_id"] for a in everything}


def test_snooze_refer_and_the_queue_filters(cases_server: Server) -> None:
    with cases_server.client("officer") as http:
        alert = http.post("/api/v1/cases:next", json={}).json()
        aid = alert["alert_id"]
        bad = http.post(f"/api/v1/cases/{aid}:snooze",
                        json={"until": "2000-01-01", "reason": "waiting for documents"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "until"
        snoozed = http.post(f"/api/v1/cases/{aid}:snooze",
                            json={"until": "2199-01-01", "reason": "waiting for documents"})
        assert snoozed.json()["status"] == "snoozed"
        active = {a["alert_id"] for a in http.get("/api/v1/cases").json()}
        asleep = {a["alert_id"] for a in http.get("/api/v1/cases",
                                                  params={"status": "snoozed"}).json()}
        assert aid not in active and aid in asleep
        referred = http.post(f"/api/v1/cases/{aid}:refer",
                             json={"office": OTHER_OFFICE, "reason": "goods cleared there"})
        assert referred.json()["office_id"] == OTHER_OFFICE
        assert referred.json()["referred_from"] == OFFICE
        assert http.get(f"/api/v1/cases/{aid}").status_code == 404  # no longer theirs
        by_revenue = http.get("/api/v1/cases", params={"sort": "revenue", "lane": "red"})
        assert by_revenue.status_code == 200
        assert all(a["lane"] == "red" for a in by_revenue.json())
        assert http.get("/api/v1/cases", params={"sort": "nope"}).status_code == 422


def test_attachments_are_type_checked_and_stored_by_sha256(cases_server: Server) -> None:
    digest = hashlib.sha256(PDF).hexdigest()
    with cases_server.client("officer") as http:
        aid = http.post("/api/v1/cases:next", json={}).json()["alert_id"]
        url = f"/api/v1/cases/{aid}/attachments"
        stored = http.post(url, params={"filename": "invoice.pdf"}, content=PDF,
                           headers={"Content-Type": "application/pdf"})
        assert stored.status_code == 201, stored.text
        body: dict[str, Any] = stored.json()
        assert (body["sha256"], body["media_type"], body["size"]) == (
            digest, "application/pdf", len(PDF))
        lying = http.post(url, params={"filename": "x.png"}, content=PDF,
                          headers={"Content-Type": "image/png"})
        assert lying.status_code == 422 and lying.json()["errors"][0]["field"] == "Content-Type"
        binary = http.post(url, params={"filename": "x.exe"}, content=b"MZ\x90\x00\x03",
                           headers={"Content-Type": "application/octet-stream"})
        assert binary.status_code == 422
        back = http.get(f"{url}/{digest}")
        assert back.status_code == 200 and back.content == PDF
        assert back.headers["content-type"] == "application/pdf"
    assert (cases_server.workspace.path / "attachments" / digest).read_bytes() == PDF
