"""Retraining jobs: recorded, one at a time, progress and log, failures and interruptions."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from tests.api.models_fixtures import PROMOTED_TO, lifecycle_workspace

from clearlane.errors import ConflictError, ValidationError
from clearlane.models import registry
from clearlane.services import model_jobs
from clearlane.services.model_jobs import TrainParameters
from clearlane.store.workspace import Workspace


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return lifecycle_workspace(tmp_path_factory)


def _audited(workspace: Workspace, job_id: str) -> list[str]:
    return workspace.query("SELECT action FROM audit_log WHERE object_id = ? ORDER BY sequence",
                           [job_id])["action"].to_list()


def test_a_job_trains_candidates_on_all_but_the_held_out_days_and_compares(
        workspace: Workspace) -> None:
    promoted = registry.get_model(workspace, kind="fraud")
    seen: list[float] = []
    job = model_jobs.create_train_job(workspace, TrainParameters(holdout_days=5))
    assert (job.status, job.progress) == ("queued", 0.0)
    done = model_jobs.run_job(workspace, job.job_id, on_progress=lambda f, _: seen.append(f))
    assert done.status == "succeeded" and done.progress == 1.0 and done.finished_at
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert done.result is not None
    fraud = registry.get_model(workspace, done.result["models"]["fraud"])
    anomaly = registry.get_model(workspace, done.result["models"]["anomaly"])
    assert (fraud.status, anomaly.status) == ("candidate", "candidate")
    assert registry.get_model(workspace, kind="fraud").version == promoted.version
    # the latest labelled day is 2024-01-30: five days held out, trained up to the 25th
    assert str(fraud.train_to)[:10] == "2024-01-25" == done.result["train_to"]
    comparison = done.result["comparison"]
    assert (comparison["window_from"], comparison["window_to"]) == ("2024-01-26", "2024-01-30")
    assert comparison["candidate"]["version"] == fraud.version
    assert comparison["candidate"]["saw_window"] is False
    assert comparison["baseline"]["version"] == promoted.version
    assert comparison["baseline"]["saw_window"] is False  # trained to 2024-01-20
    messages = [line.message for line in done.log]
    assert messages[0] == "queued" and messages[-1] == "succeeded"
    assert any(fraud.version in m for m in messages)
    assert _audited(workspace, job.job_id) == ["job.create", "job.succeeded"]


def test_one_job_at_a_time(workspace: Workspace) -> None:
    first = model_jobs.create_train_job(workspace, TrainParameters(holdout_days=5))
    with pytest.raises(ConflictError, match=first.job_id):
        model_jobs.create_train_job(workspace, TrainParameters(holdout_days=5))
    model_jobs.run_job(workspace, first.job_id)
    second = model_jobs.create_train_job(workspace, TrainParameters(holdout_days=5))
    assert second.job_id != first.job_id
    with pytest.raises(ConflictError, match="not queued"):
        model_jobs.run_job(workspace, first.job_id)


def test_nothing_to_train_on_is_refused_before_a_job_is_recorded(workspace: Workspace) -> None:
    with pytest.raises(ValidationError, match="no declarations to train on"):
        model_jobs.create_train_job(workspace, TrainParameters(holdout_days=400))
    with pytest.raises(ValidationError, match="holdout_days"):
        model_jobs.create_train_job(workspace, TrainParameters(holdout_days=-1))
    assert model_jobs.list_jobs(workspace) == []


def test_a_failure_is_recorded_with_its_message_and_no_traceback(workspace: Workspace) -> None:
    # five days of data: too few inspected declarations for the fraud model
    params = TrainParameters(date_from=PROMOTED_TO - timedelta(days=1), date_to=PROMOTED_TO,
                             holdout_days=0)
    job = model_jobs.create_train_job(workspace, params)
    with workspace.transaction() as con:  # make the fraud model fail once training starts
        con.execute("UPDATE declarations SET inspected = true, fraud = false "
                    "WHERE declared_at BETWEEN '2024-01-19' AND '2024-01-20'")
    done = model_jobs.run_job(workspace, job.job_id)
    assert done.status == "failed"
    last = done.log[-1].message
    assert last.startswith("failed: ") and "frauds" in last and "Traceback" not in last
    assert _audited(workspace, job.job_id) == ["job.create", "job.failed"]


def test_a_job_whose_runner_is_gone_is_interrupted(workspace: Workspace) -> None:
    job = model_jobs.create_train_job(workspace, TrainParameters(holdout_days=5))
    # as if a server of this process had started it, then stopped without finishing
    with workspace.transaction() as con:
        con.execute("UPDATE jobs SET status = 'running', pid = ?, heartbeat_at = created_at "
                    "WHERE job_id = ?", [os.getpid(), job.job_id])
    [listed] = model_jobs.list_jobs(workspace)
    assert listed.status == "interrupted" and listed.finished_at is not None
    assert "interrupted" in model_jobs.get_job(workspace, job.job_id).log[-1].message
    assert _audited(workspace, job.job_id) == ["job.create", "job.interrupted"]
    # the workspace is free again
    assert model_jobs.create_train_job(workspace, TrainParameters(holdout_days=5)).status == "queued"


def test_a_queued_job_never_started_is_interrupted_once_stale(workspace: Workspace) -> None:
    job = model_jobs.create_train_job(workspace, TrainParameters(holdout_days=5))
    assert model_jobs.get_job(workspace, job.job_id).status == "queued"  # fresh: left alone
    with workspace.transaction() as con:
        con.execute("UPDATE jobs SET created_at = created_at - INTERVAL 1 HOUR")
    assert model_jobs.recover_jobs(workspace) == [job.job_id]
    assert model_jobs.get_job(workspace, job.job_id).status == "interrupted"


def test_parameters_round_trip() -> None:
    params = TrainParameters(date_from=PROMOTED_TO, date_to=None, holdout_days=3, search=True,
                             seed=9)
    assert TrainParameters.from_dict(params.as_dict()) == params
