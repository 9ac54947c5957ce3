"""Every state change of a workspace appends an audit entry in its own transaction, and the real
`clearlane audit verify` passes on the intact chain and names the entry a raw SQL edit broke."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from clearlane.selection import SelectionPolicy
from clearlane.services import audit
from clearlane.services.batches import drop_batch
from clearlane.services.ingest import ingest_file
from clearlane.services.outcomes import record_outcomes
from clearlane.services.risk import assess_declarations, train_models
from clearlane.services.selection import override_lane, select_for_inspection
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(autouse=True)
def audit_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A key and a checkpoint folder of this test's own (never the user's ~/.config)."""
    monkeypatch.setenv("CLEARLANE_AUDIT_KEY", str(tmp_path / "keys" / "audit.pem"))
    monkeypatch.setenv("CLEARLANE_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    return tmp_path


def clearlane(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearlane.cli.main", *args], capture_output=True, text=True,
        timeout=300, env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"})


def actions(ws: Workspace) -> list[str]:
    return [e.action for e in audit.log(ws)]


@pytest.mark.duckdb_only(reason="tampers with the .duckdb file directly")
def test_state_changes_are_audited_and_tampering_is_named(workspace: Workspace,
                                                           tmp_path: Path) -> None:
    data = generate(SynthConfig(n_items=1500, days=20, seed=5)).declarations
    path = tmp_path / "decl.parquet"
    data.write_parquet(path)
    ingest_file(workspace, path, "canonical")
    assert actions(workspace) == ["ingest.batch"]
    change = json.loads(audit.log(workspace)[0].change)
    assert change["counts"]["rows_accepted"] == data.height  # a record, kept as its fields
    assert ingest_file(workspace, path, "canonical").already_ingested  # nothing changed: no entry
    assert actions(workspace) == ["ingest.batch"]
    train_models(workspace, search=False, promote=True, seed=1)
    assert "model.register" in actions(workspace) and "model.promote" in actions(workspace)
    assess_declarations(workspace)
    assert actions(workspace)[-1] == "assess.run"
    run = select_for_inspection(workspace, seed=1, policy=SelectionPolicy(
        red_rate=0.2, random_share=0.05, per_declaration=False))
    assert actions(workspace)[-1] == "select.run"
    red = run.result.lanes.filter(pl.col("lane") == "red").select("declaration_id", "item_no")
    first_red = str(red["declaration_id"][0])
    override_lane(workspace, declaration_id=first_red, to_lane="green",
                  justification="known trader, documents checked", officer_id="o1")
    last = audit.log(workspace, 1)[0]
    assert (last.action, last.object_id) == ("override.record", first_red)
    record_outcomes(workspace, red.head(5).with_columns(fraud=pl.lit(False)))
    entries = audit.log(workspace)
    assert entries[-1].action == "outcome.record"
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    assert all(e.actor == audit.os_user() for e in entries)

    ok = clearlane("audit", "verify", "-w", str(workspace.path))
    assert ok.returncode == 0, ok.stderr
    assert f"{len(entries):,} entries" in ok.stdout
    assert (tmp_path / "checkpoints" / "ws.audit-checkpoint.json").exists()
    listed = clearlane("audit", "log", "-w", str(workspace.path), "--limit", "2")
    assert listed.returncode == 0 and "outcome.record" in listed.stdout

    target = entries[1].sequence
    with duckdb.connect(str(workspace.database)) as con:
        con.execute("UPDATE audit_log SET actor = 'someone-else' WHERE sequence = ?", [target])
    broken = clearlane("audit", "verify", "-w", str(workspace.path))
    assert broken.returncode == 8, broken.stderr
    assert f"entry {target} (edited)" in broken.stderr
    assert "Traceback" not in broken.stderr


@pytest.mark.duckdb_only(reason="tampers with the .duckdb file directly")
def test_deleting_the_tail_is_named_as_truncation(workspace: Workspace, tmp_path: Path) -> None:
    with workspace.transaction() as con:
        for i in range(4):
            audit.record(con, action="test.change", object_type="thing", object_id=str(i),
                         change={"i": i})
    assert audit.checkpoint(workspace) is not None
    with duckdb.connect(str(workspace.database)) as con:
        con.execute("DELETE FROM audit_log WHERE sequence >= 3")
    result = clearlane("audit", "verify", "-w", str(workspace.path))
    assert result.returncode == 8
    assert "entry 3 (truncated)" in result.stderr


def test_an_entry_exists_only_if_its_change_committed(workspace: Workspace) -> None:
    with pytest.raises(RuntimeError), workspace.transaction() as con:
        audit.record(con, action="test.change", object_type="thing", object_id="x", change={})
        raise RuntimeError("the change fails")
    assert audit.log(workspace) == []


def test_a_batch_drop_is_audited(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "decl.parquet"
    generate(SynthConfig(n_items=200, days=5, seed=2)).declarations.write_parquet(path)
    batch = ingest_file(workspace, path, "canonical").batch_id
    assert batch is not None
    with audit.acting_as("user:ana"):
        drop_batch(workspace, batch, reason="wrong file")
    last = audit.log(workspace, 1)[0]
    assert (last.action, last.object_id, last.actor) == ("batch.drop", batch, "user:ana")
    assert audit.verify_workspace(workspace).ok


def test_each_entry_links_to_the_head_before_it(workspace: Workspace) -> None:
    for n in range(3):
        audit.record_event(workspace, action="test.event", object_type="test",
                           object_id=str(n), change={"n": n})
    entries = audit.log(workspace)
    assert [e.sequence for e in entries] == [1, 2, 3]
    assert [e.previous_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert audit.verify_workspace(workspace).ok
