"""POST /api/v1/declarations:assess and :assess-batch against a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.api import conftest as api_conftest
from tests.api.conftest import OFFICE, Server, seed_accounts
from tests.api.live import client, live_server
from tests.api.lodge_fixtures import build_workspace, lodgement_items

from clearlane.api import create_app
from clearlane.services import accounts
from clearlane.store.workspace import Workspace

ASSESS = "/api/v1/declarations:assess"
BATCH = "/api/v1/declarations:assess-batch"
MAX_ITEMS = 5


@dataclass
class Trained:
    url: str
    workspace: Workspace
    tokens: dict[str, str]
    items: list[dict[str, Any]]

    def client(self, role: str) -> httpx.Client:
        return client(self.url, self.tokens[role])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """A server on a workspace with synthetic history and trained models; ``scoped`` is a
    system key bound to office OFFICE; at most MAX_ITEMS items per batch."""
    root = tmp_path_factory.mktemp("lodge-api")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLEARLANE_AUDIT_KEY", str(root / "audit.pem"))
        patch.setenv("CLEARLANE_AUDIT_CHECKPOINT_DIR", str(root))
        workspace, later = build_workspace(root, train=True)
        tokens = seed_accounts(workspace)
        tokens["scoped"] = accounts.create_key(workspace, "scoped", "system", [OFFICE],
                                               30).token
        settings = api_conftest.test_settings(workspace.path, max_batch_items=MAX_ITEMS)
        with live_server(create_app(settings)) as url:
            yield Trained(url, workspace, tokens, lodgement_items(later.head(60)))


def test_assess_returns_the_assessment_and_the_same_answer_twice(trained: Trained) -> None:
    item = trained.items[0]
    with trained.client("system") as http:
        first = http.post(ASSESS, json=item)
        again = http.post(ASSESS, json=item)
    assert first.status_code == 200, first.text
    body = first.json()
    assert 0.0 <= body["fraud_probability"] <= 1.0 and body["reasons"]
    assert body["declaration_id"] == item["declaration_id"]
    assert {s["name"] for s in body["scorers"]} == {"fraud", "anomaly", "hs_check",
                                                    "price_check", "rules"}
    assert body["lane"] is None and body["lane_note"]
    assert again.status_code == 200 and again.json() == body


def test_a_different_body_for_a_stored_key_is_409_naming_the_fields(trained: Trained) -> None:
    item = trained.items[1]
    with trained.client("system") as http:
        assert http.post(ASSESS, json=item).status_code == 200
        changed = http.post(ASSESS, json={**item, "net_mass_kg": 1.0})
        new_key = {**trained.items[2]}
        batch = http.post(BATCH, json={"items": [
            {"id": "a", "declaration": new_key}, {"id": "b", "declaration":
                                                  {**item, "hs_code": "010121"}}]})
    assert changed.status_code == 409
    assert changed.headers["content-type"].startswith("application/problem+json")
    assert "net_mass_kg" in changed.json()["detail"]
    assert batch.status_code == 409 and "hs_code" in batch.json()["detail"]
    # nothing of the refused batch was stored: its new item is still new
    with trained.client("system") as http:
        assert http.post(ASSESS, json=new_key).json()["assessed_at"] is not None


def test_invalid_items_are_422_naming_field_and_row(trained: Trained) -> None:
    good = trained.items[3]
    with trained.client("system") as http:
        single = http.post(ASSESS, json={**good, "customs_value": "-5"})
        batch = http.post(BATCH, json={"items": [
            {"id": "x1", "declaration": good},
            {"id": "x2", "declaration": {**trained.items[4], "declared_at": "06/12/2026",
                                         "fraud": True}}]})
    assert single.status_code == 422
    [problem] = single.json()["errors"]
    assert problem["field"] == "customs_value" and problem["value"] == "-5"
    assert problem["row"] == 0 and "≥ 0" in problem["reason"]
    assert batch.status_code == 422
    errors = {(e["row"], e["field"]) for e in batch.json()["errors"]}
    assert errors == {(1, "items[1].declaration.declared_at"),
                      (1, "items[1].declaration.fraud")}


def test_batch_answers_under_the_callers_ids(trained: Trained) -> None:
    items = trained.items[10:14]
    ids = ["z9", "a1", "m5", "c3"]
    with trained.client("system") as http:
        response = http.post(BATCH, json={"items": [
            {"id": i, "declaration": d} for i, d in zip(ids, items, strict=True)]})
    assert response.status_code == 200, response.text
    answers = response.json()["items"]
    assert [a["id"] for a in answers] == ids
    assert [a["assessment"]["declaration_id"] for a in answers] == [
        d["declaration_id"] for d in items]
    assert all(0.0 <= a["assessment"]["fraud_probability"] <= 1.0 for a in answers)


def test_more_items_than_the_limit_is_422(trained: Trained) -> None:
    items = [{"id": str(i), "declaration": d}
             for i, d in enumerate(trained.items[20:20 + MAX_ITEMS + 1])]
    with trained.client("system") as http:
        response = http.post(BATCH, json={"items": items})
        repeated = http.post(BATCH, json={"items": [items[0], items[0]]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items"
    assert repeated.status_code == 422 and repeated.json()["errors"][0]["field"] == "items[1].id"


def test_roles_and_offices(trained: Trained) -> None:
    ours = {**trained.items[30], "office_id": OFFICE}
    theirs = trained.items[31]
    assert theirs["office_id"] != OFFICE
    with trained.client("officer") as http:
        assert http.post(ASSESS, json=ours).status_code == 403  # officers do not lodge
    with client(trained.url) as anonymous:
        assert anonymous.post(ASSESS, json=ours).status_code == 401
    with trained.client("scoped") as http:
        refused = http.post(ASSESS, json=theirs)
        batch = http.post(BATCH, json={"items": [{"id": "1", "declaration": ours},
                                                 {"id": "2", "declaration": theirs}]})
        accepted = http.post(ASSESS, json=ours)
    assert refused.status_code == 403 and OFFICE in refused.json()["detail"]
    assert batch.status_code == 403
    assert accepted.status_code == 200, accepted.text


def test_no_model_reports_fraud_unavailable_and_answers_200(server: Server) -> None:
    item = {"declaration_id": "D1", "declared_at": "2024-05-02", "hs_code": "850440",
            "customs_value": 1200.5, "net_mass_kg": 10}
    with server.client("system") as http:
        response = http.post(ASSESS, json=item)
    assert response.status_code == 200, response.text
    body = response.json()
    fraud = next(s for s in body["scorers"] if s["name"] == "fraud")
    assert body["fraud_probability"] is None and fraud["status"] == "unavailable"
    assert "clearlane train" in fraud["message"]


def test_openapi_documents_the_lodgement_contract(trained: Trained) -> None:
    with client(trained.url) as http:
        spec = http.get("/api/v1/openapi.json").json()
    operation = spec["paths"][ASSESS]["post"]
    assert operation["x-permission"] == "declarations:assess"
    assert "409" in operation["responses"]
    declaration = spec["components"]["schemas"]["Declaration"]["properties"]
    assert "national currency" in declaration["customs_value"]["description"]
    assert "kg" in declaration["net_mass_kg"]["description"]


