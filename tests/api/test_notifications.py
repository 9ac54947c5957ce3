"""Webhooks through the real server: with a webhook_url set, the server's dispatcher posts the
alerts a selection opened (at or over the minimum severity), each once and signed, and an item
lodged later in red is posted too; without one, no dispatcher runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import SecretStr
from tests.api.cases_fixtures import selected_workspace
from tests.api.guard_fixtures import audit_environment, database, running
from tests.api.notify_fixtures import lodge, webhook_receiver

from clearlane.cases.webhooks import alert_severity, at_least


def _severe_alerts(server_workspace: object) -> set[str]:
    with database(server_workspace) as con:  # type: ignore[arg-type]
        rows = con.execute("SELECT alert_id, lane, reasons FROM alerts").fetchall()
    return {a for a, lane, reasons in rows if at_least(alert_severity(lane, json.loads(reasons)),
                                                       "high")}


def test_the_server_posts_a_selections_alerts_once_each_and_a_later_red_lodgement(
        tmp_path: Path) -> None:
    with audit_environment(tmp_path), webhook_receiver() as receiver:
        workspace, tokens = selected_workspace(tmp_path)
        expected = _severe_alerts(workspace)
        assert expected
        with running(workspace, tokens, webhook_url=receiver.url,
                     webhook_secret=SecretStr(receiver.secret),
                     webhook_poll_seconds=0.2) as server:
            receiver.wait_for(len(expected))
            lodge(server.workspace, "LATE-RED", "red")  # as the lodgement route stores it
            receiver.wait_for(len(expected) + 1)
            time.sleep(1.0)  # several more passes: nothing is posted twice
            with server.client("auditor") as http:
                trail = http.get("/api/v1/audit/log", params={"limit": 500})
        got = list(receiver.received)
    ids = [r.headers["X-Clearlane-Delivery"] for r in got]
    assert len(ids) == len(set(ids)) == len(expected) + 1
    assert set(ids[:-1]) == expected
    assert all(r.signature_ok for r in got)
    late = json.loads(got[-1].body)["alert"]
    assert (late["declaration_id"], late["severity"]) == ("LATE-RED", "high")
    first = json.loads(got[0].body)["alert"]
    assert first["link"] == f"/api/v1/cases/{first['alert_id']}" and first["reasons"]
    with database(workspace) as con:
        delivered = con.execute("SELECT count(*) FROM webhook_deliveries WHERE status = "
                                "'delivered'").fetchone()
    assert delivered is not None and delivered[0] == len(ids)
    assert trail.status_code == 200
    assert receiver.secret not in trail.text and "server.start" in trail.text


def test_without_a_webhook_url_nothing_is_posted(tmp_path: Path) -> None:
    with audit_environment(tmp_path), webhook_receiver() as receiver:
        workspace, tokens = selected_workspace(tmp_path)
        with running(workspace, tokens) as server, server.client("officer") as http:
            assert http.get("/api/v1/cases").status_code == 200
            time.sleep(0.5)
    assert receiver.received == []
    with database(workspace) as con:
        outbox = con.execute("SELECT count(*) FROM webhook_outbox").fetchone()
    assert outbox == (0,)
