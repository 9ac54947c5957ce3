from __future__ import annotations

import polars as pl
import pytest

from clearlane.synth import SynthConfig, SynthResult, generate

N_ITEMS = 60_000


@pytest.fixture(scope="session")
def synth_config() -> SynthConfig:
    return SynthConfig(n_items=N_ITEMS, seed=11)


@pytest.fixture(scope="session")
def synth_result(synth_config: SynthConfig) -> SynthResult:
    return generate(synth_config)


@pytest.fixture(scope="session")
def joined(synth_result: SynthResult) -> pl.DataFrame:
    """Declarations with their truth columns, one row per item."""
    return synth_result.declarations.join(
        synth_result.truth, on=["declaration_id", "item_no"], how="inner", validate="1:1"
    )
