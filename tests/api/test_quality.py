"""The data-quality report and the quarantine over real HTTP."""

from __future__ import annotations

from tests.api.conftest import Server
from tests.api.reads_fixtures import trained_server

__all__ = ["trained_server"]


def test_quality_report_as_json(trained_server: Server) -> None:
    with trained_server.client("auditor") as http:
        report = http.get("/api/v1/quality").json()
        latest = http.get("/api/v1/quality", params={"batch_id": "latest"}).json()
        missing = http.get("/api/v1/quality", params={"batch_id": "no-such-batch"})
    assert 0 <= report["score"]["overall"] <= 100
    assert report["rows"]["rejected"] == 1
    assert report["rows"]["accepted"] == trained_server.workspace.query(
        "SELECT count(*) FROM declarations").item()
    assert {f["name"] for f in report["fields"]} >= {"declaration_id", "customs_value"}
    assert latest["batch_id"] is not None
    assert missing.status_code == 404


def test_quarantine_names_field_and_reason_and_hides_from_officers(
        trained_server: Server) -> None:
    with trained_server.client("analyst") as http:
        items = http.get("/api/v1/quarantine").json()["items"]
        too_many = http.get("/api/v1/quarantine", params={"limit": 5000})
    with trained_server.client("officer") as http:
        scoped = http.get("/api/v1/quarantine").json()["items"]
    assert [i["field"] for i in items] == ["customs_value"]
    assert items[0]["value"].startswith("-5")
    assert too_many.status_code == 422
    assert scoped == []


def test_quality_of_an_empty_workspace_counts_nothing(server: Server) -> None:
    with server.client("analyst") as http:
        report = http.get("/api/v1/quality").json()
        latest = http.get("/api/v1/quality", params={"batch_id": "latest"})
    assert report["rows"]["read"] == 0 and report["batches"] == []
    assert latest.status_code == 404 and "ingest" in latest.json()["detail"]
