"""The selectivity commands through the `clearlane` Typer app (in process, for speed; the
exit-code mapping of errors is checked once through the real executable)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from clearlane.cli.main import EXIT_CODES, app
from clearlane.errors import ClearlaneError

CLEARLANE = str(Path(sys.executable).parent / "clearlane")
EXAMPLE = Path(__file__).resolve().parents[2] / "src/clearlane/rules/examples/basic.yaml"


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def clearlane(*args: str, cwd: Path) -> Outcome:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    finally:
        os.chdir(old)
    if isinstance(result.exception, ClearlaneError):
        code = next((c for k, c in EXIT_CODES.items() if isinstance(result.exception, k)), 1)
        return Outcome(code, result.stdout, str(result.exception))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, "")


def test_rules_select_outcomes_report_simulate(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("lane: yellow", "lane: amber"))
    refused = subprocess.run(
        [CLEARLANE, "rules", "validate", str(bad)], cwd=tmp_path, capture_output=True,
        text=True, timeout=120, env={"COLUMNS": "200"})
    assert refused.returncode == 2
    assert "rule R03" in refused.stderr and "'lane'" in refused.stderr and "amber" in \
        refused.stderr
    ok = clearlane("rules", "validate", str(EXAMPLE), cwd=tmp_path)
    assert ok.returncode == 0 and "4 rule(s)" in ok.stdout
    listed = clearlane("rules", "list", str(EXAMPLE), cwd=tmp_path)
    assert "R02 v2" in listed.stdout

    assert clearlane("init", "-w", "ws", cwd=tmp_path).returncode == 0
    made = clearlane("synth", "--items", "2000", "--days", "40", "--out", "data", "--ingest",
                     "-w", "ws", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    tested = clearlane("rules", "test", str(EXAMPLE), "-w", "ws", cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr
    assert "R04 v1" in tested.stdout and "hit rate" in tested.stdout

    selected = clearlane("select", "-w", "ws", "--rules", str(EXAMPLE), "--capacity", "3",
                         "--seed", "7", "--output", "lanes.csv", cwd=tmp_path)
    assert selected.returncode == 0, selected.stderr
    assert "no risk assessments" in selected.stdout
    lanes = pl.read_csv(tmp_path / "lanes.csv", schema_overrides={"declaration_id": pl.String})
    # the export derives from RiskAssessment: lane and basis, and every scorer's verdict
    assert {"office_id", "declared_at", "lane", "basis", "scorers", "model_version",
            "rule_hits"} <= set(lanes.columns)
    red = lanes.filter(pl.col("lane") == "red")
    per_day = red.group_by("office_id", "declared_at").agg(pl.col("declaration_id").n_unique())
    assert per_day["declaration_id"].max() <= 3  # type: ignore[operator]
    first = red.row(0, named=True)

    recorded = clearlane("outcomes", "record", "-w", "ws", "--declaration",
                         first["declaration_id"], "--item", str(first["item_no"]), "--fraud",
                         "--revenue", "1200", "--officer", "OFF9", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr
    assert "1 linked to a selection" in recorded.stdout
    assert "OFF9" in clearlane("outcomes", "list", "-w", "ws", cwd=tmp_path).stdout

    no_reason = clearlane("override", first["declaration_id"], "--to", "green",
                          "--justification", "no", "--officer", "OFF9", "-w", "ws", cwd=tmp_path)
    assert no_reason.returncode == 2 and "justification" in no_reason.stderr

    report = clearlane("report", "performance", "-w", "ws", "--html", "perf.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "By lane" in report.stdout and (tmp_path / "perf.html").exists()

    sim = clearlane("simulate", "-w", "ws", "--initial-weeks", "2", "--weeks", "3",
                    "--strategy", "random", "--strategy", "rules", "--output", "sim",
                    cwd=tmp_path)
    assert sim.returncode == 0, sim.stderr
    for name in ("weekly.csv", "summary.csv", "precision.png", "simulation.html"):
        assert (tmp_path / "sim" / name).exists()
