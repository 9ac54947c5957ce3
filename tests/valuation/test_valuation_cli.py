"""End to end through the real `clearlane valuation` commands on a fresh workspace."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.errors import UntrustedArtifactError
from clearlane.store.workspace import Workspace

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, declarations: pl.DataFrame) -> Path:
    ws = Workspace.create(tmp_path / "ws")
    rows = declarations.with_columns(
        pl.col("customs_value").cast(pl.Float64),
        pl.lit("b1").alias("batch_id"),
        pl.col("declaration_id").alias("content_hash"),
    )
    table_columns = set(ws.query("SELECT * FROM declarations LIMIT 0").columns)
    rows = rows.select([c for c in rows.columns if c in table_columns])
    with ws.transaction() as con:
        con.register("incoming", rows.to_arrow())
        con.execute("INSERT INTO declarations BY NAME SELECT * FROM incoming")
    return ws.path


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_build_check_show_export_import_mirror(workspace: Path, tmp_path: Path):
    w = str(workspace)
    out = invoke("valuation", "build", "-w", w, "--period", "quarter", "--min-count", "20")
    assert "Built value bands v1" in out
    out = invoke("valuation", "show", "-w", w)
    assert "v1" in out
    out = invoke("valuation", "show", "-w", w, "--hs", "610462", "--origin", "CN")
    assert "hs6_origin" in out and "610462" in out

    probe = Workspace.open(workspace).declarations().head(20).with_columns(pl.col("customs_value") * 0.3)
    probe_path = tmp_path / "probe.parquet"
    probe.drop("batch_id", "source_row", "content_hash", strict=False).write_parquet(probe_path)
    results = tmp_path / "results.csv"
    out = invoke("valuation", "check", "-w", w, "--input", str(probe_path), "--output", str(results),
                 "--vat-rate", "18")
    assert "PRICE_BELOW_BAND" in out and "risk indicator" in out.lower()
    assert "Revenue at risk " in out and ("calibrated on" in out or "label-free" in out)
    checked = pl.read_csv(results)
    assert checked.height == 20 and checked["price_flag"].all()

    shared = tmp_path / "shared.csv"
    invoke("valuation", "export", str(shared), "-w", w)
    refused = runner.invoke(app, ["valuation", "import", str(shared), "-w", w])
    # outside the workspace: refused without the trust flag
    assert isinstance(refused.exception, UntrustedArtifactError)
    assert "--trust-artifact" in str(refused.exception)
    out = invoke("valuation", "import", str(shared), "-w", w, "--trust-artifact")
    assert "v2" in out
    assert "imported from shared.csv" in invoke("valuation", "show", "-w", w)

    stats = tmp_path / "comtrade.csv"
    stats.write_text(
        "reporterISO,partnerISO,cmdCode,refYear,primaryValue,netWgt\n"
        "CHN,CIV,610462,2024,99999999,1000\n"
        "FRA,CIV,847130,2024,10,1\n"
    )
    out = invoke("valuation", "mirror", str(stats), "-w", w, "--currency", "XOF", "--importer", "CI")
    assert "610462" in out and "CN" in out


def test_check_without_bands_is_a_clear_error(workspace: Path):
    from clearlane.errors import NotFoundError

    result = runner.invoke(app, ["valuation", "check", "-w", str(workspace)])
    assert isinstance(result.exception, NotFoundError)
    assert "valuation build" in str(result.exception)
