"""Targeting metrics and backtests (precision/recall/revenue at k %, AUC) and calibration."""

from __future__ import annotations

from clearlane.evaluate.calibration import (
    Reliability,
    ReliabilityBin,
    reliability,
    sampling_ece,
)
from clearlane.evaluate.metrics import (
    DEFAULT_KS,
    TargetingMetrics,
    auc_score,
    ranking,
    selected_count,
    targeting_metrics,
)

__all__ = [
    "DEFAULT_KS",
    "Reliability",
    "ReliabilityBin",
    "TargetingMetrics",
    "auc_score",
    "ranking",
    "reliability",
    "sampling_ece",
    "selected_count",
    "targeting_metrics",
]
