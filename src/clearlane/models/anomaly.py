"""Anomaly detector for administrations without inspection outcomes (no labels needed).

An IsolationForest on the label-free features of :class:`FeaturePipeline` (declaration counts,
value, mass, unit value against the HS6 × origin history, tax, seniority, categories). The score
is ``-score_samples``: **higher = more anomalous = riskier**. Reasons come from robust z-scores
(|x − median| / (1.4826 · MAD)) of the features, grouped and worded like the fraud model's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import IsolationForest

from clearlane.errors import ValidationError
from clearlane.features.pipeline import FeaturePipeline
from clearlane.models.fraud import _reason_rows
from clearlane.models.reasons import reasons_from_contributions
from clearlane.schema.reasons import Reason

_LABEL_SUFFIXES = ("_insp", "_n_fraud", "_fraud_rate", "_rev_per_insp")


def label_free(feature_names: list[str]) -> list[str]:
    """Features that do not use any inspection outcome."""
    return [
        f for f in feature_names
        if f != "all_fraud_rate" and not f.endswith(_LABEL_SUFFIXES)
    ]


class AnomalyDetector:
    """Unsupervised risk score (higher = more unusual) with plain-language reasons."""

    def __init__(self, n_estimators: int = 200, max_samples: int = 4096, random_state: int = 0,
                 n_jobs: int = 2, feature_params: Mapping[str, Any] | None = None) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.feature_params = feature_params

    def fit(self, declarations: pl.DataFrame) -> AnomalyDetector:
        """Fit on declarations (outcome columns, if present, are ignored)."""
        if declarations.height < 10:
            raise ValidationError(
                f"the anomaly detector needs at least 10 declarations; got {declarations.height}"
            )
        unlabelled = declarations.drop(
            [c for c in ("inspected", "fraud", "revenue_recovered") if c in declarations.columns]
        )
        self.pipeline_ = FeaturePipeline(**dict(self.feature_params or {})).fit(unlabelled)
        self.feature_names_ = label_free(self.pipeline_.feature_names_)
        X = self.pipeline_.transform(unlabelled).select(self.feature_names_).to_numpy()
        self.medians_ = np.nan_to_num(np.nanmedian(X, axis=0), nan=0.0)
        mad = np.nanmedian(np.abs(X - self.medians_), axis=0)
        self.scales_ = np.where(np.nan_to_num(mad) > 0, 1.4826 * np.nan_to_num(mad), 1.0)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, len(X)),
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(self._impute(X))
        return self

    def _impute(self, X: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(X), self.medians_, X)

    def _matrix(self, declarations: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
        if not hasattr(self, "forest_"):
            raise ValidationError("AnomalyDetector is not fitted; call fit() first")
        features = self.pipeline_.transform(declarations).select(self.feature_names_)
        return features, features.to_numpy()

    def score_samples(self, declarations: pl.DataFrame) -> np.ndarray:
        """Anomaly score per row (higher = more anomalous), in input order."""
        _, X = self._matrix(declarations)
        return -np.asarray(self.forest_.score_samples(self._impute(X)))

    def explain(self, declarations: pl.DataFrame, top: int = 3) -> list[tuple[Reason, ...]]:
        """Features furthest from their typical value (robust z-scores, grouped)."""
        features, X = self._matrix(declarations)
        categorical = [f.startswith("cat_") for f in self.feature_names_]
        z = np.abs(self._impute(X) - self.medians_) / self.scales_
        z[:, categorical] = 0.0  # category codes have no distance; the forest still uses them
        return reasons_from_contributions(
            z, self.feature_names_, features.to_dicts(),
            _reason_rows(declarations, self.pipeline_.extra_columns_), top=top,
        )
