"""The real commands: `clearlane export --parquet` and `clearlane scale assess`, with and
without a cluster, and the plain message (exit code 9) when the scheduler cannot be reached."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ScaleSetup

REPO = Path(__file__).resolve().parents[2]


def clearlane(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"COLUMNS": "200", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
           "PYTHONPATH": str(REPO / "src"), "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "clearlane.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_export_then_assess_on_a_local_cluster(scale_setup: ScaleSetup, tmp_path: Path) -> None:
    ws = str(scale_setup.workspace.path)
    exported = clearlane("export", "--parquet", "ds", "-w", ws, cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert f"Exported {scale_setup.manifest.rows:,} declaration items in 4 monthly" in exported.stdout
    manifest = json.loads((tmp_path / "ds" / "_manifest.json").read_text())
    assert manifest["digest"] == scale_setup.manifest.digest
    scored = clearlane("scale", "assess", "--parquet", "ds", "-o", "out", "--cluster", "local:2",
                       "--no-store", "-w", ws, cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert "in 4 months on local:2" in scored.stdout
    out = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert out["rows"] == scale_setup.manifest.rows and out["source_digest"] == manifest["digest"]


def test_an_unreachable_scheduler_is_one_plain_message(scale_setup: ScaleSetup,
                                                       tmp_path: Path) -> None:
    result = clearlane("scale", "assess", "--parquet", str(scale_setup.dataset), "-o", "out",
                       "--cluster", "tcp://127.0.0.1:9", "--timeout", "1",
                       "-w", str(scale_setup.workspace.path), cwd=tmp_path)
    assert result.returncode == 9, (result.stdout, result.stderr)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_train_from_the_dataset_on_this_machine(scale_setup: ScaleSetup, tmp_path: Path) -> None:
    created = clearlane("init", "-w", "ws", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    trained = clearlane("scale", "train", "--parquet", str(scale_setup.dataset), "--to",
                        "2024-02-20", "--seed", "1", "--no-search", "--promote", "-w", "ws",
                        cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "(promoted) trained on" in trained.stdout and "2024-02-20" in trained.stdout
    assert "Anomaly detector" in trained.stdout
    listed = clearlane("models", "list", "-w", "ws", cwd=tmp_path)
    assert listed.stdout.count("promoted") == 2, listed.stdout


def test_cluster_only_and_local_only_options_are_refused(scale_setup: ScaleSetup,
                                                         tmp_path: Path) -> None:
    ws = str(scale_setup.workspace.path)
    for args, message in ((("--model", "fraud-x"), "--model names the reference"),
                          (("--cluster", "local:2", "--no-search"), "--no-search apply to")):
        result = clearlane("scale", "train", "--parquet", str(scale_setup.dataset), *args,
                           "-w", ws, cwd=tmp_path)
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
