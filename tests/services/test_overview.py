"""The overview's numbers against the declarations and outcomes they count."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from clearlane.services.ingest import ingest_file
from clearlane.services.overview import unit_overview
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate


def test_overview_counts_match_the_data(tmp_path: Path) -> None:
    data = generate(SynthConfig(n_items=600, days=60, seed=3)).declarations
    path = tmp_path / "d.parquet"
    data.write_parquet(path)
    workspace = Workspace.create(tmp_path / "ws")
    ingest_file(workspace, path, "canonical")
    stored = workspace.declarations()
    window = (date(2024, 1, 10), date(2024, 2, 20))
    inside = stored.filter(pl.col("declared_at").is_between(*window))
    office = str(inside["office_id"][0])
    overview = unit_overview(workspace, date_from=window[0], date_to=window[1], office=office)
    expected = inside.filter(pl.col("office_id") == office)
    assert overview.totals["declarations"] == expected.height
    inspected = expected.filter(pl.col("inspected").fill_null(False))
    assert overview.totals["inspected"] == inspected.height
    assert overview.totals["frauds"] == inspected["fraud"].fill_null(False).sum()
    assert overview.monthly["declarations"].sum() == expected.height
    assert overview.monthly["red"].sum() == 0  # no selection yet: no lane
