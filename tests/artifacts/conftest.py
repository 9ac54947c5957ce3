"""Small fitted models of every kind, shared by the artifact tests (generated once)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from clearlane.hs.classifier import HSClassifier
from clearlane.models.anomaly import AnomalyDetector
from clearlane.models.fraud import FraudModel
from clearlane.synth import SynthConfig, generate
from clearlane.valuation.bands import build_bands
from clearlane.valuation.quantile_model import UnitValueQuantileModel

CUT = date(2024, 4, 1)
FAST_GRID = [{"num_leaves": 15, "max_depth": 6, "min_child_samples": 20}]


@pytest.fixture(scope="session")
def split() -> tuple[pl.DataFrame, pl.DataFrame]:
    data = generate(SynthConfig(n_items=4_000, days=120, seed=5)).declarations
    return data.filter(pl.col("declared_at") < CUT), data.filter(pl.col("declared_at") >= CUT)


@pytest.fixture(scope="session")
def fraud(split: tuple[pl.DataFrame, pl.DataFrame]) -> FraudModel:
    return FraudModel(grid=FAST_GRID, max_rounds=80, n_jobs=1).fit(split[0])


@pytest.fixture(scope="session")
def anomaly(split: tuple[pl.DataFrame, pl.DataFrame]) -> AnomalyDetector:
    return AnomalyDetector(n_jobs=1).fit(split[0])


@pytest.fixture(scope="session")
def hs(split: tuple[pl.DataFrame, pl.DataFrame]) -> HSClassifier:
    train = split[0].head(1_500)
    return HSClassifier(random_state=0).fit(
        [str(t) for t in train["goods_description"]], [str(c) for c in train["hs_code"]]
    )


@pytest.fixture(scope="session")
def quantile(split: tuple[pl.DataFrame, pl.DataFrame]) -> UnitValueQuantileModel:
    return UnitValueQuantileModel(n_estimators=20).fit(split[0])


@pytest.fixture(scope="session")
def bands(split: tuple[pl.DataFrame, pl.DataFrame]):  # type: ignore[no-untyped-def]
    return build_bands(split[0])
