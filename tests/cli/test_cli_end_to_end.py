"""The real `clearlane` command, from an empty folder, as a new user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

CLEARLANE = str(Path(sys.executable).parent / "clearlane")
SRC = Path(__file__).resolve().parents[2] / "src"  # this checkout's code, not the installed one


def clearlane(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLEARLANE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "COLUMNS": "200",
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
            "PYTHONPATH": str(SRC),
        },
    )


def test_help_reads_like_a_product(tmp_path: Path) -> None:
    result = clearlane("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("init", "ingest", "quality", "synth", "info", "profile", "quarantine", "demo"):
        assert command in result.stdout


def test_init_synth_ingest_info_quality(tmp_path: Path) -> None:
    ws = "ws"
    assert clearlane("init", "-w", ws, cwd=tmp_path).returncode == 0
    synth = clearlane("synth", "--items", "3000", "--out", "data", "--format", "csv", cwd=tmp_path)
    assert synth.returncode == 0, synth.stderr
    ingest = clearlane("ingest", "data/declarations.csv", "-w", ws, cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert "3,000" in ingest.stdout
    again = clearlane("ingest", "data/declarations.csv", "-w", ws, cwd=tmp_path)
    assert "already ingested" in again.stdout
    info = clearlane("info", "-w", ws, cwd=tmp_path)
    assert "3,000" in info.stdout
    quality = clearlane("quality", "-w", ws, cwd=tmp_path)
    assert quality.returncode == 0, quality.stderr
    assert (tmp_path / ws / "reports" / "quality.html").exists()


def test_bad_file_exits_with_clear_message(tmp_path: Path) -> None:
    clearlane("init", "-w", "ws", cwd=tmp_path)
    (tmp_path / "empty.csv").write_text("")
    result = clearlane("ingest", "empty.csv", "-w", "ws", cwd=tmp_path)
    assert result.returncode == 2
    assert "empty.csv" in result.stderr and "empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_workspace_is_named(tmp_path: Path) -> None:
    result = clearlane("info", "-w", "nowhere", cwd=tmp_path)
    assert result.returncode == 3
    assert "clearlane init" in result.stderr


def test_profile_suggest_for_kcs_layout(tmp_path: Path, kcs_dir: Path) -> None:
    out = tmp_path / "suggested.yaml"
    result = clearlane(
        "profile", "suggest", str(kcs_dir / "df_syn_valid_eng.csv"), "--out", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    for line in (
        "declaration_id: Declaration ID",
        "hs_code: HS6 Code",
        "origin_country: Country of Origin",
    ):
        assert line in text
    # The suggestion is usable as is: the file ingests with it.
    assert clearlane("init", "-w", "ws", cwd=tmp_path).returncode == 0
    ingest = clearlane(
        "ingest", str(kcs_dir / "df_syn_valid_eng.csv"), "-p", str(out), "-w", "ws", cwd=tmp_path
    )
    assert ingest.returncode == 0, ingest.stderr


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "jsonl"])
def test_ingest_each_format(tmp_path: Path, fmt: str) -> None:
    clearlane("init", "-w", "ws", cwd=tmp_path)
    frame = pl.DataFrame(
        {
            "declaration_id": ["A1", "A2"],
            "declared_at": ["2024-01-02", "2024-01-03"],
            "hs_code": ["6109.10", "851713"],
            "origin_country": ["Bangladesh", "CHN"],
        }
    )
    path = tmp_path / f"decl.{fmt}"
    {"parquet": frame.write_parquet, "xlsx": frame.write_excel, "jsonl": frame.write_ndjson}[fmt](
        path
    )
    result = clearlane("ingest", path.name, "-w", "ws", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "accepted (new)" in result.stdout and " 2 " in result.stdout
