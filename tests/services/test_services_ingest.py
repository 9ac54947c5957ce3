"""Ingest use case against a real workspace: atomic, idempotent, conflicts never overwrite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.services.ingest import ingest_file
from clearlane.store.workspace import Workspace

HEADER = "declaration_id,item_no,declared_at,hs_code,origin_country,net_mass_kg,customs_value\n"


def write(path: Path, *lines: str) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def table_snapshot(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in (
        "declarations",
        "quarantine",
        "ingest_batches",
        "ingest_issues",
        "conflicts",
        "normalisations",
    ):
        out[table] = sorted(ws.query(f"SELECT * FROM {table}").rows(), key=repr)
    return out


def test_ingest_then_same_file_again_adds_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.csv", "D1,1,2024-01-02,851713,CN,10,100", "D1,2,2024-01-02,851713,KR,5,50"
    )
    first = ingest_file(workspace, path, "canonical", today=date(2024, 6, 1))
    assert first.counts.rows_accepted == 2
    before = table_snapshot(workspace)
    again = ingest_file(workspace, path, "canonical", today=date(2024, 6, 1))
    assert again.already_ingested
    assert table_snapshot(workspace) == before


def test_same_rows_in_another_file_are_duplicates(workspace: Workspace, tmp_path: Path) -> None:
    ingest_file(
        workspace,
        write(tmp_path / "a.csv", "D1,1,2024-01-02,851713,CN,10,100"),
        today=date(2024, 6, 1),
    )
    report = ingest_file(
        workspace,
        write(
            tmp_path / "b.csv", "D1,1,2024-01-02,851713,CN,10,100", "D2,1,2024-01-03,851713,CN,1,9"
        ),
        today=date(2024, 6, 1),
    )
    assert (
        report.counts.rows_accepted,
        report.counts.rows_duplicate,
        report.counts.rows_conflict,
    ) == (1, 1, 0)


def test_changed_content_is_a_conflict_never_an_overwrite(
    workspace: Workspace, tmp_path: Path
) -> None:
    ingest_file(
        workspace,
        write(tmp_path / "a.csv", "D1,1,2024-01-02,851713,CN,10,100"),
        today=date(2024, 6, 1),
    )
    report = ingest_file(
        workspace,
        write(tmp_path / "b.csv", "D1,1,2024-01-02,851713,CN,10,999"),
        today=date(2024, 6, 1),
    )
    assert report.counts.rows_conflict == 1
    assert workspace.query("SELECT customs_value FROM declarations").item() == 100
    conflict = workspace.query("SELECT * FROM conflicts").row(0, named=True)
    assert conflict["declaration_id"] == "D1" and conflict["source_row"] == 2
    assert conflict["differing_fields"] == "customs_value"


def test_conflict_inside_one_file(workspace: Workspace, tmp_path: Path) -> None:
    report = ingest_file(
        workspace,
        write(
            tmp_path / "a.csv", "D1,1,2024-01-02,851713,CN,10,100", "D1,1,2024-01-02,851713,CN,10,7"
        ),
        today=date(2024, 6, 1),
    )
    assert (report.counts.rows_accepted, report.counts.rows_conflict) == (1, 1)


def test_bad_rows_go_to_quarantine_with_line_numbers(workspace: Workspace, tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv",
        "D1,1,2024-01-02,851713,CN,10,100",
        "D2,1,2024-01-02,851713,CN,-4,100",  # line 3: negative mass
        "D3,1,2024-01-02,851713",  # line 4: malformed (too few columns)
        "D4,1,2099-01-02,851713,CN,1,1",  # line 5: future date
        "D5,1,2024-01-02,851713,Atlantis,1,1",  # line 6: unknown country
        "D6,1,2024-01-03,851713,FR,1,1",
    )
    report = ingest_file(workspace, path, today=date(2024, 6, 1))
    assert report.counts.rows_read == 6
    assert report.counts.rows_accepted == 2
    assert report.counts.rows_rejected == 4
    quarantine = workspace.query("SELECT source_row, reasons FROM quarantine ORDER BY source_row")
    assert quarantine.get_column("source_row").to_list() == [3, 4, 5, 6]
    reasons = quarantine.get_column("reasons").to_list()
    assert "net_mass_kg" in reasons[0] and "negative mass" in reasons[0]
    assert "malformed CSV line" in reasons[1]
    assert "future" in reasons[2]
    assert "unknown country" in reasons[3]
    accepted_rows = workspace.query("SELECT source_row FROM declarations ORDER BY source_row")
    assert accepted_rows.get_column("source_row").to_list() == [2, 7]


def test_missing_required_column_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    ingest_file(
        workspace,
        write(tmp_path / "a.csv", "D1,1,2024-01-02,851713,CN,10,100"),
        today=date(2024, 6, 1),
    )
    before = table_snapshot(workspace)
    path = tmp_path / "nohs.csv"
    path.write_text("declaration_id,declared_at\nD9,2024-01-01\n")
    with pytest.raises(ValidationError, match="hs_code"):
        ingest_file(workspace, path)
    assert table_snapshot(workspace) == before


def test_failure_mid_ingest_rolls_back(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_file(
        workspace,
        write(tmp_path / "a.csv", "D1,1,2024-01-02,851713,CN,10,100"),
        today=date(2024, 6, 1),
    )
    before = table_snapshot(workspace)
    from clearlane.store import ingest_writer

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_writer.IngestWriter, "finish", boom)
    with pytest.raises(RuntimeError):
        ingest_file(
            workspace,
            write(tmp_path / "b.csv", "D2,1,2024-01-02,851713,CN,10,100"),
            today=date(2024, 6, 1),
        )
    assert table_snapshot(workspace) == before


def test_kcs_profile_end_to_end(workspace: Workspace, kcs_dir: Path) -> None:
    report = ingest_file(workspace, kcs_dir / "df_syn_valid_eng.csv", "kcs")
    source = pl.read_csv(kcs_dir / "df_syn_valid_eng.csv", infer_schema=False)
    assert report.counts.rows_read == source.height
    assert report.counts.rows_accepted + report.counts.rows_rejected == source.height
    stored = workspace.declarations()
    assert stored.get_column("fraud").sum() == (source.get_column("Fraud") == "1").sum()
    assert stored.get_column("critical").sum() == (source.get_column("Critical Fraud") == "2").sum()
    assert stored.get_column("currency").unique().to_list() == ["KRW"]
    assert stored.get_column("extra").str.contains("Tax Type").all()


def test_read_ahead_keeps_order_and_raises_reader_errors_in_the_caller() -> None:
    from clearlane.services.ingest import ReadAhead

    with ReadAhead(iter(range(50))) as ahead:
        assert list(ahead) == list(range(50))

    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("line 7: unreadable")

    seen: list[int] = []
    with pytest.raises(ValueError, match="line 7"), ReadAhead(broken()) as ahead:
        for item in ahead:
            seen.append(item)
    assert seen == [1]


@pytest.mark.parametrize("consumed", [0, 1])
def test_read_ahead_ends_its_reader_when_closed_early(consumed: int) -> None:
    import threading

    from clearlane.services.ingest import ReadAhead

    ahead = ReadAhead(iter(range(1_000)))
    for _, item in zip(range(consumed), ahead, strict=False):
        assert item == 0
    ahead.close()  # the caller stopped (already ingested, or an error): the reader must end
    assert not any(t.name == "clearlane-ingest-reader" for t in threading.enumerate())
