"""Assess at lodgement through the service: validation as ingest, idempotency, conflicts,
scoring with cached models, lanes from the latest selection, rules, storage and audit."""

from __future__ import annotations

import math
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from tests.api.lodge_fixtures import build_workspace, lodgement_items

from clearlane.errors import ConflictError, ValidationError
from clearlane.services.lodgement import (
    LANE_BASES,
    LodgementRequest,
    assess_lodged,
    assess_requests,
    lodgement_queue,
    validate_items,
)
from clearlane.services.rules_lifecycle import backtest_draft, draft_rules, publish_rules
from clearlane.store.workspace import Workspace

NOW = datetime(2024, 6, 30, 12, 0)


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    root = tmp_path_factory.mktemp("lodge")
    workspace, later = build_workspace(root, train=True)
    return workspace.path, later


@pytest.fixture
def trained(trained_template: tuple[Path, pl.DataFrame],
            tmp_path: Path) -> tuple[Workspace, list[dict[str, Any]]]:
    """A fresh copy of the trained workspace per test, and items to lodge."""
    source, later = trained_template
    shutil.copytree(source, tmp_path / "ws")
    return Workspace.open(tmp_path / "ws"), lodgement_items(later.head(40))


def count(workspace: Workspace, sql: str) -> int:
    return int(workspace.query(sql).item(0, 0))


def test_validation_names_field_value_reason_and_item(workspace: Workspace) -> None:
    good = {"declaration_id": "D1", "declared_at": "2024-05-02", "hs_code": "850440"}
    bad = [good, {**good, "declaration_id": "D2", "customs_value": "12,5x"},
           {**good, "declaration_id": "D3", "hs_code": None}]
    with pytest.raises(ValidationError) as caught:
        assess_lodged(workspace, bad, cache={}, now=NOW)
    problems = {(p.row, p.field): p for p in caught.value.problems}
    assert set(problems) == {(1, "customs_value"), (2, "hs_code")}
    assert problems[(1, "customs_value")].value == "12,5x"
    assert problems[(1, "customs_value")].reason == "not a number"
    assert "required" in problems[(2, "hs_code")].reason
    assert count(workspace, "SELECT count(*) FROM declarations") == 0


def test_outcome_fields_and_repeated_keys_are_refused() -> None:
    item = {"declaration_id": "D1", "declared_at": "2024-05-02", "hs_code": "850440"}
    with pytest.raises(ValidationError) as caught:
        validate_items([item, {**item, "declaration_id": "D9", "fraud": True}, item],
                       today=NOW.date())
    fields = sorted((p.row, p.field) for p in caught.value.problems)
    assert fields == [(1, "fraud"), (2, "declaration_id")]


def test_unknown_fields_are_kept_as_extras_as_ingest_keeps_them() -> None:
    item = {"declaration_id": "D1", "declared_at": "2024-05-02", "hs_code": "8504.40",
            "incoterm": "FOB", "extra": {"container": "MSKU1"}}
    frame = validate_items([item], today=NOW.date())
    assert frame["hs_code"].item() == "850440"  # normalised as ingest does
    assert frame["extra"].item() == '{"incoterm":"FOB","container":"MSKU1"}'  # as sent


def test_no_model_reports_fraud_unavailable_and_still_answers(workspace: Workspace) -> None:
    item = {"declaration_id": "D1", "declared_at": "2024-05-02", "hs_code": "850440",
            "office_id": "ABJ01"}
    [result] = assess_lodged(workspace, [item], cache={}, now=NOW)
    answer = result.answer
    assert answer["fraud_probability"] is None and answer["lane"] is None
    fraud = next(s for s in answer["scorers"] if s["name"] == "fraud")
    assert fraud["status"] == "unavailable" and "clearlane train" in fraud["message"]
    assert count(workspace, "SELECT count(*) FROM declarations") == 1
    assert count(workspace, "SELECT count(*) FROM lodgements") == 1
    assert count(workspace, "SELECT count(*) FROM risk_assessments") == 0


