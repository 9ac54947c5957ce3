"""`clearlane assess` stores every scorer's version and status, reports an unavailable scorer
and refuses a corrupt model file with a clear message (never exit 0 with empty scores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.models import registry
from clearlane.services.risk import assess_declarations
from clearlane.store.workspace import Workspace

CLEARLANE = str(Path(sys.executable).parent / "clearlane")


def test_stored_assessments_carry_every_scorer_version(
        workspace_copy: Callable[[], Workspace], tmp_path: Path) -> None:
    ws = workspace_copy()
    fraud = registry.get_model(ws, None, kind="fraud").version
    anomaly = registry.get_model(ws, None, kind="anomaly").version
    out = tmp_path / "assessed.parquet"
    result = assess_declarations(ws, output=out)
    assert result.warnings == () and result.anomaly_version == anomaly
    assert result.scorer_versions == {"fraud": fraud, "anomaly": anomaly}
    stored = ws.query("SELECT * FROM risk_assessments ORDER BY declaration_id, item_no")
    assert stored.height == result.rows > 0
    assert set(stored["model_version"]) == {fraud} and set(stored["anomaly_version"]) == {anomaly}
    for text in stored["scorers"].to_list():
        verdicts = {s["name"]: s for s in json.loads(text)}
        assert verdicts["fraud"]["version"] == fraud and verdicts["fraud"]["status"] == "ok"
        assert verdicts["anomaly"]["version"] == anomaly
        assert verdicts["anomaly"]["status"] == "ok"
    # the anomaly detector's reasons are stored, not dropped
    anomaly_reasons = [r for text in stored["scorers"].to_list() for s in json.loads(text)
                       if s["name"] == "anomaly" for r in s["reasons"]]
    assert anomaly_reasons and all(r["code"] and r["evidence"] for r in anomaly_reasons)
    exported = __import__("polars").read_parquet(out)
    assert exported.columns == stored.columns
    objects = result.risk_assessments()
    assert {s.name for s in objects[0].scorers} == {"fraud", "anomaly"}


def test_without_an_anomaly_detector_the_scorer_is_reported_unavailable(
        workspace_copy: Callable[[], Workspace]) -> None:
    ws = workspace_copy()
    with ws.transaction() as con:
        con.execute("DELETE FROM models WHERE kind = 'anomaly'")
    result = CliRunner().invoke(app, ["assess", "-w", str(ws.path), "--show", "3"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Warning: anomaly scorer unavailable: no anomaly detector registered" in result.output
    stored = ws.query("SELECT anomaly_version, anomaly_score, scorers FROM risk_assessments")
    assert stored["anomaly_version"].null_count() == stored.height
    assert stored["anomaly_score"].null_count() == stored.height
    verdict = next(s for s in json.loads(stored["scorers"][0]) if s["name"] == "anomaly")
    assert verdict["status"] == "unavailable" and "clearlane train" in verdict["message"]


def test_a_corrupt_anomaly_artifact_fails_assess_with_a_message(
        workspace_copy: Callable[[], Workspace]) -> None:
    ws = workspace_copy()
    record = registry.get_model(ws, None, kind="anomaly")
    (ws.path / record.artifact_path).write_bytes(b"this is not a model" * 50)
    done = subprocess.run([CLEARLANE, "assess", "-w", str(ws.path)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert "Error:" in done.stderr and record.artifact_path.split("/")[-1] in done.stderr
    assert ws.query("SELECT count(*) AS n FROM risk_assessments")["n"][0] == 0
