"""Registered models over real HTTP."""

from __future__ import annotations

from tests.api.conftest import Server
from tests.api.reads_fixtures import trained_server

__all__ = ["trained_server"]


def test_models_list_every_kind_with_windows_and_metrics(trained_server: Server) -> None:
    with trained_server.client("auditor") as http:
        models = http.get("/api/v1/models").json()
        fraud = http.get("/api/v1/models", params={"kind": "fraud"}).json()
    assert {m["kind"] for m in models} >= {"fraud", "anomaly", "hs", "bands"}
    assert [m["version"] for m in models] == [m["version"] for m in sorted(
        models, key=lambda m: m["created_at"], reverse=True)]
    assert len(fraud) == 1 and fraud[0]["status"] == "promoted"
    assert fraud[0]["train_from"] <= fraud[0]["train_to"]
    assert 0.0 <= fraud[0]["metrics"]["val_auc"] <= 1.0


def test_one_model_shows_its_provenance(trained_server: Server) -> None:
    with trained_server.client("analyst") as http:
        version = http.get("/api/v1/models", params={"kind": "fraud"}).json()[0]["version"]
        detail = http.get(f"/api/v1/models/{version}").json()
    stored = trained_server.workspace.query(
        "SELECT artifact_sha256, n_rows FROM models WHERE version = ?", [version]).row(0)
    assert (detail["artifact_sha256"], detail["n_rows"]) == stored
    assert detail["features"] and detail["params"]["seed"] == 1
    assert "artifact_path" not in detail


def test_unknown_model_and_kind_are_problems(trained_server: Server) -> None:
    with trained_server.client("analyst") as http:
        missing = http.get("/api/v1/models/fraud-19990101")
        kind = http.get("/api/v1/models", params={"kind": "magic"})
    assert missing.status_code == 404 and "no model" in missing.json()["detail"]
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "kind"


def test_models_need_reports_read(trained_server: Server) -> None:
    with trained_server.client("officer") as http:
        assert http.get("/api/v1/models").status_code == 403


def test_a_workspace_without_models_lists_none(server: Server) -> None:
    with server.client("analyst") as http:
        assert http.get("/api/v1/models").json() == []
