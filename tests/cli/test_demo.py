"""`clearlane demo` twice on the same workspace: the second run reuses, never doubles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clearlane.store.transfer import table_names
from clearlane.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearlane.cli.main", "demo", "--items", "3000", "-w", "ws"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={
            "COLUMNS": "200",
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
            "PYTHONPATH": str(REPO / "src"),
            "HOME": str(cwd),
        },
    )


def row_counts(ws: Workspace) -> dict[str, int]:
    with ws.connect() as con:
        names = [*table_names(con), "schema_migrations"]
    return {name: int(ws.query(f'SELECT count(*) FROM "{name}"').item()) for name in names}


def test_demo_twice_reuses_models_and_the_assessed_week(tmp_path: Path) -> None:
    first = demo(tmp_path)
    assert first.returncode == 0, first.stderr
    ws = Workspace.open(tmp_path / "ws")
    after_first = row_counts(ws)
    assert after_first["models"] == 2
    assert after_first["risk_assessments"] > 0 and after_first["lane_decisions"] > 0
    versions = set(ws.query("SELECT version FROM models").get_column("version"))

    second = demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already ingested" in second.stdout
    assert "Reusing the trained models" in second.stdout
    assert "already selected" in second.stdout
    grown = row_counts(ws)
    # the audit log records the one thing the second run does again: it re-stores the week's
    # assessments (same rows); nothing else is ingested, trained, promoted or selected
    audit_before = after_first.pop("audit_log")
    actions = ws.query("SELECT action FROM audit_log WHERE sequence > ? ORDER BY sequence",
                       [audit_before]).get_column("action").to_list()
    assert set(actions) <= {"assess.run"}
    assert grown.pop("audit_log") == audit_before + len(actions)
    assert grown == after_first  # no table grew: models, assessments, lanes, batches
    assert set(ws.query("SELECT version FROM models").get_column("version")) == versions
