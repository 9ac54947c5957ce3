"""train → assess → evaluate through the service layer and the real CLI."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthResult

CUT = date(2024, 5, 1)


def _ingest(workspace: Workspace, synth: SynthResult, tmp_path: Path) -> None:
    from clearlane.services.ingest import ingest_file

    path = tmp_path / "decl.parquet"
    synth.declarations.write_parquet(path)
    ingest_file(workspace, path, "canonical")


def test_train_assess_evaluate_cli(workspace: Workspace, synth_data: SynthResult,
                                   tmp_path: Path) -> None:
    _ingest(workspace, synth_data, tmp_path)
    runner = CliRunner()
    w = ["--workspace", str(workspace.path)]
    to = (CUT.toordinal() - 1)

    last_train = date.fromordinal(to).isoformat()
    result = runner.invoke(
        app, ["train", *w, "--to", last_train, "--promote", "--seed", "1", "--no-search"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"calibration\s+error\s+0\.\d{3}", result.output), result.output
    listed = runner.invoke(app, ["models", "list", *w])
    assert "promoted" in listed.output
    out = tmp_path / "assessed.csv"
    result = runner.invoke(app, ["assess", *w, "--from", CUT.isoformat(), "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    stored = workspace.query("SELECT count(*) AS n FROM risk_assessments")["n"][0]
    assert table.height == stored > 0
    riskiest = table.sort("fraud_probability", descending=True).row(0, named=True)
    assert json.loads(riskiest["reasons"])
    result = runner.invoke(app, ["evaluate", *w])
    assert result.exit_code == 0, result.output
    assert "precision" in result.output
    version = workspace.query("SELECT version FROM models WHERE kind='fraud'")["version"][0]
    shown = runner.invoke(app, ["models", "show", version, *w])
    assert "Data fingerprint" in shown.output
