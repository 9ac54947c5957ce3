"""`clearlane cases …` as a user runs it: the queue of an officer's offices, next, comment,
attach, a conflict on another officer's lock, close recording the outcome as a label."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.api.cases_fixtures import selected_workspace
from tests.api.conftest import OFFICE
from tests.api.guard_fixtures import audit_environment

from clearlane.services.outcomes import list_outcomes
from clearlane.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
ALERT = re.compile(r"\bA[0-9a-f]{12}\b")


def clearlane(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "clearlane.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_an_officer_works_a_case_from_the_command_line(tmp_path: Path) -> None:
    with audit_environment(tmp_path):
        workspace, _ = selected_workspace(tmp_path)
        ws = ["--workspace", str(workspace.path)]

        listed = clearlane("cases", "list", "--officer", "officer0", "--limit", "1000", *ws,
                           cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert OFFICE in listed.stdout and "PORT02" not in listed.stdout

        taken = clearlane("cases", "next", "--officer", "officer0", *ws, cwd=tmp_path)
        assert taken.returncode == 0, taken.stderr
        found = ALERT.search(taken.stdout)
        assert found is not None, taken.stdout
        alert = found.group(0)
        assert "locked by officer0" in " ".join(taken.stdout.split())

        other = clearlane("cases", "comment", alert, "mine?", "--officer", "officer1", *ws,
                          cwd=tmp_path)
        assert other.returncode == 4  # a conflict, naming who holds it
        assert "officer0" in other.stdout + other.stderr

        note = tmp_path / "note.txt"
        note.write_text("seals intact; invoice copy attached\n", encoding="utf-8")
        for step in (("comment", alert, "seals intact"), ("attach", alert, str(note))):
            done = clearlane("cases", *step, "--officer", "officer0", *ws, cwd=tmp_path)
            assert done.returncode == 0, done.stderr

        closed = clearlane("cases", "close", alert, "--fraud", "--revenue", "500",
                           "--finding", "undervalued", "--officer", "officer0", *ws,
                           cwd=tmp_path)
        assert closed.returncode == 0, closed.stderr
        shown = clearlane("cases", "show", alert, "--officer", "officer0", *ws, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        for kind in ("lock", "comment", "attach", "close", "note.txt"):
            assert kind in shown.stdout

        unknown = clearlane("cases", "list", "--officer", "nobody", *ws, cwd=tmp_path)
        assert unknown.returncode == 2 and "nobody" in unknown.stdout + unknown.stderr

    outcomes = list_outcomes(Workspace.open(workspace.path))
    assert outcomes.height == 1
    row = outcomes.row(0, named=True)
    assert (row["fraud"], row["revenue_recovered"], row["officer_id"]) == (True, 500.0,
                                                                           "officer0")
