"""The rules lifecycle through the services: draft, back-test (numbers checked by hand),
publish, retire, immutability, one published set at a time, audit, and the consumers
(lodgement and a batch select without --rules) carrying the published versions."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from clearlane.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from clearlane.services import audit
from clearlane.services import rules_lifecycle as lifecycle
from clearlane.services.ingest import ingest_file
from clearlane.store.workspace import Workspace

NOW = datetime(2024, 6, 30, 12, 0)

PROFILE = """profile: hand
watchlists:
  watched: {kind: importers, values: [IMP_A, IMP_B]}
rules:
  - id: W1
    version: 1
    title: Watched importer
    justification: under investigation
    owner: risk-unit
    severity: high
    lane: red
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

# D1..D6: importer, HS code, inspected, fraud, revenue recovered
ROWS = [
    ("D1", "IMP_A", "870321", True, True, 100.0),
    ("D2", "IMP_A", "610462", True, False, None),
    ("D3", "IMP_B", "870322", False, None, None),
    ("D4", "IMP_B", "610462", True, True, 50.0),
    ("D5", "IMP_C", "870323", True, True, 30.0),
    ("D6", "IMP_C", "610462", True, False, None),
]
# a stored selection: D1 red by model, D2 green, D3 red at random, D5 yellow by model, D6 red
# by model; D4 never selected
LANES = [("D1", "red", "model"), ("D2", "green", "none"), ("D3", "red", "random"),
         ("D5", "yellow", "model"), ("D6", "red", "model")]


def history_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "declaration_id": [r[0] for r in ROWS], "item_no": [1] * len(ROWS),
        "declared_at": [date(2024, 3, 1 + i) for i in range(len(ROWS))],
        "office_id": ["ABJ01"] * len(ROWS), "importer_id": [r[1] for r in ROWS],
        "declarant_id": ["DEC1"] * len(ROWS), "hs_code": [r[2] for r in ROWS],
        "origin_country": ["CN"] * len(ROWS), "customs_value": [1000.0] * len(ROWS),
        "currency": ["XOF"] * len(ROWS),
        "inspected": [r[3] for r in ROWS],
        "fraud": pl.Series([r[4] for r in ROWS], dtype=pl.Boolean),
        "revenue_recovered": pl.Series([r[5] for r in ROWS], dtype=pl.Float64),
        "inspected_at": [date(2024, 3, 10) if r[3] else None for r in ROWS],
    })


@pytest.fixture
def stocked(workspace: Workspace, tmp_path: Path) -> Workspace:
    """The six declarations of ROWS and one stored selection holding LANES."""
    path = tmp_path / "history.parquet"
    history_frame().write_parquet(path)
    ingest_file(workspace, path, "canonical", today=NOW.date())
    with workspace.transaction() as con:
        con.execute("INSERT INTO selections (selection_id, created_at, seed, policy, units) "
                    "VALUES ('S1', ?, 0, '{}', 6)", [NOW])
        for declaration, lane, basis in LANES:
            con.execute("INSERT INTO lane_decisions (selection_id, declaration_id, item_no, "
                        "office_id, lane, basis, random_control, explored) "
                        "VALUES ('S1', ?, 1, 'ABJ01', ?, ?, ?, false)",
                        [declaration, lane, basis, basis == "random"])
    return workspace


def published(workspace: Workspace, text: str = PROFILE) -> lifecycle.RuleSetVersion:
    """``text`` drafted and back-tested by the analyst ana, published by a second analyst,
    ben (the four-eyes rule)."""
    with audit.acting_as("user:ana"):
        drafted = lifecycle.draft_rules(workspace, text)
        lifecycle.backtest_draft(workspace, drafted.version)
    with audit.acting_as("user:ben"):
        return lifecycle.publish_rules(workspace, drafted.version)


