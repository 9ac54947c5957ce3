"""The rule set lifecycle over real HTTP: an analyst drafts and back-tests, only a role with
`rules:publish` publishes, never the one who drafted the version (four eyes: a second analyst or
the admin does), and the published version is on every assessment it touched."""

from __future__ import annotations

from typing import Any

import httpx
from tests.api.conftest import OFFICE, Server
from tests.api.live import client

SETS = "/api/v1/rule-sets"
ASSESS = "/api/v1/declarations:assess"

PROFILE = """profile: border
watchlists:
  watched: {kind: importers, values: [IMP_A]}
rules:
  - id: W1
    version: 1
    title: Watched importer
    justification: under investigation
    owner: risk-unit
    severity: critical
    lane: red
    mandatory: true
    when:
      - {field: importer_id, watchlist: watched}
  - id: V1
    version: 1
    title: Vehicles
    justification: high duty
    owner: risk-unit
    severity: medium
    lane: yellow
    when:
      - {field: hs_code, prefix: ["8703"]}
"""


def item(declaration_id: str, importer: str, hs_code: str) -> dict[str, Any]:
    return {"declaration_id": declaration_id, "declared_at": "2024-06-29", "office_id": OFFICE,
            "importer_id": importer, "hs_code": hs_code, "origin_country": "CN",
            "customs_value": 1000.0, "currency": "XOF"}


def second_analyst(server: Server) -> httpx.Client:
    """A client with a second analyst's API key (``analyst2-key``), made by the admin."""
    with server.client("admin") as admin:
        key = admin.post("/api/v1/keys", json={"name": "analyst2-key", "role": "analyst"})
        assert key.status_code == 201, key.text
    return client(server.url, key.json()["token"])


def test_publish_requires_the_permission_and_a_second_person(server: Server) -> None:
    with server.client("analyst") as analyst:
        drafted = analyst.post(SETS, json={"text": PROFILE})
        assert drafted.status_code == 201, drafted.text
        version = drafted.json()["version"]
        assert drafted.json()["status"] == "draft" and drafted.json()["label"] == "border v1"
        early = analyst.post(f"{SETS}/{version}:publish")
        assert early.status_code == 409 and "never back-tested" in early.json()["detail"]
        tested = analyst.post(f"{SETS}/{version}:backtest", json={"date_from": "2024-01-01"})
        assert tested.status_code == 200, tested.text
        assert tested.json()["backtest"]["date_from"] == "2024-01-01"
        # the drafter holds rules:publish, but may not publish their own version
        own = analyst.post(f"{SETS}/{version}:publish")
        assert own.status_code == 403, own.text
        assert own.headers["content-type"].startswith("application/problem+json")
        detail = own.json()["detail"]
        assert "border v1" in detail and "key:analyst-key" in detail
        assert "second person" in detail
        assert analyst.get(f"{SETS}/{version}").json()["status"] == "draft"
    with server.client("officer") as officer:
        assert officer.post(SETS, json={"text": PROFILE}).status_code == 403
        assert officer.get(SETS).status_code == 403
        assert officer.post(f"{SETS}/{version}:publish").status_code == 403
    with second_analyst(server) as colleague:
        done = colleague.post(f"{SETS}/{version}:publish")
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "published"
        again = colleague.post(f"{SETS}/{version}:publish")
        assert again.status_code == 409 and "only a draft" in again.json()["detail"]
        assert colleague.get(f"{SETS}/99").status_code == 404
    with server.client("auditor") as auditor:
        [listed] = auditor.get(SETS).json()
    assert listed["published_by"].startswith("key:analyst2-key")
    assert listed["created_by"].startswith("key:analyst-key")
    entries = server.workspace.query("SELECT action, actor FROM audit_log "
                                     "WHERE action LIKE 'rules.%' ORDER BY sequence")
    actions = [(action, actor.split("/")[0]) for action, actor in entries.iter_rows()]
    assert actions == [("rules.draft", "key:analyst-key"), ("rules.backtest", "key:analyst-key"),
                       ("rules.publish", "key:analyst2-key")]


def test_the_drafter_may_retire_and_an_admin_may_publish(server: Server) -> None:
    """Retiring has no four-eyes rule; the head of unit (admin) is a second person too."""
    with server.client("analyst") as analyst:
        first = analyst.post(SETS, json={"text": PROFILE}).json()["version"]
        assert analyst.post(f"{SETS}/{first}:retire").json()["status"] == "retired"
        changed = PROFILE.replace("version: 1\n    title: Vehicles",
                                  "version: 2\n    title: Cars")
        second = analyst.post(SETS, json={"text": changed}).json()["version"]
        analyst.post(f"{SETS}/{second}:backtest").raise_for_status()
    with server.client("admin") as admin:
        done = admin.post(f"{SETS}/{second}:publish")
    assert done.status_code == 200 and done.json()["published_by"].startswith("key:admin-key")


def test_bad_yaml_is_422_naming_line_and_field(server: Server) -> None:
    with server.client("analyst") as analyst:
        response = analyst.post(SETS, json={"text": PROFILE.replace("lane: yellow",
                                                                    "lane: amber")})
        assert analyst.get(SETS).json() == []
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["value"]) == ("lane", "amber")
    assert error["row"] == PROFILE.splitlines().index("    lane: yellow") + 1


def test_the_published_version_is_on_every_assessment_it_touched(server: Server) -> None:
    items = [item("L1", "IMP_A", "870321"), item("L2", "IMP_B", "870322"),
             item("L3", "IMP_B", "610462")]
    with server.client("analyst") as analyst:
        version = analyst.post(SETS, json={"text": PROFILE}).json()["version"]
        analyst.post(f"{SETS}/{version}:backtest")
    with server.client("admin") as admin:
        assert admin.post(f"{SETS}/{version}:publish").status_code == 200
    with server.client("system") as system:
        answers = [system.post(ASSESS, json=i).json() for i in items]
    assert [a["rule_hits"] for a in answers] == [["W1 v1", "V1 v1"], ["V1 v1"], []]
    assert {a["versions"]["rules"] for a in answers} == {"border v1"}
    assert answers[0]["lane"] == "red" and answers[0]["basis"] == "mandatory_rule"
    # a new version supersedes it: later answers carry the new one
    changed = PROFILE.replace("version: 1\n    title: Vehicles", "version: 2\n    title: Cars")
    with server.client("analyst") as analyst:
        second = analyst.post(SETS, json={"text": changed}).json()["version"]
        analyst.post(f"{SETS}/{second}:backtest")
    with server.client("admin") as admin:
        assert admin.post(f"{SETS}/{second}:publish").status_code == 200
    with server.client("system") as system:
        later = system.post(ASSESS, json=item("L4", "IMP_C", "870323")).json()
    assert later["rule_hits"] == ["V1 v2"] and later["versions"]["rules"] == "border v2"
    with server.client("auditor") as auditor:
        first = auditor.get(f"{SETS}/{version}").json()
        listed = {s["version"]: s for s in auditor.get(SETS).json()}
    assert first["status"] == "retired" and first["superseded_by"] == second
    assert (first["lodgements"], first["lodgement_hits"], first["assessments"]) == (3, 2, 3)
    assert {(u["rule_id"], u["lodgement_hits"]) for u in first["rule_uses"]} == {
        ("W1", 1), ("V1", 2)}
    assert first["text"] == PROFILE
    assert (listed[second]["status"], listed[second]["lodgements"]) == ("published", 1)
