"""The shared estimator check suite, run against every Clearlane scorer.

Checks: input not mutated, column order irrelevant, unseen categories handled, persistence
round-trip, same seed same result, higher = riskier shape (finite scores, one per row).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from clearlane.models.anomaly import AnomalyDetector
from clearlane.models.fraud import FraudModel
from clearlane.models.persistence import load_artifact, save_artifact

FAST_GRID = [{"num_leaves": 15, "max_depth": 6, "min_child_samples": 20}]

Factory = Callable[[int], object]


def _fraud(seed: int) -> FraudModel:
    return FraudModel(grid=FAST_GRID, max_rounds=150, random_state=seed, n_jobs=1)


def _anomaly(seed: int) -> AnomalyDetector:
    return AnomalyDetector(random_state=seed, n_jobs=1)


def _scores(model: object, data: pl.DataFrame) -> np.ndarray:
    if isinstance(model, FraudModel):
        return model.predict_proba(data)
    assert isinstance(model, AnomalyDetector)
    return model.score_samples(data)


ESTIMATORS = [pytest.param(_fraud, id="fraud"), pytest.param(_anomaly, id="anomaly")]


@pytest.fixture(scope="module", params=ESTIMATORS)
def fitted(request: pytest.FixtureRequest, synth_split: tuple[pl.DataFrame, pl.DataFrame]
           ) -> tuple[Factory, object, pl.DataFrame, pl.DataFrame]:
    train, test = synth_split
    factory = request.param
    return factory, factory(0).fit(train), train, test  # type: ignore[attr-defined]


def test_fit_does_not_mutate_input(synth_split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    train, _ = synth_split
    before = train.clone()
    _anomaly(0).fit(train)
    assert train.equals(before)


def test_scores_one_finite_value_per_row(fitted: tuple) -> None:
    _, model, _, test = fitted
    before = test.clone()
    scores = _scores(model, test)
    assert scores.shape == (test.height,) and np.isfinite(scores).all()
    assert test.equals(before)


def test_column_order_irrelevant(fitted: tuple) -> None:
    _, model, _, test = fitted
    shuffled = test.select(list(reversed(test.columns)))
    np.testing.assert_allclose(_scores(model, test), _scores(model, shuffled))


def test_unseen_categories_handled(fitted: tuple) -> None:
    _, model, _, test = fitted
    odd = test.head(50).with_columns(
        pl.lit("NEVER-SEEN").alias("importer_id"), pl.lit("ZZ").alias("origin_country"),
        pl.lit("999999").alias("hs_code"), pl.lit('{"incoterm": "???"}').alias("extra"),
    )
    assert np.isfinite(_scores(model, odd)).all()


def test_persistence_round_trip(fitted: tuple, tmp_path: Path) -> None:
    _, model, _, test = fitted
    path = tmp_path / "artifacts" / "m.clz"
    save_artifact(model, path, "test", "v1")
    loaded = load_artifact(path, trusted_dir=tmp_path / "artifacts")
    np.testing.assert_array_equal(_scores(model, test), _scores(loaded, test))


def test_same_seed_same_result(fitted: tuple) -> None:
    factory, model, train, test = fitted
    again = factory(0).fit(train)
    np.testing.assert_array_equal(_scores(model, test), _scores(again, test))
