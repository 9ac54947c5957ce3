from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from clearlane.hs.mixture import COLD_WEIGHTS, FEATURES, fit_mixture_weights, softmax


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3, 7), elements=st.floats(-50, 50)))
def test_softmax_rows_are_probabilities_and_keep_order(scores: np.ndarray) -> None:
    proba = softmax(scores)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    assert (proba >= 0).all()
    # Monotone: the highest score has the highest probability.
    best = np.take_along_axis(proba, scores.argmax(axis=1)[:, None], axis=1)[:, 0]
    np.testing.assert_allclose(best, proba.max(axis=1))


def test_informative_feature_gets_weight_and_noise_gets_little() -> None:
    rng = np.random.default_rng(0)
    n, k = 300, 40
    target = rng.integers(k, size=n)
    signal = rng.normal(size=(n, k))
    signal[np.arange(n), target] += 2.0
    noise = rng.normal(size=(n, k))
    weights = fit_mixture_weights(np.stack([signal, noise]), target)
    assert weights[0] > 1.0
    assert weights[1] < 0.2 * weights[0]
    assert (weights >= 0).all()


def test_cold_weights_name_every_feature() -> None:
    assert set(COLD_WEIGHTS) == set(FEATURES)
    assert all(w >= 0 for w in COLD_WEIGHTS.values())
