"""Targeting metrics and backtests (precision/recall/revenue at k %, AUC)."""

from __future__ import annotations

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
    "TargetingMetrics",
    "auc_score",
    "ranking",
    "selected_count",
    "targeting_metrics",
]
