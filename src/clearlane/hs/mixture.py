"""Mixture weights of the classifier's evidence, learned as a conditional logit.

The classifier scores every candidate subheading ``c`` of a description by a weighted sum of
evidence features (:data:`FEATURES`); its probability is the softmax of that sum over all
subheadings. The weights are fitted by maximum likelihood of the right code on labelled
validation pairs (a conditional logit: one weight per feature shared by all candidates, so a
few hundred pairs are enough), so no separate temperature is needed for the probabilities
(the confidence shown for the top candidates is recalibrated on top of them,
:mod:`clearlane.hs.confidence`). Weights are kept non-negative (every feature is "more
similar = more likely") and lightly L2-regularised.

:data:`COLD_WEIGHTS` are the cold-start defaults. They were learned this way on the CROSS
*validation* split of the research data (200 customs rulings) with the national tariff and
the synthetic examples loaded; ``benchmarks/hs.py`` re-learns and prints them and never uses
the rows it reports on.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

FEATURES: tuple[str, ...] = (
    "match",
    "heading_match",
    "chapter_match",
    "heading_centroid",
    "chapter_centroid",
    "chapter_classifier",
    "history_hs6",
    "history_hs4",
    "history_hs2",
    "embedding_match",
    "embedding_heading_match",
    "embedding_chapter_match",
)
"""Evidence per (description, subheading): ``match`` = best similarity to one reference text
(or past declaration) of the subheading; ``heading_match``/``chapter_match`` = the best
``match`` among all subheadings of its heading/chapter (back-off up the hierarchy);
``*_centroid`` = similarity to the centroid of all reference texts of its heading/chapter;
``chapter_classifier`` = log-probability of its chapter under a linear model trained on the
reference texts (:mod:`clearlane.hs.chapters`);
``history_hsL`` = probability of its L-digit code under the model fitted on history;
``embedding_*`` = the same best match, heading and chapter back-off as the first three, with
sentence-embedding cosine similarity instead of TF-IDF (0 without an encoder, extra ``text``)."""

COLD_WEIGHTS: dict[str, float] = {
    "match": 8.4,
    "heading_match": 3.46,
    "chapter_match": 1.55,
    "heading_centroid": 3.25,
    "chapter_centroid": 0.55,
    "chapter_classifier": 0.69,
    "history_hs6": 0.0,
    "history_hs4": 0.0,
    "history_hs2": 0.0,
    "embedding_match": 0.0,
    "embedding_heading_match": 0.0,
    "embedding_chapter_match": 0.0,
}

EMBEDDING_COLD_WEIGHTS: dict[str, float] = {
    "match": 4.61,
    "heading_match": 0.03,
    "chapter_match": 0.0,
    "heading_centroid": 2.11,
    "chapter_centroid": 0.0,
    "chapter_classifier": 0.44,
    "history_hs6": 0.0,
    "history_hs4": 0.0,
    "history_hs2": 0.0,
    "embedding_match": 8.14,
    "embedding_heading_match": 5.67,
    "embedding_chapter_match": 2.18,
}
"""Cold-start weights with an encoder (MiniLM), learned the same way as :data:`COLD_WEIGHTS`
with the embedding evidence added."""


def fit_mixture_weights(
    features: np.ndarray, target: np.ndarray, l2: float = 1e-3, start: np.ndarray | None = None
) -> np.ndarray:
    """Weights (n_features,) maximising the mean log-likelihood of ``target``.

    ``features`` has shape (n_features, n_pairs, n_classes), ``target`` the index of the right
    class of each pair. Features constant across classes carry no information and get 0.
    """
    data = features.astype(np.float64)
    n_features, n, _ = data.shape
    rows = np.arange(n)
    chosen = data[:, rows, target]

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        scores = np.tensordot(weights, data, 1)
        scores -= scores.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scores).sum(axis=1))
        proba = np.exp(scores - log_norm[:, None])
        value = -float(np.mean(scores[rows, target] - log_norm)) + l2 * float(weights @ weights)
        expected = np.einsum("fnk,nk->f", data, proba)
        grad = -(chosen.sum(axis=1) - expected) / n + 2 * l2 * weights
        return value, grad

    x0 = np.ones(n_features) if start is None else np.asarray(start, dtype=np.float64)
    result = minimize(loss, x0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * n_features)
    return np.asarray(result.x)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))
