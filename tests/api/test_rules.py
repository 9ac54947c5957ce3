"""Stored rule sets and rule versions over real HTTP."""

from __future__ import annotations

from tests.api.conftest import Server
from tests.api.reads_fixtures import RULES, trained_server

from clearlane.rules import load_rules

__all__ = ["trained_server"]


def test_rules_used_by_a_selection_are_listed_with_their_hits(trained_server: Server) -> None:
    rules = load_rules(RULES)
    with trained_server.client("auditor") as http:
        body = http.get("/api/v1/rules").json()
    assert [(s["profile"], s["fingerprint"], s["selections"]) for s in body["rule_sets"]] == [
        (rules.name, rules.fingerprint(), 1)]
    assert {(r["rule_id"], r["version"]) for r in body["rules"]} == {
        (rule.id, rule.version) for rule in rules}
    stored = trained_server.workspace.query(
        "SELECT rule_id, count(*) AS n FROM rule_hits GROUP BY rule_id")
    hits = dict(stored.iter_rows())
    assert {r["rule_id"]: r["hits"] for r in body["rules"] if r["hits"]} == hits
    first = body["rules"][0]
    assert first["definition"]["lane"] in ("red", "yellow", "blue", "green")


def test_no_rules_before_a_selection_with_rules(server: Server) -> None:
    with server.client("analyst") as http:
        assert http.get("/api/v1/rules").json() == {"rule_sets": [], "rules": []}
        with server.client("officer") as officer:
            assert officer.get("/api/v1/rules").status_code == 403
