"""A user's export file is complete or untouched (atomic writes)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.store.exports import write_table

FRAME = pl.DataFrame({"declaration_id": ["D1", "D2"], "score": [0.5, 0.25]})


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_round_trip_by_suffix(tmp_path: Path, name: str) -> None:
    path = write_table(FRAME, tmp_path / "sub" / name)
    read = pl.read_csv(path) if name.endswith(".csv") else pl.read_parquet(path)
    assert read.equals(FRAME)
    assert sorted(p.name for p in path.parent.iterdir()) == [name]


def test_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous\n", encoding="utf-8")
    nested = pl.DataFrame({"reasons": [[1, 2], [3]]})  # a list column has no CSV form
    with pytest.raises(pl.exceptions.ComputeError):
        write_table(nested, target)
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_unknown_suffix_is_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"out\.xlsx.*\.csv or \.parquet"):
        write_table(FRAME, tmp_path / "out.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_explicit_kind_wins_over_the_suffix(tmp_path: Path) -> None:
    path = write_table(FRAME, tmp_path / "lanes.txt", "csv")
    assert pl.read_csv(path).equals(FRAME)
