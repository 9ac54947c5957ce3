"""Anomaly detector for administrations without inspection outcomes (no labels needed).

A customs profile written as robust statistics: each declaration gets one-sided robust
z-scores, ``(x − median) / (1.4826 · MAD)`` measured on the fitted declarations, for the
signals that point at fraud without any outcome:

* **unit value below** the history of the same HS6 × origin (``uv_z_hs6_origin``) and of the
  same HS6 (``uv_z_hs6``) — under-valuation;
* **tax rate below** the average of earlier declarations of the HS6 (``tax_rate_dev_hs6``) —
  misclassification into a cheaper heading;
* **rare pairs**: few earlier declarations of this importer × HS6 and of this HS6 × origin
  (``log1p`` of the counts) — new trade lanes, false origins;
* **new importer**: few earlier declarations of the importer (``log1p(importer_n)``).

Only the suspicious side counts (a high unit value adds nothing) and each part is clipped to
[0, 6], so no single feature dominates. The score is their sum: **higher = more anomalous =
riskier**. The parts are the reasons, worded like the fraud model's (same codes). Features
come from the same leakage-safe :class:`FeaturePipeline` (outcome columns are dropped).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.features.batch import BatchFeatures
from clearlane.features.pipeline import FeaturePipeline, FittedFeatures
from clearlane.models.fraud import _reason_rows
from clearlane.models.reasons import reasons_from_contributions
from clearlane.schema.reasons import Reason

_LABEL_COLUMNS = ("inspected", "fraud", "revenue_recovered")

SIGNALS: tuple[tuple[str, int, bool], ...] = (
    ("uv_z_hs6_origin", -1, False),
    ("uv_z_hs6", -1, False),
    ("tax_rate_dev_hs6", -1, False),
    ("importer_hs6_n", -1, True),
    ("hs6_origin_n", -1, True),
    ("importer_n", -1, True),
)
"""(feature, direction, log1p): direction −1 means *low* values are suspicious."""

GROUPS: tuple[str, ...] = ("importer", "hs6", "hs6_origin", "importer_hs6")
"""History groups the signals need (a smaller pipeline than the fraud model's)."""

_CLIP = 6.0


class AnomalyDetector:
    """Unsupervised risk score (higher = more unusual) with plain-language reasons.

    Parameters
    ----------
    clip:
        Upper bound of each one-sided robust z-score.
    random_state, n_jobs:
        Kept for the common estimator interface; the detector is deterministic.
    feature_params:
        Keyword arguments of :class:`FeaturePipeline` (default: the groups in :data:`GROUPS`).
    """

    def __init__(self, clip: float = _CLIP, random_state: int = 0, n_jobs: int = 2,
                 feature_params: Mapping[str, Any] | None = None) -> None:
        self.clip = clip
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.feature_params = feature_params

    def fit(self, declarations: pl.DataFrame, *,
            features: FittedFeatures | None = None) -> AnomalyDetector:
        """Fit on declarations (outcome columns, if present, are ignored).

        ``features``: a pipeline already fitted on ``declarations`` (with this detector's
        feature parameters, its groups among the pipeline's) and its features of them, e.g.
        the fraud model's: the detector keeps that pipeline's groups it needs, with the
        outcome sums zeroed, and reads its signals from the shared frame instead of fitting
        and transforming a pipeline of its own. The result is the same.
        """
        if declarations.height < 10:
            raise ValidationError(
                f"the anomaly detector needs at least 10 declarations; got {declarations.height}"
            )
        params = self._feature_params()
        if features is not None:
            features.check(declarations, params, groups_subset=True)
            return self.fit_shared(features.pipeline, features.frame)
        unlabelled = declarations.drop([c for c in _LABEL_COLUMNS if c in declarations.columns])
        self.pipeline_ = FeaturePipeline(**params).fit(unlabelled)
        self._choose_signals(params)
        return self._fit_scales(self._signal_matrix(self.pipeline_.transform_matrix(unlabelled)))

    def fit_shared(self, pipeline: FeaturePipeline, features: pl.DataFrame) -> AnomalyDetector:
        """Fit from a pipeline fitted on the training rows with outcomes (the fraud model's,
        with this detector's feature parameters and its groups among the pipeline's) and the
        in-sample features of those rows (at least the columns of :data:`SIGNALS` the
        pipeline has). The detector keeps the pipeline's groups it needs, with the outcome sums
        zeroed; the signals use no outcome sums, so the shared features hold their values.
        The result is that of :meth:`fit` on the same rows."""
        if features.height < 10:
            raise ValidationError(
                f"the anomaly detector needs at least 10 declarations; got {features.height}")
        params = self._feature_params()
        FittedFeatures.check_params(pipeline, params, groups_subset=True)
        self.pipeline_ = pipeline.subset(params["groups"], labels=False)
        self._choose_signals(params)
        return self._fit_scales(self._log_signals(features.select(self.feature_names_).to_numpy()))

    def _feature_params(self) -> dict[str, Any]:
        return {"groups": list(GROUPS), **dict(self.feature_params or {})}

    def _choose_signals(self, params: Mapping[str, Any]) -> None:
        available = set(self.pipeline_.feature_names_)
        self.signals_ = [s for s in SIGNALS if s[0] in available]
        if not self.signals_:
            raise ValidationError(
                f"the anomaly detector needs at least one of {[s[0] for s in SIGNALS]}; "
                f"the feature groups {params['groups']} give none"
            )
        self.feature_names_ = [s[0] for s in self.signals_]

    def _fit_scales(self, X: np.ndarray) -> AnomalyDetector:
        self.medians_ = np.nan_to_num(np.nanmedian(X, axis=0), nan=0.0)
        mad = np.nan_to_num(np.nanmedian(np.abs(X - self.medians_), axis=0))
        std = np.nan_to_num(np.nanstd(X, axis=0))
        # MAD is 0 when most values are equal (e.g. counts of 0): fall back to the std, then 1.
        self.scales_ = np.where(mad > 0, 1.4826 * mad, np.where(std > 0, std, 1.0))
        return self

    def _signal_matrix(self, matrix: np.ndarray) -> np.ndarray:
        columns = [self.pipeline_.feature_names_.index(f) for f, _, _ in self.signals_]
        return self._log_signals(matrix[:, columns])

    def _log_signals(self, signals: np.ndarray) -> np.ndarray:
        X = signals.astype(float)
        for j, (_, _, log) in enumerate(self.signals_):
            if log:
                X[:, j] = np.log1p(np.maximum(X[:, j], 0.0))
        return X

    def _parts(self, declarations: pl.DataFrame, batch: BatchFeatures | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(suspicion parts per signal, the pipeline's full feature matrix); ``batch``: the
        pipeline's batch of ``declarations`` when the caller made it already."""
        if not hasattr(self, "scales_"):
            raise ValidationError("AnomalyDetector is not fitted; call fit() first")
        if batch is None:
            unlabelled = declarations.drop([c for c in _LABEL_COLUMNS
                                            if c in declarations.columns])
            batch = self.pipeline_.batch(unlabelled)
        matrix = batch.matrix()
        X = self._signal_matrix(matrix)
        direction = np.array([d for _, d, _ in self.signals_], dtype=float)
        z = direction * (X - self.medians_) / self.scales_
        return np.clip(np.nan_to_num(z, nan=0.0), 0.0, self.clip), matrix

    def score_samples(self, declarations: pl.DataFrame,
                      batch: BatchFeatures | None = None) -> np.ndarray:
        """Anomaly score per row (higher = more anomalous), in input order (``batch``: as
        :meth:`score_explained`)."""
        parts, _ = self._parts(declarations, batch)
        return parts.sum(axis=1)

    def explain(self, declarations: pl.DataFrame, top: int = 3) -> list[tuple[Reason, ...]]:
        """The largest suspicion parts per row, as reasons (weight = robust z-score)."""
        parts, matrix = self._parts(declarations)
        return self._reasons(declarations, parts, matrix, top)

    def score_explained(self, declarations: pl.DataFrame, explain_share: float = 1.0,
                        top: int = 3, batch: BatchFeatures | None = None
                        ) -> tuple[np.ndarray, list[tuple[Reason, ...]]]:
        """Scores of every row and reasons for the most anomalous ``explain_share`` of rows
        (the others get an empty tuple), computing the features once. ``batch``: the
        pipeline's batch of ``declarations``, when the caller made it already (e.g. from the
        fraud model's, :meth:`FeaturePipeline.unlabelled_batch`)."""
        parts, matrix = self._parts(declarations, batch)
        scores = parts.sum(axis=1)
        explained: list[tuple[Reason, ...]] = [()] * declarations.height
        count = min(declarations.height, math.ceil(declarations.height * explain_share))
        if count:
            chosen = np.sort(np.argsort(-scores, kind="stable")[:count])
            found = self._reasons(declarations[pl.Series(chosen)], parts[chosen], matrix[chosen],
                                  top)
            for row, item in zip(chosen.tolist(), found, strict=True):
                explained[row] = item
        return scores, explained

    def score_record(self, record: Mapping[str, Any], top: int = 3
                     ) -> tuple[float, tuple[Reason, ...]]:
        """Score and reasons of one declaration (a mapping of canonical fields), the same as
        :meth:`score_explained` gives its row, without polars: the API fast path."""
        if not hasattr(self, "scales_"):
            raise ValidationError("AnomalyDetector is not fitted; call fit() first")
        matrix = self.pipeline_.transform_vector(
            {k: v for k, v in record.items() if k not in _LABEL_COLUMNS})
        X = self._signal_matrix(matrix)
        direction = np.array([d for _, d, _ in self.signals_], dtype=float)
        parts = np.clip(np.nan_to_num(direction * (X - self.medians_) / self.scales_, nan=0.0),
                        0.0, self.clip)
        reasons = self._reasons(pl.DataFrame([dict(record)]), parts, matrix, top)[0] \
            if top > 0 else ()
        return float(parts.sum(axis=1)[0]), reasons

    def _reasons(self, declarations: pl.DataFrame, parts: np.ndarray, matrix: np.ndarray,
                 top: int) -> list[tuple[Reason, ...]]:
        names = self.pipeline_.feature_names_
        feature_rows = [dict(zip(names, row, strict=True)) for row in matrix.tolist()]
        return reasons_from_contributions(
            parts, self.feature_names_, feature_rows,
            _reason_rows(declarations, self.pipeline_.extra_columns_), top=top,
            window_days=self.pipeline_.window_days,
        )