def test_backtest_matches_a_hand_computed_example(stocked: Workspace) -> None:
    drafted = lifecycle.draft_rules(stocked, PROFILE)
    result = lifecycle.backtest_draft(stocked, drafted.version).backtest
    assert result is not None and result["declarations"] == 6
    rules = {r["rule_id"]: r for r in result["rules"]}
    # W1 hits D1-D4: inspected D1 D2 D4, frauds D1 D4 (100 + 50); selected D1 D2 D3, by
    # model in red/yellow only D1
    w1 = rules["W1"]
    assert (w1["hits"], w1["inspected"], w1["frauds"], w1["revenue"]) == (4, 3, 2, 150.0)
    assert w1["hit_rate"] == pytest.approx(2 / 3)
    assert w1["hit_share"] == pytest.approx(4 / 6)
    assert (w1["in_selections"], w1["model_selected"]) == (3, 1)
    # V1 hits D1 D3 D5: inspected D1 D5, both frauds (100 + 30); selected all three, by
    # model D1 and D5
    v1 = rules["V1"]
    assert (v1["hits"], v1["inspected"], v1["frauds"], v1["revenue"]) == (3, 2, 2, 130.0)
    assert v1["hit_rate"] == 1.0
    assert (v1["in_selections"], v1["model_selected"]) == (3, 2)
    # any rule: D1-D5 once each; inspected D1 D2 D4 D5, frauds D1 D4 D5
    assert result["totals"] == {
        "hits": 5, "hit_share": pytest.approx(5 / 6), "inspected": 4, "frauds": 3,
        "hit_rate": 0.75, "revenue": 180.0, "in_selections": 4, "model_selected": 2}


def test_a_window_limits_the_backtest(stocked: Workspace) -> None:
    drafted = lifecycle.draft_rules(stocked, PROFILE)
    result = lifecycle.backtest_draft(stocked, drafted.version, date_from=date(2024, 3, 4),
                                      date_to=date(2024, 3, 5)).backtest
    assert result is not None and result["declarations"] == 2  # D4 and D5
    assert result["totals"]["hits"] == 2 and result["date_from"] == "2024-03-04"


def test_lifecycle_is_audited_with_the_acting_user(stocked: Workspace) -> None:
    with audit.acting_as("user:ana"):
        drafted = lifecycle.draft_rules(stocked, PROFILE)
        lifecycle.backtest_draft(stocked, drafted.version)
    with audit.acting_as("user:root"):
        done = lifecycle.publish_rules(stocked, drafted.version)
        retired = lifecycle.retire_rules(stocked, drafted.version)
    assert (done.created_by, done.backtested_by, done.published_by) == (
        "user:ana", "user:ana", "user:root")
    assert retired.status == "retired" and retired.retired_by == "user:root"
    entries = [(e.actor, e.action, e.object_id) for e in audit.log(stocked)
               if e.action.startswith("rules.")]
    assert entries == [("user:ana", "rules.draft", "1"), ("user:ana", "rules.backtest", "1"),
                       ("user:root", "rules.publish", "1"), ("user:root", "rules.retire", "1")]
    assert audit.verify_workspace(stocked).ok


def test_the_drafter_may_not_publish_a_second_person_does(stocked: Workspace) -> None:
    with audit.acting_as("user:ana"):
        drafted = lifecycle.draft_rules(stocked, PROFILE)
        lifecycle.backtest_draft(stocked, drafted.version)
        with pytest.raises(PermissionDeniedError) as refused:
            lifecycle.publish_rules(stocked, drafted.version)
    message = str(refused.value)
    assert "hand v1" in message and "user:ana" in message and "second person" in message
    # refused, nothing changed: still a draft, nothing published, no publish entry
    assert lifecycle.get_rule_set(stocked, drafted.version).status == "draft"
    assert lifecycle.published_marker(stocked) is None
    assert not [e for e in audit.log(stocked) if e.action == "rules.publish"]
    # an explicit actor is held to the same rule
    with pytest.raises(PermissionDeniedError, match="user:ana"):
        lifecycle.publish_rules(stocked, drafted.version, actor="user:ana")
    assert lifecycle.drafter_refusal(drafted, "user:ana") is not None
    assert lifecycle.drafter_refusal(drafted, "user:ben") is None
    with audit.acting_as("user:ben"):
        done = lifecycle.publish_rules(stocked, drafted.version)
    assert (done.status, done.created_by, done.published_by) == (
        "published", "user:ana", "user:ben")
    entries = [(e.actor, e.action) for e in audit.log(stocked) if e.action.startswith("rules.")]
    assert entries == [("user:ana", "rules.draft"), ("user:ana", "rules.backtest"),
                       ("user:ben", "rules.publish")]
    assert audit.verify_workspace(stocked).ok


