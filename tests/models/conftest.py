"""Small synthetic data shared by the model tests (module-scoped: generated once)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from clearlane.synth import SynthConfig, SynthResult, generate

FAST_GRID = [{"num_leaves": 15, "max_depth": 6, "min_child_samples": 20}]
CUT = date(2024, 5, 1)


@pytest.fixture(scope="session")
def synth_data() -> SynthResult:
    return generate(SynthConfig(n_items=8_000, days=160, seed=11))


@pytest.fixture(scope="session")
def synth_split(synth_data: SynthResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    data = synth_data.declarations
    return data.filter(pl.col("declared_at") < CUT), data.filter(pl.col("declared_at") >= CUT)
