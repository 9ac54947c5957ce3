"""A server keeps the quality report until the data it reads changes."""

from __future__ import annotations

from pathlib import Path

from clearlane.services.ingest import ingest_file
from clearlane.services.quality import cached_quality_report
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate


def test_the_kept_report_is_replaced_after_an_ingest(tmp_path: Path) -> None:
    data = generate(SynthConfig(n_items=400, days=20, seed=2)).declarations
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    data.head(200).write_parquet(first)
    data.tail(200).write_parquet(second)
    workspace = Workspace.create(tmp_path / "ws")
    ingest_file(workspace, first, "canonical")
    cache: dict[str, object] = {}
    report = cached_quality_report(workspace, cache)
    assert cached_quality_report(workspace, cache) is report  # kept
    ingest_file(workspace, second, "canonical")
    fresh = cached_quality_report(workspace, cache)
    assert fresh is not report
    assert fresh.rows.accepted == 400 and report.rows.accepted == 200
