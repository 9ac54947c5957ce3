"""`clearlane models retrain|jobs|job|compare|promote|rollback` as a user runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.api.guard_fixtures import audit_environment
from tests.api.models_fixtures import lifecycle_workspace, serving_lifecycle_workspace

from clearlane.models import registry
from clearlane.services import model_jobs

REPO = Path(__file__).resolve().parents[2]
JOB = re.compile(r"\bjob-\d{8}T\d{6}-[0-9a-f]{6}\b")
FRAUD = re.compile(r"\bfraud-\d{8}T\d{12}\b")


def clearlane(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "220", "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "clearlane.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_retrain_in_the_foreground_then_compare_promote_and_roll_back(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    workspace = lifecycle_workspace(tmp_path_factory)
    first = registry.get_model(workspace, kind="fraud").version
    ws = ["--workspace", str(workspace.path)]
    with audit_environment(tmp_path):
        done = clearlane("models", "retrain", "--holdout-days", "5", *ws, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "succeeded" in done.stdout and "Held-out comparison" in done.stdout
        assert "Retraining" in done.stderr  # the progress bar
        job_id = JOB.search(done.stdout).group(0)  # type: ignore[union-attr]
        [job] = model_jobs.list_jobs(workspace)
        assert (job.job_id, job.status, job.progress) == (job_id, "succeeded", 1.0)
        candidate = job.result["models"]["fraud"]  # type: ignore[index]
        assert candidate in done.stdout

        listed = clearlane("models", "jobs", *ws, cwd=tmp_path)
        shown = clearlane("models", "job", job_id, "--lines", "2", *ws, cwd=tmp_path)
        assert listed.returncode == shown.returncode == 0
        assert job_id in listed.stdout and "succeeded" in listed.stdout
        assert "succeeded" in shown.stdout and "queued" not in shown.stdout  # only the tail

        compared = clearlane("models", "compare", candidate, "--days", "3", *ws, cwd=tmp_path)
        assert compared.returncode == 0, compared.stderr
        assert "2024-01-28 – 2024-01-30" in compared.stdout and first in compared.stdout
        overlap = clearlane("models", "compare", candidate, "--days", "10", *ws, cwd=tmp_path)
        assert overlap.returncode == 2 and "overlaps" in overlap.stderr + overlap.stdout

        promoted = clearlane("models", "promote", candidate, "--reason", "better", *ws,
                             cwd=tmp_path)
        assert promoted.returncode == 0, promoted.stderr
        assert f"replacing {first}" in promoted.stdout
        assert registry.get_model(workspace, kind="fraud").version == candidate
        back = clearlane("models", "rollback", "fraud", "--reason", "regret", *ws, cwd=tmp_path)
        assert back.returncode == 0, back.stderr
        assert registry.get_model(workspace, kind="fraud").version == first
        again = clearlane("models", "rollback", "fraud", *ws, cwd=tmp_path)
        assert again.returncode == 4 and "nothing to roll back" in again.stderr + again.stdout


def test_retrain_in_the_background_prints_the_job_and_refuses_a_second(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    # it takes turns with the background process, as `clearlane models job` does
    workspace = model_jobs.patient(lifecycle_workspace(tmp_path_factory).path, 30.0)
    ws = ["--workspace", str(workspace.path)]
    with audit_environment(tmp_path):
        started = clearlane("models", "retrain", "--holdout-days", "5", "--background", *ws,
                            cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        job_id = started.stdout.strip()
        assert JOB.fullmatch(job_id), started.stdout
        second = clearlane("models", "retrain", "--holdout-days", "5", *ws, cwd=tmp_path)
        if second.returncode == 4:  # refused: the first was not finished
            assert job_id in second.stderr + second.stdout
        else:  # the first was done by then (a fast machine): the second ran after it
            assert second.returncode == 0, second.stderr
            first, then = model_jobs.get_job(workspace, job_id), model_jobs.list_jobs(workspace)[0]
            assert first.finished_at is not None and first.finished_at <= then.created_at
        deadline = time.monotonic() + 120
        while not (job := model_jobs.get_job(workspace, job_id)).finished:
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
    assert job.status == "succeeded" and job.pid is not None and job.pid != os.getpid()
    assert FRAUD.fullmatch(job.result["models"]["fraud"])  # type: ignore[index]


@pytest.mark.duckdb_only(reason="only the embedded file admits one process; PostgreSQL "
                         "serves the CLI and the server at once")
def test_a_served_workspace_is_retrained_over_the_api_not_the_command_line(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    with serving_lifecycle_workspace(tmp_path_factory) as server:
        refused = clearlane("models", "retrain", "--workspace", str(server.workspace.path),
                            cwd=tmp_path)
    assert refused.returncode == 6
    assert "clearlane serve" in refused.stderr + refused.stdout
    assert "use the API there" in refused.stderr + refused.stdout
