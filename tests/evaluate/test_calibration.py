"""Reliability and expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.evaluate import reliability, sampling_ece


def test_small_example_by_hand() -> None:
    # Bin [0.2, 0.3): 2 predictions at 0.25, one right -> |0.5 - 0.25| = 0.25.
    # Bin [0.9, 1.0]: 2 predictions at 0.9 and 1.0, both right -> |1 - 0.95| = 0.05.
    result = reliability([0.25, 0.25, 0.9, 1.0], [True, False, True, True])
    assert result.ece == pytest.approx(0.5 * 0.25 + 0.5 * 0.05)
    assert [(b.low, b.count) for b in result.bins] == [
        (pytest.approx(0.2), 2),
        (pytest.approx(0.9), 2),
    ]
    assert result.mean_confidence == pytest.approx(0.6)
    assert result.accuracy == pytest.approx(0.75)


def test_calibrated_sample_has_small_error_and_overconfidence_shows() -> None:
    rng = np.random.default_rng(0)
    conf = rng.random(20_000)
    right = rng.random(20_000) < conf
    assert reliability(conf, right).ece < 0.02
    overconfident = reliability(np.minimum(conf + 0.2, 1.0), right)
    assert overconfident.ece > 0.1
    assert overconfident.mean_confidence > overconfident.accuracy


@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=50))
def test_error_bounded_and_bins_cover_all(pairs: list[tuple[float, bool]]) -> None:
    result = reliability([p[0] for p in pairs], [p[1] for p in pairs])
    assert 0.0 <= result.ece <= 1.0
    assert sum(b.count for b in result.bins) == len(pairs)
    # Overall |accuracy - confidence| can never exceed the binned error.
    assert abs(result.accuracy - result.mean_confidence) <= result.ece + 1e-9


def test_bad_input_names_the_row() -> None:
    with pytest.raises(ValidationError, match="row 1"):
        reliability([0.5, 1.5], [True, False])
    with pytest.raises(ValidationError, match="one length"):
        reliability([0.5], [True, False])
    with pytest.raises(ValidationError, match="at least one"):
        reliability([], [])


def test_sampling_noise_shrinks_with_more_predictions() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.random(100), rng.random(10_000)
    noise_small, noise_large = sampling_ece(small, draws=50), sampling_ece(large, draws=20)
    assert 0.0 < noise_large < noise_small
    # A calibrated sample's own ECE is of the order of its noise level.
    assert reliability(large, rng.random(10_000) < large).ece < 3 * noise_large