def test_trained_models_score_every_item_with_reasons(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    workspace, items = trained
    cache: dict[str, Any] = {}
    results = assess_lodged(workspace, items[:3], cache=cache, now=NOW)
    for result in results:
        answer = result.answer
        assert 0.0 <= answer["fraud_probability"] <= 1.0
        assert answer["expected_revenue"] >= 0 and math.isfinite(answer["anomaly_score"])
        assert answer["reasons"] and answer["model_version"].startswith("fraud-")
        assert answer["versions"]["anomaly"] == answer["anomaly_version"]
        statuses = {s["name"]: s["status"] for s in answer["scorers"]}
        assert statuses["fraud"] == statuses["anomaly"] == "ok"
        assert statuses["rules"] == "unavailable"
    assert count(workspace, "SELECT count(*) FROM risk_assessments") == 3
    assert set(cache["lodgement"]) >= {"fraud", "anomaly"}  # loaded once, kept by version


def test_record_path_and_batch_path_agree(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    workspace, items = trained
    singles = [assess_lodged(workspace, [item], cache={}, now=NOW)[0].answer
               for item in items[:3]]
    copy = workspace.path.parent / "copy"
    shutil.copytree(workspace.path, copy)
    other = Workspace.open(copy)  # (on PostgreSQL the test plugin copies the database too)
    fresh = [{**item, "declaration_id": "B" + item["declaration_id"]} for item in items]
    batch = assess_lodged(other, fresh, cache={}, now=NOW)  # > RECORD_PATH_ITEMS: vectorised
    for single, result in zip(singles, batch[:3], strict=True):
        answer = result.answer
        assert answer["fraud_probability"] == pytest.approx(single["fraud_probability"])
        assert answer["anomaly_score"] == pytest.approx(single["anomaly_score"])
        assert [r["code"] for r in answer["reasons"]] == [r["code"] for r in single["reasons"]]


def test_parameter_writes_and_arrow_writes_store_the_same_rows(
        trained: tuple[Workspace, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Small requests are written with bound parameters, large ones from Arrow tables: the
    stored rows are the same (an ingested declaration re-lodged included: its assessment is
    replaced)."""
    from clearlane.services import lodgement

    workspace, items = trained
    ingested = lodgement_items(workspace.query("SELECT * FROM declarations WHERE "
                                               "NOT inspected ORDER BY declaration_id LIMIT 1"))
    request = items[:3] + ingested
    assert len(request) <= lodgement.SMALL_WRITE_ROWS
    copy = workspace.path.parent / "arrow"
    shutil.copytree(workspace.path, copy)
    other = Workspace.open(copy)  # (on PostgreSQL the test plugin copies the database too)
    assess_lodged(workspace, request, cache={}, now=NOW)
    monkeypatch.setattr(lodgement, "SMALL_WRITE_ROWS", 0)
    assess_lodged(other, request, cache={}, now=NOW)
    for table, order in (("declarations", "declaration_id, item_no"),
                         ("risk_assessments", "declaration_id, item_no, model_version"),
                         ("lodgements", "declaration_id, item_no")):
        sql = f"SELECT * FROM {table} ORDER BY {order}"
        assert workspace.query(sql).equals(other.query(sql)), table
    assert count(workspace, "SELECT count(*) FROM lodgements") == 4


def test_same_body_twice_is_one_row_one_assessment_same_answer(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    workspace, items = trained
    first = assess_lodged(workspace, items[:2], cache={}, now=NOW)
    audits = count(workspace, "SELECT count(*) FROM audit_log")
    again = assess_lodged(workspace, items[:2], cache={}, now=datetime(2024, 7, 1))
    assert [r.answer for r in again] == [r.answer for r in first]
    assert [r.replayed for r in first] == [False, False] and all(r.replayed for r in again)
    assert count(workspace, "SELECT count(*) FROM declarations WHERE batch_id LIKE 'api-%'") == 2
    assert count(workspace, "SELECT count(*) FROM risk_assessments") == 2
    assert count(workspace, "SELECT count(*) FROM audit_log") == audits
    entry = workspace.query("SELECT action, change FROM audit_log WHERE action = "
                            "'declarations.lodge'")
    assert entry.height == 1 and items[0]["declaration_id"] in entry["change"].item()
    batches = workspace.query("SELECT source_file, rows_accepted FROM ingest_batches "
                              "WHERE source_file LIKE 'api:%'")
    assert batches.rows() == [("api:api", 2)]


def test_another_item_of_a_stored_declaration_is_new_not_a_replay(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    workspace, items = trained
    first = {**items[0], "item_no": 1}
    assess_lodged(workspace, [first], cache={}, now=NOW)
    second = {**items[0], "item_no": 2, "customs_value": items[0]["customs_value"] * 2}
    results = assess_lodged(workspace, [second, first], cache={}, now=NOW)
    assert [r.replayed for r in results] == [False, True]
    assert count(workspace, "SELECT count(*) FROM lodgements WHERE declaration_id = "
                 f"'{items[0]['declaration_id']}'") == 2


def test_a_different_body_is_a_conflict_naming_fields_and_nothing_is_stored(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    workspace, items = trained
    assess_lodged(workspace, items[:1], cache={}, now=NOW)
    changed = {**items[0], "customs_value": items[0]["customs_value"] * 0.5,
               "origin_country": "ZA"}
    with pytest.raises(ConflictError) as caught:
        assess_lodged(workspace, [items[1], changed], cache={}, now=NOW)
    message = str(caught.value)
    assert "origin_country" in message and "customs_value" in message
    assert items[0]["declaration_id"] in message
    stored = workspace.query("SELECT declaration_id FROM declarations WHERE batch_id LIKE "
                             "'api-%'")["declaration_id"].to_list()
    assert stored == [items[0]["declaration_id"]]  # items[1] was not stored either
    assert count(workspace, "SELECT count(*) FROM lodgements") == 1


def test_an_ingested_declaration_lodged_again_is_assessed_not_duplicated(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    workspace, _ = trained
    row = workspace.query("SELECT * FROM declarations WHERE "
                          "NOT inspected LIMIT 1")
    [item] = lodgement_items(row)
    before = count(workspace, "SELECT count(*) FROM declarations")
    [result] = assess_lodged(workspace, [item], cache={}, now=NOW)
    assert not result.replayed and result.answer["fraud_probability"] is not None
    assert count(workspace, "SELECT count(*) FROM declarations") == before


def test_lanes_are_paced_under_the_latest_selections_policy(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    from clearlane.services.risk import assess_declarations
    from clearlane.services.selection import select_for_inspection

    workspace, items = trained
    [before] = assess_lodged(workspace, items[:1], cache={}, now=NOW)
    assert before.answer["lane"] is None and "no stored selection" in before.answer["lane_note"]
    assess_declarations(workspace)
    select_for_inspection(workspace, seed=1, checks=False, segment_signal=False)
    results = assess_lodged(workspace, items[1:], cache={}, now=NOW)
    lanes = {r.answer["lane"] for r in results}
    assert lanes <= {"red", "yellow", "blue", "green"} and None not in lanes
    assert {r.answer["basis"] for r in results} <= set(LANE_BASES)
    for r in results:
        pacing = r.answer["pacing"]
        assert pacing["office_id"] and pacing["expected_arrivals"] >= 1
        if r.answer["basis"] == "paced" and r.answer["lane"] == "red":
            assert "paced red threshold" in r.answer["lane_note"]
            assert r.answer["expected_revenue"] >= pacing["threshold"]


def test_mandatory_rule_forces_red(trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    workspace, items = trained
    target = items[0]["importer_id"]
    drafted = draft_rules(workspace, f"""profile: lodge
watchlists:
  watched: {{kind: importers, description: test, values: ["{target}"]}}
rules:
  - id: R01
    version: 3
    title: Watched importer
    justification: test
    owner: risk-unit
    severity: critical
    lane: red
    mandatory: true
    when:
      - {{field: importer_id, watchlist: watched}}
""")
    backtest_draft(workspace, drafted.version)
    publish_rules(workspace, drafted.version, actor="user:head-of-unit")  # four eyes
    [hit, *_] = assess_lodged(workspace, items[:2], cache={}, now=NOW)
    assert hit.answer["lane"] == "red" and hit.answer["basis"] == "mandatory_rule"
    assert hit.answer["rule_hits"] == ["R01 v3"]
    assert hit.answer["versions"]["rules"] == f"lodge v{drafted.version}"


def test_value_bands_give_the_price_check(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    from clearlane.services.valuation import build_workspace_bands
    from clearlane.valuation.bands import BandConfig

    workspace, items = trained
    build_workspace_bands(workspace, config=BandConfig(), national_currency="XOF")
    row = workspace.query(
        "SELECT * FROM declarations WHERE (hs_code, origin_country) IN (SELECT hs_code, "
        "origin_country FROM declarations GROUP BY ALL ORDER BY count(*) DESC, hs_code, "
        "origin_country LIMIT 1) LIMIT 1")
    [common] = lodgement_items(row)
    cheap = {**common, "declaration_id": "CHEAP1", "declared_at": items[0]["declared_at"],
             "customs_value": 1.0}  # far below its band
    [answer] = [r.answer for r in assess_lodged(workspace, [cheap], cache={}, now=NOW)]
    price = next(s for s in answer["scorers"] if s["name"] == "price_check")
    assert price["status"] == "ok" and answer["versions"]["price_check"] == "v1"
    assert price["score"] is not None and 0.0 <= price["score"] <= 1.0


def test_a_group_of_requests_keeps_each_requests_guarantees(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    workspace, items = trained
    assess_lodged(workspace, items[:1], cache={}, now=NOW)
    good = LodgementRequest(items[1:3])
    invalid = LodgementRequest([items[3], {**items[4], "hs_code": "12"}])
    conflict = LodgementRequest([items[5], {**items[0], "net_mass_kg": 0.5}])
    again = LodgementRequest([items[2]])  # a key of `good`: waits for it to be stored
    deferred = assess_requests(workspace, [good, invalid, conflict, again], cache={}, now=NOW)
    assert deferred == [again] and not again.finished
    assert [r.answer["declaration_id"] for r in good.outcome()] == [
        i["declaration_id"] for i in items[1:3]]
    assert isinstance(invalid.error, ValidationError)
    assert [(p.row, p.field) for p in invalid.error.problems] == [(1, "hs_code")]
    assert isinstance(conflict.error, ConflictError) and "net_mass_kg" in str(conflict.error)
    lodged = set(workspace.query("SELECT declaration_id FROM lodgements")["declaration_id"])
    assert lodged == {i["declaration_id"] for i in items[:3]}  # nothing of items[3:6]
    assert count(workspace, "SELECT count(*) FROM ingest_batches WHERE source_file LIKE 'api:%'") == 2
    assess_requests(workspace, deferred, cache={}, now=NOW)
    [replay] = again.outcome()
    assert replay.replayed and replay.answer == good.outcome()[1].answer


def test_the_queue_answers_concurrent_requests_each_its_own(
        trained: tuple[Workspace, list[dict[str, Any]]]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    workspace, items = trained
    cache: dict[str, Any] = {}
    queue = lodgement_queue(workspace, cache)
    bodies = [[item] for item in items[:24]] + [[items[0]], [{**items[1], "tax_rate": 99.0}],
                                                [{**items[2], "declared_at": "yesterday"}]]
    with workspace.hold("test"), ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(queue.submit, body) for body in bodies]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=120))
            except (ValidationError, ConflictError) as error:
                outcomes.append(error)
    for body, outcome in zip(bodies[:24], outcomes[:24], strict=True):
        assert isinstance(outcome, list)
        assert outcome[0].answer["declaration_id"] == body[0]["declaration_id"]
    assert isinstance(outcomes[24], list)  # the same body twice: one of them is a replay
    assert outcomes[24][0].answer == outcomes[0][0].answer
    # items[1] with another tax rate: a conflict, unless it came first (then items[1] is)
    assert sum(isinstance(o, ConflictError) for o in (outcomes[1], outcomes[25])) == 1
    assert isinstance(outcomes[26], ValidationError)
    assert count(workspace, "SELECT count(*) FROM lodgements") == 24
    assert lodgement_queue(workspace, cache) is queue
