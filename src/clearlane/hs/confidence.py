"""Calibrated confidence of a suggested code, from the classifier's probabilities.

The mixture's softmax (:mod:`clearlane.hs.mixture`) is fitted by likelihood over all 5 612
subheadings. That makes the probability of the right code right on average, but not the
confidence of the *top* candidate: measured on held-out rows, the first HS6 candidate's
probability is 8–14 percentage points off (expected calibration error, docs/benchmarks.md,
HS section 6), because the likelihood also has to cover the descriptions whose right code
lies far down the list. So the confidence shown for a candidate at level L (HS6, HS4 or HS2) is

    confidence = σ(a_L · logit p + b_L + c_L · [the candidate is the first at its level])

with ``p`` its probability (summed to the level), logit p = log(p / (1 − p)) and σ the
logistic function (so a = 1, b = c = 0 shows ``p`` itself): Platt scaling
with a bonus for the first place, fitted by likelihood on whether each of the top five
candidates of labelled validation descriptions was right. ``a_L > 0`` and ``c_L ≥ 0``, so
candidates keep their order. Confidences are per candidate (the chance that this code is
the right one) and need not sum to 1 over a list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

LEVELS: tuple[int, ...] = (6, 4, 2)
_TOP_K = 5
_FLOOR = 1e-12


@dataclass(frozen=True)
class ConfidenceMap:
    """``(a, b, c)`` per level (6, 4, 2) of :func:`confidence`."""

    coefficients: dict[int, tuple[float, float, float]]

    def confidence(self, proba: np.ndarray, level: int) -> np.ndarray:
        """Calibrated confidence of every code of ``proba`` (n, n_codes at ``level``),
        same shape; the row's most likely code gets the first-place term."""
        a, b, c = self.coefficients[level]
        logit = a * _logit(proba) + b
        rows = np.arange(proba.shape[0])
        top = proba.argmax(axis=1)
        logit[rows, top] += c
        return np.asarray(expit(logit))


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _FLOOR, 1.0 - _FLOOR)
    return np.asarray(np.log(q) - np.log1p(-q))


IDENTITY = ConfidenceMap({6: (1.0, 0.0, 0.0), 4: (1.0, 0.0, 0.0), 2: (1.0, 0.0, 0.0)})
"""Confidence = probability."""

COLD_CONFIDENCE = ConfidenceMap(
    {6: (0.781, -0.294, 0.0), 4: (0.765, -0.336, 0.001), 2: (0.793, -0.171, 0.0)}
)
"""Cold-start map (no encoder), learned with :data:`~clearlane.hs.mixture.COLD_WEIGHTS` on the
same CROSS validation rulings (national tariff and examples loaded; ``fit_weights`` with
:data:`IDENTITY` as the prior). The fit is flat enough that the prior shows: re-learned from
this map as the prior, as ``fit_weights`` now does, the same rulings give a somewhat
different map (the benchmark prints it)."""

EMBEDDING_COLD_CONFIDENCE = ConfidenceMap(
    {6: (0.789, -0.348, 0.208), 4: (0.857, -0.141, 0.006), 2: (0.898, -0.057, 0.0)}
)
"""Cold-start map with an encoder, learned likewise (identity prior) with
:data:`~clearlane.hs.mixture.EMBEDDING_COLD_WEIGHTS`."""


def fit_level(
    proba: np.ndarray,
    target: np.ndarray,
    prior: tuple[float, float, float],
    strength: float = 1.0,
) -> tuple[float, float, float]:
    """``(a, b, c)`` for one level by maximum likelihood on the top five candidates of each
    row of ``proba`` (n, n_codes), ``target`` the index of each row's right code. A penalty of
    ``strength`` × squared distance to ``prior``, divided by the number of rows, keeps small
    validation sets near the prior."""
    k = min(_TOP_K, proba.shape[1])
    top = np.argsort(-proba, axis=1)[:, :k]
    logit_p = _logit(np.take_along_axis(proba, top, axis=1)).ravel()
    first = np.tile(np.arange(k) == 0, len(proba)).astype(np.float64)
    right = (top == np.asarray(target)[:, None]).ravel().astype(np.float64)
    design = np.stack([logit_p, np.ones_like(logit_p), first], axis=1)
    centre = np.asarray(prior, dtype=np.float64)
    penalty = strength / max(len(proba), 1)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ theta
        q = expit(z)
        # log(1 + e^z) − y z, computed without overflow
        value = float(np.mean(np.logaddexp(0.0, z) - right * z))
        grad = design.T @ (q - right) / len(z)
        diff = theta - centre
        return value + penalty * float(diff @ diff), grad + 2 * penalty * diff

    result = minimize(
        loss,
        centre,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.05, None), (None, None), (0.0, None)],
    )
    a, b, c = (float(v) for v in result.x)
    return a, b, c


def fit_confidence_map(
    level_probas: dict[int, np.ndarray],
    targets: dict[int, np.ndarray],
    prior: ConfidenceMap,
    strength: float = 1.0,
) -> ConfidenceMap:
    """A map fitted per level: ``level_probas[L]`` the probabilities summed to level ``L``,
    ``targets[L]`` the column of each row's right code there."""
    return ConfidenceMap(
        {
            level: fit_level(
                level_probas[level], targets[level], prior.coefficients[level], strength
            )
            for level in LEVELS
        }
    )
