"""How far stated confidences are from observed accuracy (reliability, expected calibration
error).

A model is *calibrated* when, among the predictions it gives confidence ``p``, a share ``p``
is right. With ``n_bins`` equal-width bins over [0, 1], each prediction is put in the bin of
its confidence and

* ``accuracy_b`` = share of right predictions in bin ``b``;
* ``confidence_b`` = mean stated confidence in bin ``b``;
* ``ECE`` = Σ_b (n_b / n) · |accuracy_b − confidence_b| (0 = perfectly calibrated; in the
  units of a probability, so 0.05 = five percentage points off on average).

``mean_confidence`` above ``accuracy`` means over-confident, below means under-confident.

On a few hundred predictions the ECE of even a perfectly calibrated model is well above 0
(each bin's share right is a small-sample estimate); :func:`sampling_ece` gives that noise
level for the same confidences, to read an observed ECE against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clearlane.errors import ValidationError


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin [``low``, ``high``): its predictions, their mean confidence and the
    share of them that were right."""

    low: float
    high: float
    count: int
    confidence: float
    accuracy: float


@dataclass(frozen=True)
class Reliability:
    """Calibration of ``n`` predictions: overall mean confidence and accuracy, the expected
    calibration error and the non-empty bins behind it."""

    n: int
    mean_confidence: float
    accuracy: float
    ece: float
    bins: tuple[ReliabilityBin, ...]


def reliability(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    n_bins: int = 10,
) -> Reliability:
    """Reliability of predictions with stated ``confidence`` (0-1) and outcome ``correct``.

    Four predictions stated at 90 % of which two were right, four at 20 % of which one was:

    >>> r = reliability([0.9] * 4 + [0.2] * 4, [True, True, False, False, True] + [False] * 3)
    >>> r.accuracy, [(b.low, b.count, b.accuracy) for b in r.bins]
    (0.375, [(0.2, 4, 0.25), (0.9, 4, 0.5)])
    >>> round(r.ece, 3)  # (4 × |0.5 − 0.9| + 4 × |0.25 − 0.2|) / 8
    0.225
    """
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=bool)
    if conf.shape != right.shape or conf.ndim != 1:
        raise ValidationError(
            f"confidence and correct must be 1-D of one length; got {conf.shape} and {right.shape}"
        )
    if len(conf) == 0:
        raise ValidationError("reliability needs at least one prediction")
    outside = np.flatnonzero(~((conf >= 0.0) & (conf <= 1.0)))
    if len(outside):
        i = int(outside[0])
        raise ValidationError(f"confidence at row {i} is {conf[i]!r}; it must lie in [0, 1]")
    if n_bins < 1:
        raise ValidationError(f"n_bins must be at least 1; got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Confidence 1.0 belongs to the last bin.
    which = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    bins = []
    ece = 0.0
    for b in range(n_bins):
        members = which == b
        count = int(members.sum())
        if count == 0:
            continue
        mean_conf = float(conf[members].mean())
        accuracy = float(right[members].mean())
        ece += count / len(conf) * abs(accuracy - mean_conf)
        bins.append(
            ReliabilityBin(float(edges[b]), float(edges[b + 1]), count, mean_conf, accuracy)
        )
    return Reliability(len(conf), float(conf.mean()), float(right.mean()), ece, tuple(bins))


def sampling_ece(
    confidence: Sequence[float] | np.ndarray, n_bins: int = 10, draws: int = 200, seed: int = 0
) -> float:
    """Mean ECE of a perfectly calibrated model stating ``confidence``: outcomes drawn as
    Bernoulli(confidence), ``draws`` times. An observed ECE near this is within sampling
    noise; one well above it is a real calibration error."""
    conf = np.asarray(confidence, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return float(
        np.mean([reliability(conf, rng.random(len(conf)) < conf, n_bins).ece for _ in range(draws)])
    )
