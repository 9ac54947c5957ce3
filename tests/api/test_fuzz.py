"""Property-based fuzzing of every operation of the live OpenAPI document with schemathesis,
against a real uvicorn server on localhost, as an admin (so that calls get past 401/403).

Checks: no 5xx, and every response conforms to the document (a documented status code, its
content type, its schema). Valid inputs (positive) and invalid ones (negative) are generated
for every operation the server lists, so routes added later are fuzzed without touching this
file. Bounded: ``EXAMPLES`` per operation and mode, no deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from fastapi import APIRouter
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.conftest import Server
from tests.api.guard_fixtures import (
    audit_environment,
    new_workspace,
    running,
    serving_fresh_workspace,
)

import clearlane.api.app as app_module
from clearlane.api.problems import PROBLEM_MEDIA_TYPE
from clearlane.api.security import AUTHENTICATED, allow

EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
OPENAPI = "/api/v1/openapi.json"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving_fresh_workspace(tmp_path_factory.mktemp("fuzz")) as server:
        yield server


@pytest.fixture(scope="module")
def schema(live: Server) -> Any:
    loaded = schemathesis.openapi.from_url(f"{live.url}{OPENAPI}", timeout=30)
    loaded.config.update(base_url=live.url)
    return loaded


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation: Any, mode: GenerationMode, url: str, token: str) -> list[str]:
    """Fuzz one operation; the failures found (empty when none)."""
    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck), derandomize=True,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
    def run(case: Any) -> None:
        case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {token}"},
                               checks=CHECKS, timeout=60)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        if mode == GenerationMode.NEGATIVE:
            return []  # no parameter and no body: nothing can be sent wrong
        raise
    except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure together
        return [f"{operation.method.upper()} {operation.path} ({mode}): "
                f"{type(exc).__name__}: {str(exc)[:3000]}"]
    return []


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_without_5xx_and_as_documented(
        live: Server, schema: Any, mode: GenerationMode) -> None:
    operations = _operations(schema)
    assert operations
    failures = [f for op in operations for f in _fuzz(op, mode, live.url, live.tokens["admin"])]
    assert not failures, "\n\n".join(failures[:10])
    with live.client("admin") as http:  # the server still answers, and its admin key works
        assert http.get("/api/v1/auth/me").status_code == 200


def test_every_error_response_is_documented_as_a_problem(live: Server) -> None:
    """Every 4xx/5xx of every operation is ``application/problem+json`` with a schema (so the
    fuzzing above validates error bodies too); operations that name a thing in their path
    document 404, and those with a body document 400."""
    with live.client() as http:
        document = http.get(OPENAPI).json()
    assert "ProblemDetails" in document["components"]["schemas"]
    wrong = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            name = f"{method.upper()} {path}"
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if status[0] not in "45":
                    continue
                content = response.get("content", {})
                if list(content) != [PROBLEM_MEDIA_TYPE] or "schema" not in content[
                        PROBLEM_MEDIA_TYPE]:
                    wrong.append(f"{name} {status}: {content}")
            if "{" in path and "404" not in responses:
                wrong.append(f"{name}: no 404")
            if "requestBody" in operation and "400" not in responses:
                wrong.append(f"{name}: no 400")
    assert not wrong, "error responses not documented as problems: " + "; ".join(wrong)


def test_a_malformed_body_is_a_problem_naming_the_body(live: Server) -> None:
    with live.client("admin") as http:
        response = http.post("/api/v1/keys", content=b"\xff\xfe{",
                             headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert response.json()["errors"][0]["field"].startswith("body")


def test_a_bug_is_a_500_problem_that_names_no_internals(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the fuzzing must never find still gets an answer: a 500 problem (not a dropped
    connection), with nothing of the exception in it, and the server goes on serving."""

    def broken() -> None:
        raise RuntimeError("internal detail /srv/clearlane/secret.pem")

    async def broken_async() -> None:
        raise KeyError("internal detail")

    router = APIRouter(prefix="/api/v1/broken", dependencies=[allow(AUTHENTICATED)])
    router.add_api_route("/sync", broken, methods=["GET"])
    router.add_api_route("/async", broken_async, methods=["POST"])
    monkeypatch.setattr(app_module, "ROUTERS", (*app_module.ROUTERS, router))
    with audit_environment(tmp_path):
        workspace, tokens = new_workspace(tmp_path)
        with running(workspace, tokens) as server, server.client("auditor") as http:
            for method, path in (("GET", "/api/v1/broken/sync"),
                                 ("POST", "/api/v1/broken/async")):
                response = http.request(method, path)
                assert response.status_code == 500
                assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
                body = response.json()
                assert body["type"] == "urn:clearlane:problem:internal"
                assert "internal detail" not in response.text
            assert http.get("/api/v1/auth/me").status_code == 200
