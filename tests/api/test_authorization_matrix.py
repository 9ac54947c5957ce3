"""Every route × every role and anonymous, over HTTP, against the one permission table.

The operations come from the live server's OpenAPI document, so a route added later is in the
matrix without touching this file: its ``x-permission`` (written by ``guard_routes`` from the
route's ``Allow``) says what it needs, ``ROLE_PERMISSIONS`` says who has it, and a real request
with each role's API key (and with none) must be refused, or let through, accordingly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends
from tests.api.conftest import Server
from tests.api.guard_fixtures import (
    audit_environment,
    new_workspace,
    running,
    serving_fresh_workspace,
)
from tests.api.live import client

import clearlane.api.app as app_module
from clearlane.accounts.roles import PERMISSIONS, ROLE_PERMISSIONS, ROLES
from clearlane.api import create_app
from clearlane.api.security import AUTHENTICATED, PUBLIC, Caller, allow
from clearlane.settings import Settings

ANONYMOUS = "anonymous"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
PLACEHOLDER = "placeholder-0"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving_fresh_workspace(tmp_path_factory.mktemp("matrix")) as server:
        yield server


@pytest.fixture(scope="module")
def operations(live: Server) -> list[tuple[str, str, dict[str, Any]]]:
    with live.client() as http:
        document = http.get("/api/v1/openapi.json").json()
    found = [(method.upper(), path, op) for path, item in document["paths"].items()
             for method, op in item.items() if method in METHODS]
    assert found, "the OpenAPI document lists no operation"
    return found


def concrete(path: str) -> str:
    """The path with every parameter filled with a harmless placeholder."""
    return re.sub(r"\{[^}]+\}", PLACEHOLDER, path)


def expected(rule: str, who: str) -> str:
    """``401``, ``403`` or ``allowed`` for a caller ``who`` on a route with ``rule``."""
    if rule == PUBLIC:
        return "allowed"
    if who == ANONYMOUS:
        return "401"
    if rule == AUTHENTICATED or rule in ROLE_PERMISSIONS[who]:
        return "allowed"
    return "403"


def test_every_operation_states_a_known_permission(
        operations: list[tuple[str, str, dict[str, Any]]]) -> None:
    missing = [f"{m} {p}" for m, p, op in operations if "x-permission" not in op]
    assert not missing, f"operations without x-permission: {missing}"
    unknown = [f"{m} {p}: {op['x-permission']!r}" for m, p, op in operations
               if op["x-permission"] not in {*PERMISSIONS, PUBLIC, AUTHENTICATED}]
    assert not unknown, f"operations with an unknown x-permission: {unknown}"


@pytest.mark.parametrize("who", [*ROLES, ANONYMOUS])
def test_every_operation_refuses_or_admits_each_caller_as_the_table_says(
        who: str, live: Server, operations: list[tuple[str, str, dict[str, Any]]]) -> None:
    mismatches = []
    with live.client(None if who == ANONYMOUS else who) as http:
        for method, path, op in operations:
            rule = op.get("x-permission")
            assert rule is not None, f"{method} {path} has no x-permission"
            response = http.request(method, concrete(path))
            want = expected(rule, who)
            got = str(response.status_code)
            if want == "allowed" and got in ("401", "403"):
                mismatches.append(f"{method} {path} ({rule}): {got}, want it let through")
            elif want != "allowed" and got != want:
                mismatches.append(f"{method} {path} ({rule}): {got}, want {want}")
            if got in ("401", "403"):
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["status"] == response.status_code
            if got == "401":
                assert response.headers.get("www-authenticate", "").startswith("Bearer")
            assert response.status_code < 500, f"{method} {path}: {response.text}"
    assert not mismatches, f"{who}: " + "; ".join(mismatches)


def test_the_matrix_covers_each_rule_with_both_answers(
        operations: list[tuple[str, str, dict[str, Any]]]) -> None:
    """The checks above are not vacuous: some operation is refused to a role and some is
    let through to another, and some needs no credentials at all."""
    rules = {op["x-permission"] for _, _, op in operations}
    assert PUBLIC in rules
    assert any(r in ROLE_PERMISSIONS["admin"] and r not in ROLE_PERMISSIONS["officer"]
               for r in rules)


def test_a_permitted_caller_reaches_the_route_itself(live: Server) -> None:
    """With a real call, not a placeholder one: what admin may list, officer may not."""
    with live.client("admin") as admin, live.client("officer") as officer:
        users = admin.get("/api/v1/users")
        assert users.status_code == 200
        assert {u["name"] for u in users.json()} >= set(ROLES)
        assert officer.get("/api/v1/users").status_code == 403
    with client(live.url, "clk_00000000.not-a-real-secret-at-all-000000") as stranger:
        assert stranger.get("/api/v1/auth/me").status_code == 401


def _throwaway(path: str = "/thing", **route: Any) -> APIRouter:
    router = APIRouter(prefix="/api/v1/throwaway")
    router.add_api_route(path, lambda: {"ok": True}, methods=["GET"], **route)
    return router


def test_create_app_refuses_a_route_without_an_access_rule(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace, _ = new_workspace(tmp_path)
    settings = Settings(workspace=workspace.path)
    monkeypatch.setattr(app_module, "ROUTERS", (*app_module.ROUTERS, _throwaway()))
    with pytest.raises(RuntimeError, match=r"/api/v1/throwaway/thing states no access rule"):
        create_app(settings)


def test_create_app_accepts_the_same_route_with_one_and_documents_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal above is about the missing rule: an ``allow`` given as a route dependency,
    or nested in another dependency, is found, and becomes the operation's x-permission."""

    def nested(caller: Annotated[Caller, allow("audit:read")]) -> Caller:
        return caller

    workspace, _ = new_workspace(tmp_path)
    settings = Settings(workspace=workspace.path)
    routers = (_throwaway(dependencies=[allow("rules:publish")]),
               _throwaway("/nested", dependencies=[Depends(nested)]))
    monkeypatch.setattr(app_module, "ROUTERS", (*app_module.ROUTERS, *routers))
    app = create_app(settings)
    paths = app.openapi()["paths"]
    assert paths["/api/v1/throwaway/thing"]["get"]["x-permission"] == "rules:publish"
    assert paths["/api/v1/throwaway/nested"]["get"]["x-permission"] == "audit:read"


