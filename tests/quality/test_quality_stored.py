"""The workspace's quality is judged on what it stores: a rejected row that a fixed file later
stored is not counted against the data, a key rejected twice counts once, and the quarantine
of a dropped batch is gone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clearlane.services.batches import drop_batch
from clearlane.services.ingest import ingest_file
from clearlane.services.quality import quality_report
from clearlane.store.workspace import Workspace

TODAY = date(2026, 11, 23)
HEADER = "declaration_id,item_no,declared_at,hs_code,origin_country,net_mass_kg,customs_value\n"
GOOD = [f"D{i:02d},1,2026-03-{1 + i:02d},010121,FR,100,{1000 + i}" for i in range(20)]
BROKEN = {3: "D03,1,2026-03-04,010121,FR,-100,1003", 7: "D07,1,2026-03-08,010121,Atlantis,100,1007"}


def write(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def broken_file(path: Path) -> Path:
    return write(path, [BROKEN.get(i, line) for i, line in enumerate(GOOD)])


def scores(ws: Workspace) -> dict[str, float]:
    report = quality_report(ws, as_of=TODAY)
    return {"overall": report.score.overall} | {c.name: c.value for c in report.score.components}


def test_rows_rejected_then_stored_from_a_fixed_file_are_not_counted(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    first = ingest_file(ws, broken_file(tmp_path / "first.csv"), today=TODAY)
    report = quality_report(ws, as_of=TODAY)
    assert (report.rows.accepted, report.rows.rejected, report.rows.read) == (18, 2, 20)
    validity = next(c for c in report.score.components if c.name == "validity")
    assert validity.value < 1.0

    ingest_file(ws, write(tmp_path / "fixed.csv", GOOD), today=TODAY)
    report = quality_report(ws, as_of=TODAY)
    assert (report.rows.accepted, report.rows.rejected, report.rows.resolved) == (20, 0, 2)
    assert report.rows.read == 20 and report.rows.read_by_ingest == 40
    assert report.field_quality("net_mass_kg").rejected == 0
    assert not [i for i in report.top_issues if i.source == "ingest"]
    assert any("not counted" in note for note in report.notes)
    # the failed batch's own report keeps what happened to it
    assert first.batch_id is not None
    assert quality_report(ws, first.batch_id, as_of=TODAY).rows.rejected == 2

    # and the workspace scores exactly as one that only ever saw the fixed file
    clean = Workspace.create(tmp_path / "clean")
    ingest_file(clean, write(tmp_path / "fixed.csv", GOOD), today=TODAY)
    assert scores(ws) == scores(clean)


def test_a_row_rejected_by_two_files_counts_once(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    ingest_file(ws, broken_file(tmp_path / "first.csv"), today=TODAY)
    # a second attempt that fixes D03 but still carries the bad D07
    second = [BROKEN[7] if i == 7 else line for i, line in enumerate(GOOD)]
    ingest_file(ws, write(tmp_path / "second.csv", second), today=TODAY)
    report = quality_report(ws, as_of=TODAY)
    assert (report.rows.accepted, report.rows.rejected, report.rows.resolved) == (19, 1, 2)
    origin = report.field_quality("origin_country")
    assert origin.rejected == 1
    assert report.field_quality("net_mass_kg").rejected == 0


def test_dropping_the_failed_batch_removes_its_quarantine(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    first = ingest_file(ws, broken_file(tmp_path / "first.csv"), today=TODAY)
    assert first.batch_id is not None
    drop_batch(ws, first.batch_id)
    ingest_file(ws, write(tmp_path / "fixed.csv", GOOD), today=TODAY)
    report = quality_report(ws, as_of=TODAY)
    assert (report.rows.read_by_ingest, report.rows.rejected, report.rows.resolved) == (20, 0, 0)
    assert ws.query("SELECT count(*) FROM quarantine").item() == 0
