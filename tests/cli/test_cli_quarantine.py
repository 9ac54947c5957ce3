"""`clearlane quarantine`: the offending value of each rejected field; conflicts exported with
the incoming row's content; `clearlane batches` list / show / drop from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.services.ingest import ingest_file
from clearlane.store.workspace import Workspace

HEADER = "declaration_id,item_no,declared_at,hs_code,origin_country,net_mass_kg,customs_value\n"
TODAY = date(2024, 6, 1)
runner = CliRunner()


def write(path: Path, *lines: str) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_quarantine_shows_field_value_and_reason(workspace: Workspace, tmp_path: Path) -> None:
    ingest_file(
        workspace,
        write(tmp_path / "a.csv", "D1,1,2024-01-02,851713,Atlantis,10,100", "D2,1,2024-01-02,851713,CN,-42,1"),
        today=TODAY,
    )
    out = invoke("quarantine", "-w", str(workspace.path))
    lines = [line for line in out.splitlines() if "a.csv" in line]
    assert len(lines) == 2
    assert "origin_country" in lines[0] and "Atlantis" in lines[0] and "unknown country" in lines[0]
    assert "net_mass_kg" in lines[1] and "-42" in lines[1] and "negative mass" in lines[1]
    assert " 2 " in lines[0] and " 3 " in lines[1]  # the file's line numbers


def test_conflicts_are_shown_and_exported_with_the_incoming_row(
    workspace: Workspace, tmp_path: Path
) -> None:
    ingest_file(workspace, write(tmp_path / "a.csv", "D1,1,2024-01-02,851713,CN,10,100"), today=TODAY)
    ingest_file(workspace, write(tmp_path / "b.csv", "D1,1,2024-01-02,851713,CN,10,999"), today=TODAY)
    assert "1 conflicting rows" in invoke("quarantine", "-w", str(workspace.path))
    shown = invoke("quarantine", "--conflicts", "-w", str(workspace.path))
    assert "D1/1" in shown and "customs_value" in shown
    target = tmp_path / "conflicts.csv"
    invoke("quarantine", "--conflicts", "--export", str(target), "-w", str(workspace.path))
    exported = pl.read_csv(target)
    assert exported.height == 1
    row = exported.row(0, named=True)
    assert (row["declaration_id"], row["differing_fields"], row["incoming_customs_value"]) == (
        "D1", "customs_value", 999.0,
    )
    # the quarantine export writes the rejected rows (none here), not the conflicts
    rejected = tmp_path / "rejected.csv"
    assert "Wrote 0 quarantined rows" in invoke(
        "quarantine", "--export", str(rejected), "-w", str(workspace.path)
    )


def test_batches_commands(workspace: Workspace, tmp_path: Path) -> None:
    a = ingest_file(workspace, write(tmp_path / "a.csv", "D1,1,2024-01-02,851713,Atlantis,10,100",
                                     "D2,1,2024-01-02,851713,CN,1,1"), today=TODAY)
    assert a.batch_id is not None
    listed = invoke("batches", "list", "-w", str(workspace.path))
    assert a.batch_id in listed and "a.csv" in listed
    shown = invoke("batches", "show", a.batch_id[:15], "-w", str(workspace.path))
    assert "origin_country" in shown and "Now stored: 1 rows" in shown
    dropped = invoke("batches", "drop", "latest", "--reason", "test", "-w", str(workspace.path))
    assert f"Dropped batch {a.batch_id}" in dropped and "1 declarations" in dropped
    log = invoke("batches", "list", "--dropped", "-w", str(workspace.path))
    assert a.batch_id[:10] in log and "test" in log
    assert "No ingest batch yet" in invoke("batches", "list", "-w", str(workspace.path))
