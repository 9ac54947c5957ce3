"""The models lifecycle over real HTTP: a retraining job, the comparison, promotion, rollback."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from tests.api.conftest import Server
from tests.api.models_fixtures import serving_lifecycle_workspace, wait_for_job

from clearlane.models import registry
from clearlane.services import model_jobs


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving_lifecycle_workspace(tmp_path_factory) as server:
        yield server


def _retrain(server: Server, role: str = "analyst") -> dict[str, object]:
    with server.client(role) as http:
        started = http.post("/api/v1/models/jobs", json={"holdout_days": 5})
        assert started.status_code == 202, started.text
        return wait_for_job(http, started.headers["location"])


def test_a_job_runs_in_the_background_to_candidates_and_one_at_a_time(served: Server) -> None:
    with served.client("analyst") as http:
        [promoted] = [m for m in http.get("/api/v1/models", params={"kind": "fraud"}).json()
                      if m["status"] == "promoted"]
        started = http.post("/api/v1/models/jobs", json={"holdout_days": 5})
        again = http.post("/api/v1/models/jobs", json={"holdout_days": 5})
        job = started.json()
        assert started.status_code == 202
        assert started.headers["location"] == f"/api/v1/models/jobs/{job['job_id']}"
        assert job["status"] in ("queued", "running") and job["started_by"].startswith("key:")
        assert again.status_code == 409 and job["job_id"] in again.json()["detail"]
        done = wait_for_job(http, started.headers["location"])
        listed = http.get("/api/v1/models/jobs").json()
        fraud = http.get(f"/api/v1/models/{done['result']['models']['fraud']}").json()
        still = http.get("/api/v1/models", params={"kind": "fraud"}).json()
        tail = http.get(started.headers["location"], params={"log_tail": 1}).json()
    assert done["status"] == "succeeded" and done["progress"] == 1.0
    assert done["log"][0]["message"] == "queued" and done["log"][-1]["message"] == "succeeded"
    assert len(done["log"]) > 3
    assert [j["job_id"] for j in listed] == [job["job_id"]] and listed[0]["log"] == []
    assert [line["message"] for line in tail["log"]] == ["succeeded"]
    assert fraud["status"] == "candidate" and fraud["train_to"] == "2024-01-25"
    assert [m["version"] for m in still if m["status"] == "promoted"] == [promoted["version"]]
    comparison = done["result"]["comparison"]
    assert comparison["window_from"] == "2024-01-26"
    assert comparison["baseline"]["version"] == promoted["version"]


def test_a_job_with_nothing_to_train_on_is_refused_and_officers_cannot_start_one(
        served: Server) -> None:
    with served.client("analyst") as http:
        refused = http.post("/api/v1/models/jobs", json={"holdout_days": 400})
        bad = http.post("/api/v1/models/jobs", json={"holdout_days": -1})
    with served.client("officer") as http:
        forbidden = http.post("/api/v1/models/jobs")
    with served.client("auditor") as http:
        readable = http.get("/api/v1/models/jobs")
    assert refused.status_code == 422 and "no declarations to train on" in refused.json()["detail"]
    assert bad.status_code == 422
    assert forbidden.status_code == 403
    assert readable.status_code == 200 and readable.json() == []


def test_compare_promote_by_the_analyst_and_roll_back(served: Server) -> None:
    done = _retrain(served)
    candidate = done["result"]["models"]["fraud"]  # type: ignore[index]
    with served.client("analyst") as http:
        [promoted] = [m["version"] for m in http.get("/api/v1/models", params={
            "kind": "fraud"}).json() if m["status"] == "promoted"]
        comparison = http.get(f"/api/v1/models/{candidate}/comparison").json()
        recent = http.get(f"/api/v1/models/{candidate}/comparison",
                          params={"days": 2, "rate": 10}).json()
        overlap = http.get(f"/api/v1/models/{candidate}/comparison", params={"days": 10})
    assert (comparison["window_from"], comparison["window_to"]) == ("2024-01-26", "2024-01-30")
    assert comparison["candidate"]["version"] == candidate
    assert comparison["baseline"]["version"] == promoted
    assert comparison["candidate"]["saw_window"] is False
    assert comparison["candidate"]["n"] > 0 and 0 <= comparison["candidate"]["brier"] <= 1
    assert (recent["window_from"], recent["rate"]) == ("2024-01-29", 10.0)
    assert overlap.status_code == 422 and "overlaps" in overlap.json()["detail"]

    with served.client("officer") as http:
        assert http.post(f"/api/v1/models/{candidate}:promote").status_code == 403
        assert http.post("/api/v1/models/fraud:rollback").status_code == 403
    with served.client("analyst") as http:
        done_promote = http.post(f"/api/v1/models/{candidate}:promote",
                                 json={"reason": "higher AUC on the last five days"})
        twice = http.post(f"/api/v1/models/{candidate}:promote")
        now = http.get("/api/v1/models", params={"kind": "fraud"}).json()
    assert done_promote.status_code == 200, done_promote.text
    promotion = done_promote.json()
    assert (promotion["version"], promotion["previous_version"]) == (candidate, promoted)
    assert promotion["promoted_by"].startswith("key:analyst-key")
    assert promotion["comparison"] == comparison  # the one the job recorded
    assert twice.status_code == 409
    assert {m["version"]: m["status"] for m in now}[candidate] == "promoted"

    with served.client("analyst") as http:
        back = http.post("/api/v1/models/fraud:rollback", json={"reason": "too many alerts"})
        nothing = http.post("/api/v1/models/fraud:rollback")
        unknown = http.post("/api/v1/models/magic:rollback")
    assert back.status_code == 200
    assert (back.json()["version"], back.json()["action"]) == (promoted, "rollback")
    assert registry.get_model(served.workspace, kind="fraud").version == promoted
    assert nothing.status_code == 409 and unknown.status_code == 422
    actors = served.workspace.query(
        "SELECT actor FROM audit_log WHERE action IN ('model.promote', 'model.rollback') "
        "ORDER BY sequence DESC LIMIT 2")["actor"].to_list()
    assert all(a.startswith("key:analyst-key") for a in actors)


def test_a_job_whose_process_is_gone_is_shown_interrupted(served: Server) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job = model_jobs.create_train_job(served.workspace, model_jobs.TrainParameters())
    with served.workspace.transaction() as con:
        con.execute("UPDATE jobs SET status = 'running', pid = ? WHERE job_id = ?",
                    [dead.pid, job.job_id])
    with served.client("auditor") as http:
        shown = http.get(f"/api/v1/models/jobs/{job.job_id}").json()
        missing = http.get("/api/v1/models/jobs/job-nope")
    assert shown["status"] == "interrupted"
    assert shown["log"][-1]["message"].startswith("interrupted")
    assert missing.status_code == 404
    # and the workspace takes a new job
    assert _retrain(served)["status"] == "succeeded"


def test_a_stopping_server_marks_its_running_job_interrupted(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_training(*_: object, progress: Callable[[float, float], None],
                      **__: object) -> None:
        for step in range(600):  # reports progress until the runner is told to stop
            progress(step % 10, 10)
            time.sleep(0.05)
        raise AssertionError("the job was never told to stop")

    monkeypatch.setattr(model_jobs, "train_models", slow_training)
    with serving_lifecycle_workspace(tmp_path_factory) as server, \
            server.client("analyst") as http:
        location = http.post("/api/v1/models/jobs", json={"holdout_days": 5}).headers[
            "location"]
        deadline = time.monotonic() + 30
        while http.get(location).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        workspace = server.workspace
    [job] = model_jobs.list_jobs(workspace)
    assert job.status == "interrupted" and job.finished_at is not None
    assert model_jobs.get_job(workspace, job.job_id).log[-1].message == (
        "interrupted: the server stopped")
