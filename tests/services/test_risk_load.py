"""Reading declarations for scoring: only the columns scoring needs, no labels."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.features.prepare import SCORING_COLUMNS
from clearlane.services.risk import load_for_scoring
from clearlane.store.workspace import Workspace


def _insert(workspace: Workspace) -> None:
    frame = pl.DataFrame({
        "declaration_id": ["B", "A", "C"], "item_no": [1, 1, 1],
        "declared_at": [date(2024, 3, 2), date(2024, 3, 2), date(2024, 3, 1)],
        "hs_code": ["690722"] * 3, "importer_id": ["I1", "I2", "I1"],
        "customs_value": [10.0, 20.0, 30.0], "inspected": [True, False, True],
        "fraud": [True, None, False], "goods_description": ["tiles"] * 3,
        "batch_id": ["t"] * 3,
    })
    with workspace.transaction() as con:
        con.register("incoming", frame)
        con.execute("INSERT INTO declarations BY NAME SELECT * FROM incoming")
        con.unregister("incoming")


def test_reads_the_scoring_columns_in_date_order(workspace: Workspace) -> None:
    _insert(workspace)
    frame = load_for_scoring(workspace, date(2024, 3, 1))
    assert frame.columns == list(SCORING_COLUMNS)
    assert not {"inspected", "fraud", "revenue_recovered", "goods_description"} & set(frame.columns)
    assert frame["declaration_id"].to_list() == ["C", "A", "B"]
    assert load_for_scoring(workspace, date(2024, 3, 2))["declaration_id"].to_list() == ["A", "B"]


def test_empty_window_is_named(workspace: Workspace) -> None:
    _insert(workspace)
    with pytest.raises(ValidationError, match="2025-01-01"):
        load_for_scoring(workspace, date(2025, 1, 1))
