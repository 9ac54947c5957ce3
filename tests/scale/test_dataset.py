"""`export --parquet`: one Hive partition per month, a manifest that checks the files, and
nothing at the target unless the whole dataset was written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.dataset as pads
import pytest

from clearlane.errors import ConflictError, NotFoundError, ValidationError
from clearlane.scale.dataset import (
    DECLARATIONS_FORMAT,
    read_manifest,
    read_partition,
    staged_directory,
    verify_dataset,
)
from clearlane.services.scale import assess_parquet, export_parquet
from conftest import ScaleSetup


def test_export_round_trip(scale_setup: ScaleSetup) -> None:
    ws, folder = scale_setup.workspace, scale_setup.dataset
    manifest = verify_dataset(folder, read_manifest(folder, DECLARATIONS_FORMAT))
    counts = ws.query("SELECT strftime(declared_at, '%Y-%m') AS ym, count(*) AS n "
                      "FROM declarations GROUP BY ym ORDER BY ym")
    assert [(p.year_month, p.rows) for p in manifest.partitions] == list(counts.iter_rows())
    assert manifest.schema_version == ws.schema_version()
    assert manifest.rows == scale_setup.workspace.summary().declarations
    back = pl.concat([read_partition(folder, p) for p in manifest.partitions])
    assert back.equals(ws.declarations())  # every column, the store's order
    # Hive layout: any Parquet reader gets the month back as a column
    table = pads.dataset(folder, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == manifest.rows
    assert set(table.column("year_month").to_pylist()) == {p.year_month for p in manifest.partitions}


def test_a_second_export_has_the_same_digest(scale_setup: ScaleSetup, tmp_path: Path) -> None:
    again = export_parquet(scale_setup.workspace, tmp_path / "again")
    assert again.digest == scale_setup.manifest.digest


def test_a_changed_file_fails_the_check(scale_setup: ScaleSetup, tmp_path: Path) -> None:
    copy = export_parquet(scale_setup.workspace, tmp_path / "copy")
    first = tmp_path / "copy" / copy.partitions[0].path
    pl.read_parquet(first).head(5).write_parquet(first)
    with pytest.raises(ValidationError, match="changed since it was written"):
        verify_dataset(tmp_path / "copy")
    manifest = json.loads((tmp_path / "copy" / "_manifest.json").read_text())
    manifest["partitions"][0]["rows"] += 1
    (tmp_path / "copy" / "_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValidationError, match="digest"):
        verify_dataset(tmp_path / "copy")


def test_no_manifest_is_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="clearlane export --parquet"):
        read_manifest(tmp_path)


def test_an_existing_target_is_refused_unless_overwritten(scale_setup: ScaleSetup,
                                                          tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ConflictError, match="already exists"):
        export_parquet(scale_setup.workspace, target)
    assert (target / "keep.txt").read_text() == "mine"
    export_parquet(scale_setup.workspace, target, overwrite=True)
    assert not (target / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), staged_directory(target) as staging:
        (staging / "part.parquet").write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_assess_refuses_an_existing_output_before_any_work(scale_setup: ScaleSetup,
                                                           tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ConflictError, match="already exists"):
        assess_parquet(scale_setup.workspace, scale_setup.dataset, target)
    assert list(target.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