def test_the_drafter_may_retire_their_version(workspace: Workspace) -> None:
    """Retiring has no four-eyes rule: it puts no rule in force."""
    first = published(workspace)
    with audit.acting_as("user:ana"):
        draft = lifecycle.draft_rules(workspace, PROFILE.replace(
            "version: 1\n    title: Vehicles", "version: 2\n    title: Cars"))
        assert lifecycle.retire_rules(workspace, draft.version).retired_by == "user:ana"
        assert lifecycle.retire_rules(workspace, first.version).status == "retired"
    assert lifecycle.published_marker(workspace) is None


def test_publish_needs_a_backtest(workspace: Workspace) -> None:
    drafted = lifecycle.draft_rules(workspace, PROFILE)
    with pytest.raises(ConflictError, match="never back-tested"):
        lifecycle.publish_rules(workspace, drafted.version)
    assert lifecycle.published_marker(workspace) is None


def test_published_and_retired_versions_are_immutable(workspace: Workspace) -> None:
    first = published(workspace)
    for action in (lifecycle.backtest_draft, lifecycle.publish_rules):
        with pytest.raises(ConflictError, match="only a draft"):
            action(workspace, first.version)
    with pytest.raises(ConflictError, match="already holds these rules"):
        lifecycle.draft_rules(workspace, PROFILE + "\n# same rules, another comment\n")
    changed = PROFILE.replace("version: 1\n    title: Vehicles", "version: 2\n    title: Cars")
    second = lifecycle.draft_rules(workspace, changed)
    assert second.version == first.version + 1 and second.status == "draft"
    lifecycle.retire_rules(workspace, first.version)
    with pytest.raises(ConflictError, match="already retired"):
        lifecycle.retire_rules(workspace, first.version)
    with pytest.raises(ConflictError, match="only a draft"):
        lifecycle.publish_rules(workspace, first.version)
    kept = lifecycle.get_rule_set(workspace, first.version)
    assert kept.text == PROFILE and kept.fingerprint == first.fingerprint
    assert kept.published_at == first.published_at


def test_one_published_set_at_a_time(workspace: Workspace) -> None:
    first = published(workspace)
    changed = PROFILE.replace("version: 1\n    title: Vehicles", "version: 2\n    title: Cars")
    second = published(workspace, changed)
    statuses = {v.version: v for v in lifecycle.list_rule_sets(workspace)}
    assert statuses[first.version].status == "retired"
    assert statuses[first.version].superseded_by == second.version
    assert statuses[second.version].status == "published"
    assert lifecycle.published_marker(workspace) == (second.version, f"hand v{second.version}")
    count = workspace.query("SELECT count(*) FROM rule_sets WHERE status = 'published'")
    assert count.item() == 1
    lifecycle.retire_rules(workspace, second.version)
    assert lifecycle.published_rule_set(workspace) is None


def test_bad_yaml_names_line_and_field(workspace: Workspace) -> None:
    bad = PROFILE.replace("lane: yellow", "lane: amber")
    line = bad.splitlines().index("    lane: amber") + 1
    with pytest.raises(ValidationError) as caught:
        lifecycle.draft_rules(workspace, bad)
    [problem] = caught.value.problems
    assert (problem.field, problem.value, problem.row) == ("lane", "amber", line)
    assert "red, yellow, blue, green" in problem.reason
    with pytest.raises(ValidationError) as caught:
        lifecycle.draft_rules(workspace, "profile: x\nrules: [\n")
    assert caught.value.problems[0].row is not None
    assert lifecycle.list_rule_sets(workspace) == []


def test_a_rule_changed_under_its_version_is_refused(workspace: Workspace) -> None:
    published(workspace)
    changed = PROFILE.replace('prefix: ["8703"]', 'prefix: ["8704"]')
    with pytest.raises(ConflictError, match=r"V1 v1 .*raise its version \(to v2\)"):
        lifecycle.draft_rules(workspace, changed)


def test_unknown_version_lists_the_stored_ones(workspace: Workspace) -> None:
    lifecycle.draft_rules(workspace, PROFILE)
    with pytest.raises(NotFoundError, match="stored versions: 1"):
        lifecycle.get_rule_set(workspace, 7)


