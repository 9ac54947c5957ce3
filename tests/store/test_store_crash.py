"""A real ingest process killed mid-file leaves the store exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl

from clearlane.services.ingest import ingest_file
from clearlane.store.workspace import Workspace

CHILD = """
import sys, time
from pathlib import Path
from clearlane.services.ingest import ingest_file
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

workspace, source, marker = Workspace.open(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

def progress(done, total):
    marker.write_text(str(done))
    time.sleep(0.3)

ingest_file(workspace, source, "canonical", settings=Settings(batch_rows=1000), progress=progress)
marker.write_text("finished")
"""


def snapshot(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: sorted(ws.query(f"SELECT * FROM {t}").rows(), key=repr)
        for t in ("declarations", "quarantine", "ingest_batches", "ingest_issues", "conflicts")
    }


def big_csv(path: Path, n: int, prefix: str) -> Path:
    pl.DataFrame(
        {
            "declaration_id": [f"{prefix}{i}" for i in range(n)],
            "declared_at": ["2024-03-01"] * n,
            "hs_code": ["851713"] * n,
            "customs_value": [float(i % 997) for i in range(n)],
            "net_mass_kg": [-1.0 if i % 500 == 0 else 2.0 for i in range(n)],
        }
    ).write_csv(path)
    return path


def test_killed_ingest_leaves_store_unchanged(workspace: Workspace, tmp_path: Path) -> None:
    ingest_file(workspace, big_csv(tmp_path / "first.csv", 3000, "A"), today=date(2024, 6, 1))
    before = snapshot(workspace)
    assert len(before["declarations"]) == 2994

    source = big_csv(tmp_path / "second.csv", 40_000, "B")
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(workspace.path), str(source), str(marker)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the ingest process never reached its first batch"
    assert marker.read_text() != "finished"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    reopened = Workspace.open(workspace.path)
    assert snapshot(reopened) == before

    # The interrupted file was not recorded as ingested: a new attempt takes it whole.
    report = ingest_file(reopened, source, today=date(2024, 6, 1))
    assert not report.already_ingested
    assert report.counts.rows_accepted == 40_000 - 80
    assert report.counts.rows_rejected == 80
