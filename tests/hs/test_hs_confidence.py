"""Recalibrated confidence of suggested codes (clearlane.hs.confidence)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.evaluate import reliability
from clearlane.hs.check import check_declarations
from clearlane.hs.classifier import HSClassifier
from clearlane.hs.confidence import COLD_CONFIDENCE, IDENTITY, ConfidenceMap, fit_level


def _rows(rng: np.random.Generator, n: int, k: int = 40) -> np.ndarray:
    return rng.dirichlet(np.full(k, 0.3), size=n)


def test_identity_map_shows_the_probability() -> None:
    proba = _rows(np.random.default_rng(0), 20)
    assert np.allclose(IDENTITY.confidence(proba, 6), proba)


@given(
    st.floats(0.05, 3.0),
    st.floats(-2.0, 2.0),
    st.floats(0.0, 3.0),
    st.integers(0, 10_000),
)
def test_candidates_keep_their_order(a: float, b: float, c: float, seed: int) -> None:
    proba = _rows(np.random.default_rng(seed), 5, k=12)
    shown = ConfidenceMap({6: (a, b, c), 4: (a, b, c), 2: (a, b, c)}).confidence(proba, 4)
    assert np.all((shown >= 0) & (shown <= 1))
    for p, s in zip(proba, shown, strict=True):
        order = np.argsort(-p, kind="stable")
        # Non-increasing along the probability order (ties of equal p may stay equal).
        assert np.all(np.diff(s[order]) <= 1e-12)


def test_fit_corrects_an_under_confident_model_on_fresh_rows() -> None:
    rng = np.random.default_rng(1)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        proba = _rows(rng, n)
        # The truth follows a sharper distribution than the model states: under-confident.
        sharp = proba**2 / (proba**2).sum(axis=1, keepdims=True)
        target = np.array([rng.choice(proba.shape[1], p=row) for row in sharp])
        return proba, target

    train_p, train_t = sample(3000)
    a, b, c = fit_level(train_p, train_t, prior=(1.0, 0.0, 0.0))
    test_p, test_t = sample(3000)
    top = test_p.argmax(axis=1)
    right = top == test_t
    rows = np.arange(len(top))
    shown = ConfidenceMap({6: (a, b, c), 4: (a, b, c), 2: (a, b, c)}).confidence(test_p, 6)
    raw_ece = reliability(test_p[rows, top], right).ece
    shown_ece = reliability(shown[rows, top], right).ece
    assert raw_ece > 0.05
    assert shown_ece < raw_ece / 2


def test_prior_holds_a_tiny_validation_set() -> None:
    rng = np.random.default_rng(2)
    proba = _rows(rng, 3)
    target = proba.argmax(axis=1)
    loose = fit_level(proba, target, prior=(1.0, 0.0, 0.0), strength=0.0)
    held = fit_level(proba, target, prior=(1.0, 0.0, 0.0), strength=100.0)
    assert np.linalg.norm(np.subtract(held, (1, 0, 0))) < np.linalg.norm(
        np.subtract(loose, (1, 0, 0))
    )


@pytest.fixture(scope="module")
def trained() -> HSClassifier:
    products = {"847989": "zx-9 widget", "950300": "blip plush toy", "851713": "qq handset"}
    rng = np.random.default_rng(0)
    extras = ["red", "blue", "green", "big", "small", "set of two", "used", "new"]
    history, codes = [], []
    for i in range(300):
        code = list(products)[i % 3]
        # 15 % of history declared under the wrong code: the history model is sure, and wrong
        # on some, which the confidence map learns on the held-out part.
        if rng.random() < 0.15:
            code = list(products)[(i + 1) % 3]
        history.append(f"{products[list(products)[i % 3]]} {extras[int(rng.integers(8))]}")
        codes.append(code)
    return HSClassifier(random_state=0).fit(history, codes)


def test_training_relearns_the_map_and_suggestions_show_it(trained: HSClassifier) -> None:
    assert trained.confidence_map_ != COLD_CONFIDENCE
    proba = trained.predict_proba(["qq handset red"])
    codes, shown = trained.level_confidence(proba, 6)
    assert codes[shown[0].argmax()] == codes[proba[0].argmax()] == "851713"
    top = trained.suggest(["qq handset red"], k=3)[0].hs6
    assert top[0].confidence == pytest.approx(float(shown[0].max()))
    assert [c.confidence for c in top] == sorted((c.confidence for c in top), reverse=True)


def test_check_reads_p_wrong_from_the_shown_confidence(trained: HSClassifier) -> None:
    result = check_declarations(trained, ["qq handset blue"], ["950300"], level=6)[0]
    proba = trained.predict_proba(["qq handset blue"])
    codes, shown = trained.level_confidence(proba, 6)
    declared = int(np.searchsorted(codes, "950300"))
    assert result.p_wrong == pytest.approx(1.0 - shown[0, declared])
    assert result.suggested == "851713"


def test_unknown_level_is_refused(trained: HSClassifier) -> None:
    with pytest.raises(ValidationError, match="level"):
        trained.level_confidence(trained.predict_proba(["x"]), 3)