def test_with_several_rules_the_strictest_is_documented_and_two_permissions_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def route(caller: Annotated[Caller, allow(AUTHENTICATED)]) -> None:
        return None

    workspace, _ = new_workspace(tmp_path)
    settings = Settings(workspace=workspace.path)
    stricter = APIRouter(prefix="/api/v1/throwaway", dependencies=[allow("keys:manage")])
    stricter.add_api_route("/both", route, methods=["GET"])
    monkeypatch.setattr(app_module, "ROUTERS", (*app_module.ROUTERS, stricter))
    paths = create_app(settings).openapi()["paths"]
    assert paths["/api/v1/throwaway/both"]["get"]["x-permission"] == "keys:manage"

    two = _throwaway(dependencies=[allow("keys:manage"), allow("audit:read")])
    monkeypatch.setattr(app_module, "ROUTERS", (*app_module.ROUTERS, two))
    with pytest.raises(RuntimeError, match="several permissions"):
        create_app(settings)


def test_an_unknown_permission_is_refused_when_the_route_is_declared() -> None:
    with pytest.raises(Exception, match="unknown permission"):
        allow("declarations:destroy")


def test_a_throwaway_route_with_a_permission_is_enforced_over_http(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deny by default end to end: the rule stated on a new route is the one enforced."""
    with audit_environment(tmp_path):
        workspace, tokens = new_workspace(tmp_path)
        monkeypatch.setattr(app_module, "ROUTERS",
                            (*app_module.ROUTERS, _throwaway(dependencies=[allow("keys:manage")])))
        with running(workspace, tokens) as server:
            for who in (*ROLES, ANONYMOUS):
                with server.client(None if who == ANONYMOUS else who) as http:
                    response: httpx.Response = http.get("/api/v1/throwaway/thing")
                assert str(response.status_code) == {"allowed": "200"}.get(
                    expected("keys:manage", who), expected("keys:manage", who)), who
