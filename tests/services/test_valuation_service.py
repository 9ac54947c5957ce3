"""Valuation service: the importer history is calibrated on the workspace's past controls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from clearlane.services.valuation import _importer_history
from clearlane.store.workspace import Workspace
from clearlane.valuation import BandConfig, ExchangeRates, build_bands


@pytest.fixture
def workspace(tmp_path: Path, controlled_declarations: Callable[..., pl.DataFrame]) -> Workspace:
    ws = Workspace.create(tmp_path / "ws")
    with ws.transaction() as con:
        con.register("incoming", controlled_declarations().to_arrow())
        con.execute("INSERT INTO declarations BY NAME SELECT * FROM incoming")
    return ws


def test_history_is_calibrated_on_controls_known_before_the_batch(workspace: Workspace) -> None:
    data = workspace.declarations()
    bands = build_bands(data, config=BandConfig(period="all", min_count=5))
    batch = data.filter(pl.col("declared_at") >= date(2024, 12, 1))
    history = _importer_history(workspace, batch, bands, ExchangeRates.identity("XOF"))
    assert history is not None and history.calibration is not None
    controls = history.calibration.controls
    assert controls is not None
    known = data.filter((pl.col("inspected_at") < date(2024, 12, 1)) & pl.col("fraud").fill_null(False))
    assert controls.findings == known.height
    assert float(np.dot(controls.gaps, controls.gap_weights)) == pytest.approx(-np.log(0.7), abs=0.02)


def test_random_controls_known_before_the_batch_anchor_the_share(workspace: Workspace) -> None:
    # half of the inspections were part of the random control sample
    with workspace.transaction() as con:
        con.execute("UPDATE declarations SET inspection_basis = CASE WHEN source_row % 2 = 0 THEN 'Random ' "
                    "ELSE 'rule' END WHERE inspected")
    data = workspace.declarations()
    bands = build_bands(data, config=BandConfig(period="all", min_count=5))
    batch = data.filter(pl.col("declared_at") >= date(2024, 12, 1))
    history = _importer_history(workspace, batch, bands, ExchangeRates.identity("XOF"))
    assert history is not None and history.calibration is not None and history.calibration.controls is not None
    random = history.calibration.controls.random
    sample = data.filter((pl.col("inspected_at") < date(2024, 12, 1)) & (pl.col("source_row") % 2 == 0)
                         & pl.col("fraud").is_not_null())
    assert random is not None and random.inspected == sample.height
    assert random.undervalued == sample["fraud"].sum()
    assert random.share == pytest.approx(0.04, abs=0.015)  # the fixture cuts 4 % of declarations
