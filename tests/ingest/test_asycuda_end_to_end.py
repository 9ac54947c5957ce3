"""An ASYCUDA World-style export, start to finish, through the real CLI: write it with the
generator (multi-line notes, dd-Mon-yy dates, "n of m" items, national country codes),
`clearlane profile suggest`, ingest the suggestion unchanged, and get every row; the same with
the shipped `asycuda` profile, on history (with outcomes) and on new declarations (without)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from clearlane.cli.main import app
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, SynthResult, generate
from clearlane.synth.asycuda_export import AsycudaExportOptions, write_asycuda_export

runner = CliRunner()

def clearlane(*args: str) -> Result:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def history() -> SynthResult:
    return generate(SynthConfig(n_items=900, seed=13, days=60, start=date(2024, 3, 1)))


@pytest.fixture(scope="module")
def new_declarations() -> SynthResult:
    return generate(SynthConfig(n_items=300, seed=14, days=20, start=date(2025, 2, 1)))


def batch_counts(ws: Path) -> list[dict[str, int]]:
    return Workspace.open(ws).query(
        "SELECT rows_read, rows_accepted, rows_rejected, rows_duplicate, rows_conflict "
        "FROM ingest_batches ORDER BY started_at"
    ).to_dicts()


def assert_every_row_stored(ws: Path, export: Path, expected_rows: int) -> None:
    rows_in_file = pl.read_csv(export, infer_schema=False).height
    assert rows_in_file == expected_rows
    counts = batch_counts(ws)[-1]
    assert counts == {"rows_read": rows_in_file, "rows_accepted": rows_in_file,
                      "rows_rejected": 0, "rows_duplicate": 0, "rows_conflict": 0}
    assert Workspace.open(ws).query("SELECT count(*) AS n FROM quarantine")["n"][0] == 0


def stored(ws: Path) -> pl.DataFrame:
    return Workspace.open(ws).query("SELECT * FROM declarations")


def test_suggested_profile_ingests_the_export_unchanged(
    history: SynthResult, new_declarations: SynthResult, tmp_path: Path
) -> None:
    export = write_asycuda_export(
        history, tmp_path / "export.csv", AsycudaExportOptions(pseudonymised_countries=True)
    )
    profile = tmp_path / "suggested.yaml"
    suggested = clearlane("profile", "suggest", str(export), "--out", str(profile))
    assert "Needs a decision" not in suggested.output
    assert "should ingest as is" in suggested.output
    text = profile.read_text()
    assert "extract:" in text and "codes: keep" in text and "%d-%b-%y" in text
    ws = tmp_path / "ws"
    clearlane("init", "-w", str(ws))
    clearlane("ingest", str(export), "--profile", str(profile), "-w", str(ws))
    assert_every_row_stored(ws, export, history.declarations.height)
    rows = stored(ws)
    d = history.declarations
    assert rows["item_no"].max() == d["item_no"].max()
    assert sorted(rows["declared_at"].to_list()) == sorted(d["declared_at"].to_list())
    assert rows["origin_country"].str.contains(r"^C\d{4}$").all()  # national codes kept
    assert int(rows["inspected"].sum()) == int(d["inspected"].sum())
    assert int(rows["fraud"].fill_null(False).sum()) == int(d["fraud"].fill_null(False).sum())
    assert rows["extra"].str.contains("Importer Name").all()  # names kept, as extras
    # The same suggestion reads new declarations, without the outcome block.
    new = write_asycuda_export(
        new_declarations, tmp_path / "new.csv",
        AsycudaExportOptions(with_outcomes=False, pseudonymised_countries=True),
    )
    clearlane("ingest", str(new), "--profile", str(profile), "-w", str(ws))
    assert_every_row_stored(ws, new, new_declarations.declarations.height)


def test_shipped_profile_reads_history_and_new_declarations(
    history: SynthResult, new_declarations: SynthResult, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    clearlane("init", "-w", str(ws))
    with_outcomes = write_asycuda_export(history, tmp_path / "history.csv")
    clearlane("ingest", str(with_outcomes), "--profile", "asycuda", "-w", str(ws))
    assert_every_row_stored(ws, with_outcomes, history.declarations.height)

    without = write_asycuda_export(
        new_declarations, tmp_path / "new.csv", AsycudaExportOptions(with_outcomes=False)
    )
    clearlane("ingest", str(without), "--profile", "asycuda", "-w", str(ws))
    assert_every_row_stored(ws, without, new_declarations.declarations.height)

    rows = stored(ws)
    assert rows.height == history.declarations.height + new_declarations.declarations.height
    new = rows.filter(pl.col("declared_at") >= date(2025, 2, 1))
    assert new.height == new_declarations.declarations.height
    assert new["inspected"].is_null().all() and new["fraud"].is_null().all()
    old = rows.filter(pl.col("declared_at") < date(2025, 2, 1))
    assert int(old["inspected"].sum()) == int(history.declarations["inspected"].sum())
    assert set(old["origin_country"].drop_nulls()) <= set(history.declarations["origin_country"])
