"""Writing files, the `clearlane synth` command and ingesting the result."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.errors import ValidationError
from clearlane.schema.fields import canonical_schema
from clearlane.synth import SynthConfig, generate

HAS_INGEST = importlib.util.find_spec("clearlane.services.ingest") is not None


@pytest.fixture(scope="module")
def small():  # type: ignore[no-untyped-def]
    return generate(SynthConfig(n_items=2_000, seed=9))


def test_parquet_round_trip_is_exact(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = small.write(tmp_path, format="parquet")
    assert files.declarations.name == "declarations.parquet"
    assert pl.read_parquet(files.declarations).equals(small.declarations)
    assert pl.read_parquet(files.truth).equals(small.truth)


def test_csv_keeps_the_canonical_columns(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = small.write(tmp_path, format="csv")
    back = pl.read_csv(files.declarations, schema=canonical_schema())  # type: ignore[arg-type]
    assert back.columns == small.declarations.columns
    assert back.equals(small.declarations)


def test_unknown_format_is_rejected(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="xlsx"):
        small.write(tmp_path, format="xlsx")


def test_cli_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = CliRunner().invoke(
        app, ["synth", "--items", "1500", "--seed", "3", "--start", "2024-02-01", "--days", "90",
              "--out", str(out), "--format", "csv"],
    )
    assert result.exit_code == 0, result.output
    assert "Planted fraud" in result.output
    frame = pl.read_csv(out / "declarations.csv", schema=canonical_schema())  # type: ignore[arg-type]
    assert frame.height == 1500
    assert (out / "truth.csv").exists()


def test_cli_rejects_a_bad_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--items", "10", "--start", "01/02/2024",
                                      "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValidationError)


@pytest.mark.skipif(not HAS_INGEST, reason="clearlane.services.ingest is not available yet")
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_synthetic_data_ingests_cleanly_with_the_canonical_profile(
    tmp_path: Path, fmt: str
) -> None:
    result = CliRunner().invoke(
        app, ["synth", "--items", "3000", "--seed", "4", "--out", str(tmp_path / "data"),
              "--format", fmt, "--ingest", "-w", str(tmp_path / "ws")],
    )
    assert result.exit_code == 0, result.output
    from clearlane.store.workspace import Workspace

    stored = Workspace.open(tmp_path / "ws").declarations()
    assert stored.height == 3000
    assert stored["inspected"].sum() > 0
    rejected = Workspace.open(tmp_path / "ws").query("SELECT count(*) FROM quarantine").item()
    assert rejected == 0


def test_written_in_parts_the_files_hold_the_same_rows(tmp_path: Path) -> None:
    from clearlane.services.synth import write_synthetic, write_synthetic_parts

    config = SynthConfig(n_items=5000, days=400, seed=5)  # crosses a year: numbers restart
    whole = write_synthetic(config, tmp_path / "whole").files
    steps: list[float] = []
    parts = write_synthetic_parts(config, tmp_path / "parts", rows_per_part=1300,
                                  progress=lambda done, total: steps.append(done))
    for a, b in zip(whole, parts, strict=True):
        assert pl.read_parquet(a).equals(pl.read_parquet(b)), b.name
    assert steps[-1] == 6 + 4 and steps == sorted(steps)
