"""Targeting metrics: exact k %, deterministic ties, AUC."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from clearlane.errors import ValidationError
from clearlane.evaluate import ranking, selected_count, targeting_metrics


def test_precision_recall_revenue_small_example() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], bool)
    s = np.arange(10, 0, -1, dtype=float)  # row 0 riskiest
    rev = np.array([10, 0, 30, 0, 0, 0, 0, 0, 0, 60.0])
    m = targeting_metrics(y, s, revenue=rev, ks=(10.0, 30.0))
    assert m.precision[10.0] == 1.0 and m.recall[10.0] == pytest.approx(1 / 3)
    assert m.precision[30.0] == pytest.approx(2 / 3)
    assert m.revenue[30.0] == pytest.approx(0.4)


def test_exactly_k_percent_selected() -> None:
    assert selected_count(8134, 5) == 406
    assert selected_count(10, 1) == 1
    with pytest.raises(ValidationError):
        selected_count(10, 0)


def test_ties_broken_by_key_then_row() -> None:
    s = np.array([1.0, 1.0, 1.0])
    assert ranking(s).tolist() == [0, 1, 2]
    assert ranking(s, np.array(["c", "a", "b"])).tolist() == [1, 2, 0]


@given(st.lists(st.tuples(st.booleans(), st.floats(-5, 5)), min_size=2, max_size=60))
def test_auc_matches_sklearn(pairs: list[tuple[bool, float]]) -> None:
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    m = targeting_metrics(y, s)
    if y.all() or not y.any():
        assert m.auc is None
    else:
        assert m.auc == pytest.approx(roc_auc_score(y, s))


@given(st.permutations(list(range(20))))
def test_metrics_independent_of_row_order_with_key(perm: list[int]) -> None:
    rng = np.random.default_rng(0)
    y = rng.random(20) < 0.4
    s = np.round(rng.random(20), 1)
    keys = np.array([f"k{i:02d}" for i in range(20)])
    a = targeting_metrics(y, s, ks=(10.0, 25.0), tie_key=keys)
    p = np.array(perm)
    b = targeting_metrics(y[p], s[p], ks=(10.0, 25.0), tie_key=keys[p])
    assert a == b
