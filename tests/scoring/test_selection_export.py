"""`select --output` writes the selection as RiskAssessment rows (CSV or Parquet) with the lane
columns users had: one row per selected item, read back into the same assessments."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from clearlane.scoring.assessments import ASSESSMENT_SCHEMA, assessments_from_frame
from clearlane.services.risk import assess_declarations
from clearlane.services.selection import (
    EXPORT_LANE_COLUMNS,
    select_for_inspection,
    write_export,
)
from clearlane.store.workspace import Workspace


def test_selection_export_is_the_assessments_with_their_lanes(
        workspace_copy: Callable[[], Workspace], tmp_path: Path) -> None:
    ws = workspace_copy()
    assess_declarations(ws)
    run = select_for_inspection(ws, seed=1)
    written = write_export(run, tmp_path / "lanes.parquet")
    parquet = pl.read_parquet(tmp_path / "lanes.parquet")
    assert parquet.equals(written)
    write_export(run, tmp_path / "lanes.csv")
    csv = pl.read_csv(tmp_path / "lanes.csv", schema_overrides={"declaration_id": pl.String})
    assert csv.columns == parquet.columns and csv.height == parquet.height
    lanes = run.result.lanes
    assert parquet.height == lanes.height
    assert set(ASSESSMENT_SCHEMA) | {"lane", "basis", "rule_hits"} | set(
        EXPORT_LANE_COLUMNS) == set(parquet.columns)
    assert parquet.columns[:7] == ["selection_id", "declaration_id", "item_no", "office_id",
                                   "declared_at", "lane", "basis"]
    assert parquet["selection_id"].unique().to_list() == [run.selection_id]
    assert parquet["lane"].to_list() == lanes["lane"].to_list()
    assert parquet["basis"].to_list() == lanes["basis"].to_list()
    # the checks' verdicts and versions travel with each item
    names = {s["name"] for text in parquet["scorers"].to_list() for s in json.loads(text)}
    assert names == {"hs_check", "price_check"}
    back = assessments_from_frame(parquet)
    for read, made in zip(back, run.assessments(), strict=True):
        assert (read.declaration_id, read.item_no, read.lane, read.basis) == (
            made.declaration_id, made.item_no, made.lane, made.basis)
        assert read.scorers == made.scorers and read.rule_hits == made.rule_hits
