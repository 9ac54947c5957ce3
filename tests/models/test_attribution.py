"""The per-leaf tables give LightGBM's own TreeSHAP contributions (``pred_contrib``), for
numerical splits of every missing-value type, categorical splits, NaN, zero, negative and
unseen categories, and the fraud model's reasons do not depend on which computed them."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from clearlane.models.attribution import LeafTables, TablesTooLargeError


def _data(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        rng.normal(size=rows),                      # plain numbers
        np.where(rng.random(rows) < 0.2, np.nan, rng.normal(size=rows)),  # missing values
        np.where(rng.random(rows) < 0.3, 0.0, rng.exponential(size=rows)),  # many zeros
        rng.integers(0, 12, size=rows).astype(float),  # a category code
        rng.integers(0, 3, size=rows).astype(float),   # another
    ])
    score = (X[:, 0] + np.nan_to_num(X[:, 1]) * 0.8 + (X[:, 2] == 0) * 0.7
             + np.isin(X[:, 3], [2, 5, 7]) * 1.2 - (X[:, 4] == 1) * 0.9)
    y = (score + rng.normal(scale=0.8, size=rows) > 0.8).astype(int)
    return X, y


@pytest.fixture(scope="module", params=["nan", "zero"])
def booster(request: pytest.FixtureRequest) -> lgb.Booster:
    X, y = _data(1, 3000)
    params = {"objective": "binary", "num_leaves": 15, "max_depth": 6, "min_data_in_leaf": 10,
              "learning_rate": 0.1, "verbose": -1, "seed": 1, "deterministic": True,
              "num_threads": 1, "zero_as_missing": request.param == "zero",
              "min_data_per_group": 5, "cat_smooth": 1.0}
    return lgb.train(params, lgb.Dataset(X, y, categorical_feature=[3, 4]), num_boost_round=40)


def test_contributions_equal_lightgbm_tree_shap(booster: lgb.Booster) -> None:
    X, _ = _data(2, 500)
    # the values LightGBM treats specially: NaN everywhere, exact zeros, negative and unseen
    # category codes, fractions of a code
    X[:20, :] = np.nan
    X[20:40, 2] = 0.0
    X[40:60, 3] = -1.0
    X[60:80, 3] = 40.0
    X[80:100, 3] += 0.4
    X[100:120, 1] = -0.0
    expected = booster.predict(X, pred_contrib=True)[:, :-1]
    got = LeafTables(booster.dump_model()).contributions(X)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_paths_longer_than_a_byte_repeating_features_equal_lightgbm() -> None:
    # depth up to 14 over 5 features: a path's steps span two packed bytes, and one feature's
    # conditions fall in both
    X, y = _data(4, 4000)
    params = {"objective": "binary", "num_leaves": 127, "max_depth": 14, "min_data_in_leaf": 3,
              "learning_rate": 0.1, "verbose": -1, "seed": 1, "deterministic": True,
              "num_threads": 1, "min_data_per_group": 3, "cat_smooth": 1.0}
    deep = lgb.train(params, lgb.Dataset(X, y, categorical_feature=[3, 4]), num_boost_round=15)
    depths = [_depth(t["tree_structure"]) for t in deep.dump_model()["tree_info"]]
    assert max(depths) > 8
    X, _ = _data(5, 400)
    X[:20, 1] = np.nan
    expected = deep.predict(X, pred_contrib=True)[:, :-1]
    got = LeafTables(deep.dump_model()).contributions(X)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def _depth(node: dict[str, object]) -> int:
    if "leaf_value" in node:
        return 0
    return 1 + max(_depth(node["left_child"]), _depth(node["right_child"]))  # type: ignore[arg-type]


def test_one_row_at_a_time_is_the_same(booster: lgb.Booster) -> None:
    X, _ = _data(3, 30)
    tables = LeafTables(booster.dump_model())
    together = tables.contributions(X)
    alone = np.vstack([tables.contributions(X[i:i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(alone, together)


def test_tables_too_large_are_refused_before_they_are_built(booster: lgb.Booster) -> None:
    with pytest.raises(TablesTooLargeError, match="MB"):
        LeafTables(booster.dump_model(), max_bytes=1024)


def test_a_matrix_of_the_wrong_width_is_refused(booster: lgb.Booster) -> None:
    with pytest.raises(ValueError, match="5 feature columns"):
        LeafTables(booster.dump_model()).contributions(np.zeros((2, 4)))


def test_a_forest_without_splits_gives_zero_contributions() -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = np.zeros(50)
    y[:3] = 1
    stumps = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 100},
                       lgb.Dataset(X, y), num_boost_round=3)
    assert np.array_equal(LeafTables(stumps.dump_model()).contributions(X[:2]), np.zeros((2, 3)))
