"""Pacing at lodgement through the service: the policy comes from the office's latest stored
selection, the day's counters are rebuilt from the stored answers (a restart changes
nothing), a failed write drops them, and a lodgement opens its alerts in its own
transaction, high-severity rule hits included."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from tests.api.lodge_fixtures import PacedWorkspace, build_paced_workspace, lodgement_items

from clearlane.services import lodgement
from clearlane.services.alert_opening import needs_alert, open_lodged_alerts, sync_alerts
from clearlane.services.lodgement import LANE_BASES, assess_lodged
from clearlane.services.pacing import SEED_KEY, PacingBook, pacing_book, policy_from_json
from clearlane.store.workspace import Workspace

NOW = datetime(2030, 1, 1)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> PacedWorkspace:
    return build_paced_workspace(tmp_path_factory.mktemp("pacing"), n_items=8_000, days=90,
                                 replay_days=5, n_offices=2)


@pytest.fixture
def paced(template: PacedWorkspace, tmp_path: Path) -> PacedWorkspace:
    shutil.copytree(template.workspace.path, tmp_path / "ws")
    return PacedWorkspace(Workspace.open(tmp_path / "ws"), template.later, template.policy,
                          template.first_day)


def first_day(paced: PacedWorkspace) -> tuple[date, list[dict[str, Any]]]:
    day = paced.later["declared_at"].cast(pl.Date).min()
    assert isinstance(day, date)
    return day, lodgement_items(paced.later.filter(pl.col("declared_at") == day))


def red_per_office(workspace: Workspace, day: date) -> dict[str, int]:
    return dict(workspace.query(
        "SELECT d.office_id, count(DISTINCT l.declaration_id) FILTER (l.lane = 'red') "
        "FROM lodgements l JOIN declarations d USING (declaration_id, item_no) "
        "WHERE d.declared_at = ? GROUP BY 1", [day]).iter_rows())


def test_the_policy_of_the_latest_selection_paces_every_answer(paced: PacedWorkspace) -> None:
    day, items = first_day(paced)
    results = assess_lodged(paced.workspace, items, cache={SEED_KEY: 1}, now=NOW)
    assert {r.answer["basis"] for r in results} <= set(LANE_BASES)
    assert all(r.answer["lane"] in ("red", "yellow", "blue", "green") for r in results)
    assert paced.policy.capacity is not None
    for office, red in red_per_office(paced.workspace, day).items():
        assert red <= paced.policy.capacity[office]
    capacities = {r.answer["pacing"]["capacity"] for r in results}
    assert capacities == {paced.policy.capacity[o] for o in red_per_office(paced.workspace, day)}
    stored = policy_from_json(paced.workspace.query(
        "SELECT policy FROM selections ORDER BY created_at DESC LIMIT 1").item())
    assert stored.capacity == paced.policy.capacity and stored.red_rate == paced.policy.red_rate


def test_counters_are_rebuilt_from_the_stored_answers_after_a_restart(
        paced: PacedWorkspace) -> None:
    day, items = first_day(paced)
    half = len(items) // 2
    running: dict[str, Any] = {SEED_KEY: 1}
    assess_lodged(paced.workspace, items[:half], cache=running, now=NOW)
    held = {k: v.state for k, v in pacing_book(running).days.items()}
    rebuilt = PacingBook()
    with paced.workspace.connect() as con:
        for (office, when), state in held.items():
            assert rebuilt.day(con, office, when, True).state == state
    restarted: dict[str, Any] = {SEED_KEY: 2}  # a new server: an empty cache
    assess_lodged(paced.workspace, items[half:], cache=restarted, now=NOW)
    assert paced.policy.capacity is not None
    for office, red in red_per_office(paced.workspace, day).items():
        assert red <= paced.policy.capacity[office]
    for (office, when), state in pacing_book(restarted).days.items():
        assert state.state.arrivals >= held.get((office, when), state.state).arrivals


def test_a_failed_write_drops_the_counters(paced: PacedWorkspace,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, items = first_day(paced)
    cache: dict[str, Any] = {SEED_KEY: 1}
    assess_lodged(paced.workspace, items[:5], cache=cache, now=NOW)
    assert pacing_book(cache).days

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(lodgement, "_store", broken)
    with pytest.raises(OSError):
        assess_lodged(paced.workspace, items[5:10], cache=cache, now=NOW)
    assert not pacing_book(cache).days  # rebuilt from the table at the next request
    monkeypatch.undo()
    results = assess_lodged(paced.workspace, items[5:10], cache=cache, now=NOW)
    assert all(not r.replayed for r in results)


def test_a_lodgement_opens_its_alerts_in_its_own_transaction(paced: PacedWorkspace) -> None:
    _, items = first_day(paced)
    results = assess_lodged(paced.workspace, items, cache={SEED_KEY: 1}, now=NOW)
    alerted = {(r.answer["declaration_id"], r.answer["item_no"]) for r in results
               if r.answer["lane"] in ("red", "yellow")}
    assert alerted
    opened = set(paced.workspace.query(
        "SELECT declaration_id, item_no FROM alerts WHERE source = 'lodgement'").iter_rows())
    assert opened == alerted  # no sync needed: the queue sees them at once
    assert sync_alerts(paced.workspace) == 0


def test_a_high_severity_rule_hit_opens_an_alert_whatever_the_lane(
        paced: PacedWorkspace) -> None:
    _, items = first_day(paced)
    [result] = assess_lodged(paced.workspace, items[:1], cache={SEED_KEY: 1}, now=NOW)
    answer = dict(result.answer)
    hit = {"code": "RULE_HIT", "text": "Watched importer (R5 v1)", "weight": 3.0,
           "evidence": {"rule_id": "R5", "version": 1, "lane": "blue", "severity": "high",
                        "mandatory": False}}
    answer.update(lane="green", scorers=[*answer["scorers"], {"name": "rules",
                                                              "reasons": [hit]}])
    assert needs_alert(answer) and not needs_alert({**answer, "scorers": []})
    key = (answer["declaration_id"], answer["item_no"])
    frame = pl.DataFrame({"declaration_id": [key[0]], "item_no": [key[1]],
                          "office_id": [items[0]["office_id"]]})
    with paced.workspace.transaction() as con:
        con.execute("DELETE FROM alerts WHERE declaration_id = ?", [key[0]])
        assert open_lodged_alerts(con, frame, {key: answer}, NOW) == 1
    reasons = paced.workspace.query("SELECT reasons FROM alerts WHERE declaration_id = ?",
                                    [key[0]]).item()
    assert json.loads(reasons)[0]["text"] == "Watched importer (R5 v1)"


def test_a_stored_green_answer_with_a_high_severity_hit_is_alerted_by_the_sync(
        paced: PacedWorkspace) -> None:
    _, items = first_day(paced)
    [result] = assess_lodged(paced.workspace, items[:1], cache={SEED_KEY: 1}, now=NOW)
    answer = dict(result.answer)
    answer.update(lane="green", scorers=[{"name": "rules", "reasons": [
        {"code": "RULE_HIT", "text": "R6", "weight": 1.0, "evidence": {"severity": "critical"}}]}])
    with paced.workspace.transaction() as con:
        con.execute("DELETE FROM alerts")
        con.execute("UPDATE lodgements SET lane = 'green', assessment = ? WHERE "
                    "declaration_id = ? AND item_no = ?",
                    [json.dumps(answer), answer["declaration_id"], answer["item_no"]])
    assert sync_alerts(paced.workspace) >= 1
    assert paced.workspace.query("SELECT count(*) FROM alerts WHERE declaration_id = ?",
                                 [answer["declaration_id"]]).item() >= 1


def test_concurrent_requests_keep_the_counters_and_the_capacity(paced: PacedWorkspace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from clearlane.services.lodgement import lodgement_queue

    day, items = first_day(paced)
    by_declaration: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_declaration.setdefault(item["declaration_id"], []).append(item)
    cache: dict[str, Any] = {SEED_KEY: 3}
    with paced.workspace.hold("concurrent"):
        queue = lodgement_queue(paced.workspace, cache)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(queue.submit, by_declaration.values()))
    assert paced.policy.capacity is not None
    for office, red in red_per_office(paced.workspace, day).items():
        assert red <= paced.policy.capacity[office]
    rebuilt = PacingBook()
    with paced.workspace.connect() as con:
        for (office, when), held in pacing_book(cache).days.items():
            assert rebuilt.day(con, office, when, True).state == held.state
            assert held.state.arrivals == len({i["declaration_id"] for i in items
                                               if i.get("office_id") == office})
