"""Leakage-safe features: history per entity and pair, unit values, taxes, categoricals.

Every feature of a declaration dated ``d`` uses only declarations dated strictly before ``d``
and only outcomes known to the fitted history. See :mod:`clearlane.features.pipeline`.
"""

from __future__ import annotations

from clearlane.features.catalog import HISTORY_GROUPS, HistoryGroup
from clearlane.features.pipeline import FeaturePipeline, FittedFeatures

__all__ = ["HISTORY_GROUPS", "FeaturePipeline", "FittedFeatures", "HistoryGroup"]
