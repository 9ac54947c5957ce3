"""Lane overrides over HTTP against a real server: the permission selections:override, a
justification required, the override audited with its caller, and the declaration's alerts
following it (withdrawn out of red and yellow, opened into them, and then posted to the
webhook)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import SecretStr
from tests.api.cases_fixtures import cases_server, selected_workspace
from tests.api.conftest import OFFICE, Server
from tests.api.guard_fixtures import audit_environment, database, entries, running
from tests.api.notify_fixtures import webhook_receiver

__all__ = ["cases_server"]

WHY = "documents checked at the counter"


def _red_declaration(server: Server) -> tuple[str, set[str]]:
    with database(server.workspace) as con:
        row = con.execute("SELECT declaration_id FROM alerts WHERE lane = 'red' AND office_id = ? "
                          "GROUP BY 1 HAVING bool_and(status = 'open') ORDER BY 1 LIMIT 1",
                          [OFFICE]).fetchone()
        assert row is not None
        ids = {r[0] for r in con.execute("SELECT alert_id FROM alerts WHERE declaration_id = ?",
                                         [row[0]]).fetchall()}
    return str(row[0]), ids


def _green_declaration(server: Server) -> str:
    with database(server.workspace) as con:
        row = con.execute("SELECT declaration_id FROM lane_decisions d WHERE lane = 'green' AND "
                          "office_id = ? AND NOT EXISTS (SELECT 1 FROM alerts a WHERE "
                          "a.declaration_id = d.declaration_id) ORDER BY 1 LIMIT 1",
                          [OFFICE]).fetchone()
    assert row is not None
    return str(row[0])


def test_an_override_to_green_withdraws_the_alerts_and_is_audited(cases_server: Server) -> None:
    declaration, ids = _red_declaration(cases_server)
    with cases_server.client("analyst") as http:
        answer = http.post(f"/api/v1/declarations/{declaration}:override",
                           json={"to_lane": "green", "justification": WHY})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from_lane"], body["to_lane"], body["officer_id"]) == (
        "red", "green", "analyst-key")
    assert {a["alert_id"]: a["status"] for a in body["alerts"]} == dict.fromkeys(ids, "withdrawn")
    with cases_server.client("officer") as officer:
        queue = officer.get("/api/v1/cases", params={"limit": 1000}).json()
        assert not {a["alert_id"] for a in queue} & ids
        gone = officer.get("/api/v1/cases", params={"status": "withdrawn"}).json()
        assert {a["alert_id"] for a in gone} == ids
        case = officer.get(f"/api/v1/cases/{next(iter(ids))}").json()
        assert case["events"][-1]["kind"] == "withdraw"
        assert case["events"][-1]["detail"]["justification"] == WHY
        refused = officer.post(f"/api/v1/cases/{next(iter(ids))}/comments",
                               json={"text": "still there?"})
        assert refused.status_code == 409
    trail = entries(cases_server.workspace)
    recorded = [e for e in trail if e.action == "override.record" and e.object_id == declaration]
    assert len(recorded) == 1 and recorded[0].actor.startswith("key:analyst-key")
    change = json.loads(recorded[0].change)
    assert change["justification"] == WHY and set(change["alerts"]["withdrawn"]) == ids
    assert {e.object_id for e in trail if e.action == "case.withdraw"} == ids


def test_an_override_needs_a_justification_the_permission_and_a_known_declaration(
        cases_server: Server) -> None:
    declaration, _ = _red_declaration(cases_server)
    path = f"/api/v1/declarations/{declaration}:override"
    with cases_server.client("analyst") as http:
        for justification in (None, "", "   ", "too short"):
            body = {"to_lane": "green"} | ({} if justification is None
                                           else {"justification": justification})
            refused = http.post(path, json=body)
            assert refused.status_code == 422, (justification, refused.text)
            assert "justification" in refused.text
        assert http.post(path, json={"to_lane": "purple", "justification": WHY}
                         ).status_code == 422
        assert http.post(path, json={"to_lane": "red", "justification": WHY}
                         ).status_code == 422  # already red
        missing = http.post("/api/v1/declarations/NOPE-1:override",
                            json={"to_lane": "green", "justification": WHY})
        assert missing.status_code == 404
    with cases_server.client("officer") as officer:
        assert officer.post(path, json={"to_lane": "green", "justification": WHY}
                            ).status_code == 403
    with database(cases_server.workspace) as con:
        kept = con.execute("SELECT count(*) FROM lane_overrides").fetchone()
        open_alerts = con.execute("SELECT count(*) FROM alerts WHERE declaration_id = ? AND "
                                  "status = 'open'", [declaration]).fetchone()
    assert kept == (0,) and open_alerts is not None and open_alerts[0] >= 1


def test_an_override_into_red_opens_an_alert_that_is_posted_to_the_webhook(
        tmp_path: Path) -> None:
    with audit_environment(tmp_path), webhook_receiver() as receiver:
        workspace, tokens = selected_workspace(tmp_path)
        with running(workspace, tokens, webhook_url=receiver.url,
                     webhook_secret=SecretStr(receiver.secret),
                     webhook_poll_seconds=0.2) as server:
            green = _green_declaration(server)
            with server.client("analyst") as http:
                answer = http.post(f"/api/v1/declarations/{green}:override",
                                   json={"to_lane": "red", "justification": WHY})
            assert answer.status_code == 200, answer.text
            alerts = answer.json()["alerts"]
            assert alerts
            assert {(a["status"], a["lane"], a["source"]) for a in alerts} == {
                ("open", "red", "override")}
            wanted = {a["alert_id"] for a in alerts}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not wanted <= {
                    r.headers["X-Clearlane-Delivery"] for r in list(receiver.received)}:
                time.sleep(0.1)
    posted = [r for r in receiver.received if r.headers["X-Clearlane-Delivery"] in wanted]
    assert len(posted) == len(wanted)
    for delivery in posted:
        assert delivery.signature_ok
        sent = json.loads(delivery.body)["alert"]
        assert sent["declaration_id"] == green and sent["severity"] == "high"
        assert any(WHY in r["text"] for r in sent["reasons"])
