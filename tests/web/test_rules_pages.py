"""The rules editor over HTTP: the four-eyes rule as the pages show it. The analyst who
drafted a version sees Publish disabled with the reason, a forced request is refused with the
service's message, and a second analyst publishes it; the audit chain names both."""

from __future__ import annotations

import re

from tests.api.conftest import Server
from tests.web.conftest import SECOND_ANALYST, csrf_of, signed_in

from clearlane.cli.demo import EXAMPLE_RULES
from clearlane.services import rules_lifecycle


def test_the_drafter_may_not_publish_a_second_analyst_does(web_server: Server) -> None:
    drafter = signed_in(web_server, "analyst")
    token = csrf_of(drafter.get("/rules").text)
    saved = drafter.post("/rules", data={"csrf_token": token,
                                         "text": EXAMPLE_RULES.read_text(encoding="utf-8")})
    assert saved.status_code == 303, saved.text
    url = saved.headers["location"]
    version = int(url.rsplit("/", 1)[1])
    tested = drafter.post(f"{url}/backtest", data={"csrf_token": token})
    assert tested.status_code == 303, tested.text

    own = drafter.get(url).text
    assert re.search(r'<button type="button" class="primary" disabled[^>]*>Publish this version',
                     own)
    assert f'action="{url}/publish"' not in own
    assert "second person" in own and "user:analyst" in own
    forced = drafter.post(f"{url}/publish", data={"csrf_token": token})
    assert forced.status_code == 403
    label = rules_lifecycle.get_rule_set(web_server.workspace, version).label
    assert f"rule set {label} was drafted by user:analyst" in forced.text
    assert "second person" in forced.text
    assert rules_lifecycle.get_rule_set(web_server.workspace, version).status == "draft"

    colleague = signed_in(web_server, SECOND_ANALYST)
    theirs = colleague.get(url).text
    assert f'action="{url}/publish"' in theirs and 'id="four-eyes"' not in theirs
    done = colleague.post(f"{url}/publish", data={"csrf_token": csrf_of(theirs)})
    assert done.status_code == 303, done.text
    published = rules_lifecycle.get_rule_set(web_server.workspace, version)
    assert (published.status, published.created_by, published.published_by) == (
        "published", "user:analyst", f"user:{SECOND_ANALYST}")
    entries = web_server.workspace.query(
        "SELECT action, actor FROM audit_log WHERE action LIKE 'rules.%' AND object_id = ? "
        "ORDER BY sequence", [str(version)]).rows()
    assert [(a, actor.split("/")[0]) for a, actor in entries] == [
        ("rules.draft", "user:analyst"), ("rules.backtest", "user:analyst"),
        ("rules.publish", f"user:{SECOND_ANALYST}")]


def test_french_page_explains_the_four_eyes_rule(web_server: Server) -> None:
    drafter = signed_in(web_server, "analyst")
    token = csrf_of(drafter.get("/rules").text)
    text = """profile: quatre-yeux
rules:
  - id: FR1
    version: 1
    title: Vehicles
    justification: high duty
    owner: risk-unit
    severity: medium
    lane: yellow
    when:
      - {field: hs_code, prefix: ["8703"]}
"""
    saved = drafter.post("/rules", data={"csrf_token": token, "text": text})
    assert saved.status_code == 303, saved.text
    url = saved.headers["location"]
    assert drafter.post(f"{url}/backtest", data={"csrf_token": token}).status_code == 303
    french = drafter.get(f"{url}?lang=fr").text
    assert "règle des quatre yeux" in french and "Vous avez rédigé cette version" in french
