"""`scale assess` without a cluster scores a large dataset in this process with compiled trees,
as `assess` does, and gives the same scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from clearlane.models.fraud import FraudModel
from clearlane.scale.dataset import read_partition, verify_dataset
from clearlane.services import scale as scale_service
from clearlane.services.risk import assess_declarations
from conftest import ScaleSetup


def test_a_large_dataset_is_scored_here_with_compiled_trees(
        scale_setup: ScaleSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lleaves", reason="the optional extra 'fast' (lleaves) is not installed")
    compiled: list[bool] = []
    original = FraudModel.compile

    def spy(self: FraudModel, cache_dir: Path, cache: Any = None) -> bool:
        done = original(self, cache_dir, cache)
        compiled.append(done)
        return done

    monkeypatch.setattr(FraudModel, "compile", spy)
    monkeypatch.setattr(scale_service, "COMPILE_FROM_ROWS", scale_setup.manifest.rows)
    single = assess_declarations(scale_setup.workspace).assessments  # too small to compile
    assert compiled == []
    scale_service.assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "out",
                                 store=False)
    assert compiled == [True]
    manifest = verify_dataset(tmp_path / "out")
    got = pl.concat([read_partition(tmp_path / "out", p) for p in manifest.partitions])
    both = single.join(got, on=["declaration_id", "item_no"], suffix="_p")
    assert both.height == single.height
    assert (both["fraud_probability"] - both["fraud_probability_p"]).abs().max() <= 1e-9  # type: ignore[operator]
    assert (both["expected_revenue"] - both["expected_revenue_p"]).abs().max() <= 1e-6  # type: ignore[operator]
