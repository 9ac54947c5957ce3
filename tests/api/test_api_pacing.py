"""Paced lanes at lodgement through a real uvicorn server: two days of synthetic arrivals
lodged in arrival order in batches, the server restarted in the middle of the first day; the
capacity holds across the restart, every answer says how its lane was decided, and the
officer's queue shows the lodged red and yellow items at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import pytest
from tests.api import conftest as api_conftest
from tests.api.conftest import seed_accounts
from tests.api.live import client, live_server
from tests.api.lodge_fixtures import PacedWorkspace, build_paced_workspace, lodgement_items

from clearlane.api import create_app
from clearlane.services import accounts
from clearlane.services.cases import MAX_QUEUE
from clearlane.services.lodgement import LANE_BASES

BATCH = "/api/v1/declarations:assess-batch"
CHUNK = 25


@dataclass
class Lodged:
    paced: PacedWorkspace
    answers: list[dict[str, Any]]
    office: str
    queue: list[dict[str, Any]]


def post_in_order(url: str, token: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answers = []
    with client(url, token) as http:
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            response = http.post(BATCH, json={"items": [
                {"id": str(start + i), "declaration": d} for i, d in enumerate(chunk)]})
            assert response.status_code == 200, response.text
            answers += [a["assessment"] for a in response.json()["items"]]
    return answers


@pytest.fixture(scope="module")
def lodged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lodged]:
    root = tmp_path_factory.mktemp("pacing-api")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLEARLANE_AUDIT_KEY", str(root / "audit.pem"))
        patch.setenv("CLEARLANE_AUDIT_CHECKPOINT_DIR", str(root))
        paced = build_paced_workspace(root, n_items=8_000, days=90, replay_days=5, n_offices=2)
        workspace = paced.workspace
        tokens = seed_accounts(workspace)
        office = str(paced.later["office_id"].mode().item(0))
        desk = accounts.create_key(workspace, "desk", "officer", [office], 30).token
        days = sorted(set(paced.later["declared_at"].cast(pl.Date).to_list()))[:2]
        first = lodgement_items(paced.later.filter(pl.col("declared_at") == days[0]))
        second = lodgement_items(paced.later.filter(pl.col("declared_at") == days[1]))
        half = len(first) // 2
        settings = api_conftest.test_settings(workspace.path)
        answers = []
        with live_server(create_app(settings)) as url:
            answers += post_in_order(url, tokens["system"], first[:half])
        with live_server(create_app(settings)) as url:  # restarted: a fresh cache
            answers += post_in_order(url, tokens["system"], first[half:] + second)
            with client(url, desk) as http:
                response = http.get("/api/v1/cases", params={"limit": MAX_QUEUE,
                                                             "status": "all"})
            assert response.status_code == 200, response.text
            yield Lodged(paced, answers, office, response.json())


def test_every_answer_is_paced_and_says_how(lodged: Lodged) -> None:
    assert lodged.answers
    for answer in lodged.answers:
        assert answer["lane"] in ("red", "yellow", "blue", "green"), answer["lane_note"]
        assert answer["basis"] in LANE_BASES
        pacing = answer["pacing"]
        if "arrivals" not in pacing:  # a later item of a declaration already red today
            assert answer["lane"] == "red" and "already red" in answer["lane_note"]
            continue
        capacity = lodged.paced.policy.capacity or {}
        assert pacing["capacity"] == capacity[pacing["office_id"]]
        if answer["lane"] == "red" and answer["basis"] != "mandatory_rule":
            assert pacing["red_spent"] < pacing["red_budget"] <= pacing["capacity"]
        if answer["basis"] == "paced" and answer["lane"] == "red":
            assert "paced red threshold" in answer["lane_note"]
            assert "spent" in answer["lane_note"]
        if answer["basis"] == "random":
            assert "random control" in answer["lane_note"]


def test_the_capacity_holds_across_a_restart(lodged: Lodged) -> None:
    capacity = lodged.paced.policy.capacity
    assert capacity is not None
    red = lodged.paced.workspace.query(
        """SELECT d.office_id, d.declared_at,
                  count(DISTINCT l.declaration_id) FILTER (l.lane = 'red') AS red
           FROM lodgements l JOIN declarations d USING (declaration_id, item_no)
           GROUP BY ALL""")
    assert red.height >= 2
    for office, day, n in red.iter_rows():
        assert isinstance(day, date)
        assert n <= capacity[office], (office, day)


def test_the_queue_shows_the_lodged_alerts_at_once(lodged: Lodged) -> None:
    offices = dict(lodged.paced.workspace.query(
        "SELECT declaration_id, any_value(office_id) FROM declarations GROUP BY 1").iter_rows())
    expected = {(a["declaration_id"], a["item_no"]) for a in lodged.answers
                if a["lane"] in ("red", "yellow") and offices[a["declaration_id"]] == lodged.office}
    shown = {(a["declaration_id"], a["item_no"]) for a in lodged.queue
             if a["source"] == "lodgement"}
    assert expected and shown == expected
