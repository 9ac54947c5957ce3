"""Reading declarations for scoring (only the columns scoring needs, no labels) and for
training (those and the outcomes)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.features.prepare import SCORING_COLUMNS
from clearlane.services.risk import load_for_scoring, load_for_training
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


def test_training_reads_the_scoring_columns_and_the_outcomes(workspace: Workspace) -> None:
    _insert(workspace)
    frame = load_for_training(workspace)
    assert frame.columns == [*SCORING_COLUMNS, "inspected", "fraud", "revenue_recovered"]
    assert "goods_description" not in frame.columns and "batch_id" not in frame.columns
    assert frame["declaration_id"].to_list() == ["C", "A", "B"]
    with pytest.raises(ValidationError, match="2025-01-01"):
        load_for_training(workspace, date(2025, 1, 1))


def test_a_model_trained_on_the_training_columns_is_the_one_trained_on_whole_rows(
        workspace: Workspace, tmp_path: Path) -> None:
    from clearlane.models.fraud import FraudModel
    from clearlane.services.ingest import ingest_file
    from clearlane.synth import SynthConfig, generate

    path = tmp_path / "d.parquet"
    generate(SynthConfig(n_items=3000, days=60, seed=4)).declarations.write_parquet(path)
    ingest_file(workspace, path, "canonical")
    lean, whole = load_for_training(workspace), workspace.declarations()
    assert lean.height == whole.height
    grid = [{"num_leaves": 15, "max_depth": 6, "min_child_samples": 20}]
    a = FraudModel(grid=grid, max_rounds=80, n_jobs=1).fit(lean)
    b = FraudModel(grid=grid, max_rounds=80, n_jobs=1).fit(whole)
    assert a.feature_names_ == b.feature_names_
    test = whole.tail(300)
    np.testing.assert_allclose(a.predict_proba(test), b.predict_proba(test), rtol=1e-9)
