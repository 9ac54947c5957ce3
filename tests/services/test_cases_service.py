"""Case service: alerts opened once from red/yellow lanes, high-severity rule hits and
lodgement answers; next in priority order with locks that expire; office scope; snooze,
refer and close (the outcome recorded as a label the performance report counts); attachments
stored once per content; every change audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clearlane.accounts.roles import Principal
from clearlane.audit import read_entries
from clearlane.cases.alerts import CloseForm, effective_status
from clearlane.errors import ConflictError, NotFoundError, ValidationError
from clearlane.selection import SelectionPolicy
from clearlane.services import cases
from clearlane.services.ingest import ingest_file
from clearlane.services.outcomes import list_outcomes, performance_report
from clearlane.services.selection import select_for_inspection
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

RULES = """\
profile: t
rules:
  - {id: R9, version: 1, title: Cash, justification: No bank trail., owner: o,
     severity: high, lane: blue, when: [{field: extra.payment_type, in: [cash]}]}
"""
OFFICE = "PORT01"


@pytest.fixture
def selected(workspace: Workspace, tmp_path: Path) -> Workspace:
    data = generate(SynthConfig(n_items=1200, days=10, seed=7)).declarations
    path = tmp_path / "declarations.parquet"
    data.write_parquet(path)
    ingest_file(workspace, path, "canonical")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    select_for_inspection(workspace, policy=SelectionPolicy(red_rate=0.2, random_share=0.2),
                          seed=1, rules_path=rules)
    return workspace


def officer(name: str, *offices: str) -> Principal:
    return Principal(name, "officer", offices=frozenset(offices or (OFFICE,)))


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_selection_opens_one_alert_per_red_yellow_or_severe_rule_item(
        selected: Workspace) -> None:
    expected = selected.query(
        """SELECT count(*) FROM lane_decisions d WHERE d.lane IN ('red', 'yellow') OR EXISTS (
               SELECT 1 FROM rule_hits h WHERE h.declaration_id = d.declaration_id
               AND h.item_no = d.item_no)""").item()
    sources = dict(selected.query("SELECT source, count(*) FROM alerts GROUP BY 1").iter_rows())
    assert sum(sources.values()) == expected > 0
    assert sources.get("rule", 0) > 0  # blue lanes of the high-severity rule
    assert cases.sync_alerts(selected) == 0  # opened once
    reasons = selected.query("SELECT reasons FROM alerts WHERE source = 'rule' LIMIT 1").item()
    assert "R9" in reasons


def test_a_red_answer_at_lodgement_opens_an_alert(selected: Workspace) -> None:
    key = selected.query("SELECT declaration_id, item_no FROM declarations d WHERE NOT EXISTS "
                         "(SELECT 1 FROM alerts a WHERE a.declaration_id = d.declaration_id "
                         "AND a.item_no = d.item_no) LIMIT 1").row(0)
    answer = {"lane": "red", "expected_revenue": 900.0, "fraud_probability": 0.7,
              "reasons": [{"code": "X", "text": "lodged red", "weight": 1.0, "evidence": {}}]}
    with selected.transaction() as con:
        con.execute("INSERT INTO lodgements VALUES (?, ?, 'api-b1', ?, 'red', ?)",
                    [key[0], key[1], now(), json.dumps(answer)])
    assert cases.sync_alerts(selected) == 1
    row = selected.query("SELECT source, source_id, expected_revenue, reasons FROM alerts "
                         "WHERE declaration_id = ? AND item_no = ?", list(key)).row(0)
    assert row[:3] == ("lodgement", "api-b1", 900.0) and "lodged red" in row[3]


def test_next_follows_priority_and_an_expired_lock_frees_the_alert(selected: Workspace) -> None:
    t0 = now()
    first = cases.next_alert(selected, officer("ada"), lock_minutes=30, now=t0)
    second = cases.next_alert(selected, officer("bob"), lock_minutes=30, now=t0)
    assert first.alert_id != second.alert_id
    assert first.status == "locked" and first.locked_by == "ada"
    assert first.office_id == OFFICE and first.lane == "red"
    with pytest.raises(ConflictError, match="locked by ada"):
        cases.comment(selected, officer("bob"), first.alert_id, "x", now=t0)
    later = t0 + timedelta(minutes=31)
    again = cases.next_alert(selected, officer("cy"), now=later)
    assert again.alert_id == first.alert_id and again.locked_by == "cy"
    cases.comment(selected, officer("ada"), second.alert_id, "expired, anyone may", now=later)


def test_another_offices_alert_is_not_found(selected: Workspace) -> None:
    theirs = selected.query("SELECT alert_id FROM alerts WHERE office_id <> ? LIMIT 1",
                            [OFFICE]).item()
    with pytest.raises(NotFoundError):
        cases.get_case(selected, officer("ada"), theirs)
    with pytest.raises(NotFoundError):
        cases.close(selected, officer("ada"), theirs, CloseForm(fraud=False))
    assert all(a.office_id == OFFICE for a in cases.queue(selected, officer("ada"), limit=1000))
    nowhere = Principal("zed", "officer")  # an officer with no office sees nothing
    assert cases.queue(selected, nowhere) == []
    with pytest.raises(NotFoundError):
        cases.next_alert(selected, nowhere)


def test_queue_statuses_agree_with_the_domain_over_time(selected: Workspace) -> None:
    t0 = now()
    locked = cases.next_alert(selected, officer("ada"), lock_minutes=10, now=t0)
    asleep = cases.next_alert(selected, officer("ada"), now=t0)
    cases.snooze(selected, officer("ada"), asleep.alert_id, t0 + timedelta(hours=2),
                 "waiting for the invoice", now=t0)
    with pytest.raises(ValidationError):
        cases.snooze(selected, officer("ada"), asleep.alert_id, t0 - timedelta(hours=1),
                     "past", now=t0)
    for moment in (t0, t0 + timedelta(minutes=11), t0 + timedelta(hours=3)):
        everything = cases.queue(selected, officer("ada"), status="all", limit=1000, now=moment)
        rows = {r[0]: r for r in selected.query(
            "SELECT alert_id, status, locked_by, locked_until, snoozed_until FROM alerts "
            "WHERE office_id = ?", [OFFICE]).iter_rows()}
        for alert in everything:
            assert alert.status == effective_status(*rows[alert.alert_id][1:], moment)
        for status in ("open", "locked", "snoozed"):
            chosen = cases.queue(selected, officer("ada"), status=status, limit=1000,
                                 now=moment)
            assert {a.alert_id for a in chosen} == {a.alert_id for a in everything
                                                    if a.status == status}
    states = {a.alert_id: a.status for a in cases.queue(selected, officer("ada"), status="all",
                                                        limit=1000, now=t0)}
    assert states[locked.alert_id] == "locked" and states[asleep.alert_id] == "snoozed"
    by_revenue = cases.queue(selected, officer("ada"), sort="revenue", limit=1000)
    values = [a.expected_revenue for a in by_revenue if a.expected_revenue is not None]
    assert values == sorted(values, reverse=True)
    with pytest.raises(ValidationError) as info:
        cases.queue(selected, officer("ada"), sort="sideways")
    assert info.value.problems[0].field == "sort"


def test_a_referred_case_closed_by_the_new_office_is_a_label_in_the_report(
        selected: Workspace) -> None:
    alert = cases.next_alert(selected, officer("ada"), lane="red")
    moved = cases.refer(selected, officer("ada"), alert.alert_id, "LOS01", "cleared at LOS01")
    assert (moved.office_id, moved.referred_from, moved.status) == ("LOS01", OFFICE, "open")
    with pytest.raises(NotFoundError):
        cases.comment(selected, officer("ada"), alert.alert_id, "gone")
    before = performance_report(selected).by_lane.filter(lane="red").row(0, named=True)
    closed = cases.close(selected, officer("lin", "LOS01"), alert.alert_id,
                         CloseForm(fraud=True, revenue_recovered=250.0, finding="undervalued"))
    assert closed.status == "closed" and closed.closed_by == "lin"
    with pytest.raises(ConflictError, match="closed"):
        cases.close(selected, officer("lin", "LOS01"), alert.alert_id, CloseForm(fraud=False))
    label = list_outcomes(selected).row(0, named=True)
    assert (label["declaration_id"], label["item_no"], label["fraud"], label["officer_id"],
            label["selection_id"]) == (alert.declaration_id, alert.item_no, True, "lin",
                                       alert.source_id)
    after = performance_report(selected).by_lane.filter(lane="red").row(0, named=True)
    assert after["inspected"] == before["inspected"] + 1
    assert after["frauds"] == before["frauds"] + 1
    with selected.connect() as con:
        actions = [e.action for e in read_entries(con)]
    for action in ("case.open", "case.lock", "case.refer", "outcome.record", "case.close"):
        assert action in actions


def test_attachments_are_stored_once_per_content(selected: Workspace) -> None:
    one = cases.next_alert(selected, officer("ada"))
    two = cases.next_alert(selected, officer("ada"))
    text = b"Seals intact.\n"
    first = cases.attach(selected, officer("ada"), one.alert_id, text, "note.txt")
    again = cases.attach(selected, officer("ada"), one.alert_id, text, "renamed.txt")
    cases.attach(selected, officer("ada"), two.alert_id, text, "note.txt")
    assert again == first
    files = list((selected.path / "attachments").iterdir())
    assert [f.name for f in files] == [first.sha256]
    info, content = cases.read_attachment(selected, officer("ada"), one.alert_id, first.sha256)
    assert content == text and info.media_type == "text/plain"
    detail = cases.get_case(selected, officer("ada"), one.alert_id)
    assert [a.sha256 for a in detail.attachments] == [first.sha256]
    assert [e.kind for e in detail.events].count("attach") == 1
    with pytest.raises(ValidationError):
        cases.attach(selected, officer("ada"), one.alert_id, b"\x00\x01binary", "x.bin")
    with pytest.raises(NotFoundError):
        cases.attach(selected, officer("ada", "LOS01"), one.alert_id, text, "note.txt")


def test_an_override_to_red_opens_an_alert(selected: Workspace) -> None:
    from clearlane.services.selection import override_lane

    green = selected.query(
        "SELECT declaration_id FROM lane_decisions d WHERE lane = 'green' AND NOT EXISTS "
        "(SELECT 1 FROM alerts a WHERE a.declaration_id = d.declaration_id) "
        "GROUP BY 1 HAVING count(*) = 1 LIMIT 1").item()
    override_lane(selected, declaration_id=green, to_lane="red",
                  justification="intelligence report 17", officer_id="o1")
    assert cases.sync_alerts(selected) == 0  # opened by the override itself
    opened = selected.query("SELECT lane, source, status, reasons FROM alerts "
                            "WHERE declaration_id = ?", [green]).row(0)
    assert opened[:3] == ("red", "override", "open")
    assert "intelligence report 17" in opened[3]
    events = selected.query("SELECT kind, actor FROM case_events e JOIN alerts a USING "
                            "(alert_id) WHERE a.declaration_id = ?", [green]).rows()
    assert events == [("open", "o1")]


def _red_declaration(workspace: Workspace) -> tuple[str, list[str]]:
    """A red declaration of OFFICE whose alerts are all open; its alert ids."""
    declaration = workspace.query(
        "SELECT declaration_id FROM alerts WHERE lane = 'red' AND office_id = ? GROUP BY 1 "
        "HAVING bool_and(status = 'open') ORDER BY 1 LIMIT 1", [OFFICE]).item()
    ids = workspace.query("SELECT alert_id FROM alerts WHERE declaration_id = ? ORDER BY 1",
                          [declaration])["alert_id"].to_list()
    return declaration, ids


def test_an_override_out_of_red_withdraws_the_open_alert_and_back_reopens_it(
        selected: Workspace) -> None:
    from clearlane.services.selection import override_lane

    declaration, ids = _red_declaration(selected)
    held = cases.lock(selected, officer("ada"), ids[0], now=now())
    assert held.status == "locked"
    override_lane(selected, declaration_id=declaration, to_lane="green",
                  justification="documents checked at the counter", officer_id="sup1")
    states = selected.query("SELECT status, locked_by FROM alerts WHERE declaration_id = ?",
                            [declaration]).rows()
    assert states == [("withdrawn", None)] * len(ids)
    detail = cases.get_case(selected, officer("ada"), ids[0])
    assert detail.alert.status == "withdrawn"
    withdraw = [e for e in detail.events if e.kind == "withdraw"]
    assert len(withdraw) == 1 and withdraw[0].actor == "sup1"
    assert withdraw[0].detail["to"] == "green" and withdraw[0].detail["was_locked_by"] == "ada"
    assert withdraw[0].detail["justification"] == "documents checked at the counter"
    with selected.connect() as con:
        audited = [e for e in read_entries(con) if e.action == "case.withdraw"]
    assert {e.object_id for e in audited} == set(ids)

    active = {a.alert_id for a in cases.queue(selected, officer("ada"), limit=1000)}
    assert not active & set(ids)
    listed = cases.queue(selected, officer("ada"), status="withdrawn", limit=1000)
    assert {a.alert_id for a in listed} == set(ids)
    with pytest.raises(ConflictError, match="withdrawn"):
        cases.comment(selected, officer("ada"), ids[0], "too late")
    assert cases.sync_alerts(selected) == 0  # a withdrawn alert is not opened again by a sync
    while True:  # next never hands a withdrawn alert out
        try:
            got = cases.next_alert(selected, officer("bob"), now=now())
        except NotFoundError:
            break
        assert got.alert_id not in ids

    override_lane(selected, declaration_id=declaration, to_lane="yellow",
                  justification="new intelligence on the importer", officer_id="sup1")
    back = selected.query("SELECT status, lane FROM alerts WHERE declaration_id = ?",
                          [declaration]).rows()
    assert back == [("open", "yellow")] * len(ids)
    kinds = [e.kind for e in cases.get_case(selected, officer("ada"), ids[0]).events]
    assert kinds[-2:] == ["withdraw", "reopen"]


def test_an_override_leaves_a_closed_alert_alone_and_relanes_an_open_one(
        selected: Workspace) -> None:
    from clearlane.services.selection import override_lane

    declaration, ids = _red_declaration(selected)
    cases.close(selected, officer("ada"), ids[0], CloseForm(fraud=False), now=now())
    override_lane(selected, declaration_id=declaration, to_lane="blue",
                  justification="documents checked at the counter", officer_id="sup1")
    assert selected.query("SELECT status FROM alerts WHERE alert_id = ?",
                          [ids[0]]).item() == "closed"
    other, others = _red_declaration(selected)
    override_lane(selected, declaration_id=other, to_lane="yellow",
                  justification="lower the priority: known trader", officer_id="sup1")
    assert selected.query("SELECT DISTINCT lane FROM alerts WHERE declaration_id = ?",
                          [other]).item() == "yellow"
    kinds = [e.kind for e in cases.get_case(selected, officer("ada"), others[0]).events]
    assert kinds[-1] == "relane"