def test_select_without_rules_runs_the_published_set(stocked: Workspace,
                                                      tmp_path: Path) -> None:
    from clearlane.services.selection import select_for_inspection

    rule_set = published(stocked)
    run = select_for_inspection(stocked, seed=1, checks=False, segment_signal=False)
    assert any(rule_set.label in note for note in run.notes)
    hits = stored_hits(stocked, run.selection_id)
    assert hits == {("D1", "W1", 1), ("D2", "W1", 1), ("D3", "W1", 1), ("D4", "W1", 1),
                    ("D1", "V1", 1), ("D3", "V1", 1), ("D5", "V1", 1)}
    link = stocked.query("SELECT selection_id, set_version FROM rule_set_selections")
    assert link.rows() == [(run.selection_id, rule_set.version)]
    # a file given with --rules still wins, and is not the published set
    other = tmp_path / "other.yaml"
    other.write_text(PROFILE.replace("profile: hand", "profile: other")
                     .replace("version: 1\n    title: Vehicles", "version: 5\n    title: Cars"))
    by_file = select_for_inspection(stocked, seed=1, checks=False, segment_signal=False,
                                    rules_path=other)
    assert {h[1:] for h in stored_hits(stocked, by_file.selection_id)} == {("W1", 1), ("V1", 5)}
    [entry] = lifecycle.rule_history(stocked)
    assert (entry.selections, entry.selection_items, entry.selection_hits) == (1, 6, 7)
    assert {(u.rule_id, u.selection_hits) for u in entry.rules} == {("W1", 4), ("V1", 3)}


def stored_hits(workspace: Workspace, selection_id: str) -> set[tuple[str, str, int]]:
    rows = workspace.query("SELECT declaration_id, rule_id, rule_version FROM rule_hits "
                           "WHERE selection_id = ?", [selection_id])
    return set(rows.iter_rows())


def test_lodgement_answers_carry_the_published_versions(workspace: Workspace) -> None:
    from clearlane.services.lodgement import assess_lodged

    items = [{"declaration_id": r[0], "declared_at": "2024-06-29", "office_id": "ABJ01",
              "importer_id": r[1], "hs_code": r[2], "origin_country": "CN",
              "customs_value": 1000.0, "currency": "XOF"} for r in ROWS]
    before = assess_lodged(workspace, items[:1], cache={}, now=NOW)[0].answer
    assert before["rule_hits"] == [] and before["versions"]["rules"] is None
    first = published(workspace)
    cache: dict[str, object] = {}
    answers = [r.answer for r in assess_lodged(workspace, items[1:4], cache=cache, now=NOW)]
    assert [a["rule_hits"] for a in answers] == [["W1 v1"], ["W1 v1", "V1 v1"], ["W1 v1"]]
    assert {a["versions"]["rules"] for a in answers} == {first.label}
    changed = PROFILE.replace("version: 1\n    title: Vehicles", "version: 2\n    title: Cars")
    second = published(workspace, changed)
    [later] = [r.answer for r in assess_lodged(workspace, items[4:5], cache=cache, now=NOW)]
    assert later["rule_hits"] == ["V1 v2"] and later["versions"]["rules"] == second.label
    history = {h.rule_set.version: h for h in lifecycle.rule_history(workspace)}
    assert (history[first.version].lodgements, history[first.version].lodgement_hits) == (3, 3)
    assert {(u.rule_id, u.version, u.lodgement_hits) for u in history[first.version].rules} == {
        ("W1", 1, 3), ("V1", 1, 1)}
    assert (history[second.version].lodgements, history[second.version].assessments) == (1, 1)
    assert {(r[0], r[1]) for r in workspace.query(
        "SELECT rule_id, version FROM rule_versions").iter_rows()} == {
        ("W1", 1), ("V1", 1), ("V1", 2)}


def test_a_lodgement_rules_file_is_no_longer_read(workspace: Workspace) -> None:
    from clearlane.services.lodgement import assess_lodged
    from clearlane.services.lodgement_scoring import RULES_FILE

    (workspace.path / RULES_FILE).write_text(PROFILE, encoding="utf-8")
    item = {"declaration_id": "D1", "declared_at": "2024-06-29", "office_id": "ABJ01",
            "importer_id": "IMP_A", "hs_code": "870321"}
    [answer] = [r.answer for r in assess_lodged(workspace, [item], cache={}, now=NOW)]
    rules = next(s for s in answer["scorers"] if s["name"] == "rules")
    assert answer["rule_hits"] == [] and rules["status"] == "unavailable"
    assert RULES_FILE in rules["message"] and "clearlane rules draft" in rules["message"]
