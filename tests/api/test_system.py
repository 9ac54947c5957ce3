"""Health, readiness, the OpenAPI document and the docs page, over real HTTP."""

from __future__ import annotations

from tests.api.conftest import Server


def test_health_and_ready_answer_without_credentials(server: Server) -> None:
    with server.client() as http:
        assert http.get("/health").json()["status"] == "ok"
        ready = http.get("/ready").json()
    assert ready["status"] == "ready"
    assert ready["declarations"] == 0
    assert ready["schema_version"] >= 20


def test_openapi_is_3_1_and_states_every_operations_permission(server: Server) -> None:
    with server.client() as http:
        document = http.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert operations
    assert all("x-permission" in op for op in operations)


def test_unknown_route_is_a_problem_document(server: Server) -> None:
    with server.client() as http:
        response = http.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404 and body["type"].startswith("urn:clearlane:problem:")
    assert body["instance"] == "/api/v1/no-such-thing"


def test_each_start_and_stop_is_audited_with_the_settings_but_no_secret(server: Server) -> None:
    with server.client("auditor") as http:
        entries = http.get("/api/v1/audit/log").json()
    start = next(e for e in entries if e["action"] == "server.start")
    assert start["object_type"] == "server" and start["actor"]
    assert '"login_max_failures":3' in start["change"]
    assert "secret" not in start["change"] and "t" * 40 not in start["change"]
