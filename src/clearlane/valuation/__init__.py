"""Price verification: reference value bands, price checks, quantile model and mirror analysis.

Every output of this package is a **risk indicator** for selecting declarations for a valuation
check. None of it is a correct, minimum or substitute customs value: under the WTO Valuation
Agreement and WCO guidance the customs value is the transaction value where it can be used,
and a valuation database may only target controls.
"""

from __future__ import annotations

from clearlane.valuation.bands import BandConfig, BandMeta, ValueBands, build_bands, robust_band
from clearlane.valuation.check import (
    REASON_CODES,
    PriceCheckResult,
    calibrate_history,
    check_prices,
)
from clearlane.valuation.conversion import ExchangeRates, UnitTable
from clearlane.valuation.history import HistoryConfig, ImporterHistory, build_importer_history
from clearlane.valuation.mirror import (
    mirror_gaps,
    normalise_mirror_statistics,
    read_mirror_statistics,
)
from clearlane.valuation.registry import BandRegistry

__all__ = [
    "REASON_CODES",
    "BandConfig",
    "BandMeta",
    "BandRegistry",
    "ExchangeRates",
    "HistoryConfig",
    "ImporterHistory",
    "PriceCheckResult",
    "UnitTable",
    "ValueBands",
    "build_bands",
    "build_importer_history",
    "calibrate_history",
    "check_prices",
    "mirror_gaps",
    "normalise_mirror_statistics",
    "read_mirror_statistics",
    "robust_band",
]
