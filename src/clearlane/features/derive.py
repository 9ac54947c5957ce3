"""Features derived elementwise from a batch's per-row inputs (history sums, values, codes).

Both :class:`~clearlane.features.batch.BatchFeatures` (batches, block by block) and
:meth:`~clearlane.features.pipeline.FeaturePipeline.transform_vector` (one declaration) derive
their features here, from the same inputs, so the two paths give the same values. Units: values
in national currency, masses in kg; ``log_*`` features are natural logarithms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from clearlane.features.catalog import UNIT_VALUE_GROUPS

MIN_UV_HISTORY = 3
"""Earlier declarations with a unit value a group needs before its unit-value deviation counts."""

MIN_LOG_UV_STD = 0.05
"""Floor of the unit-value spread (natural log) a z-score divides by."""


@dataclass(frozen=True)
class FeatureDerivation:
    """What a fitted :class:`~clearlane.features.pipeline.FeaturePipeline` derives: its feature
    names in order, its history groups and the pseudo-count of its smoothed fraud rates.

    >>> derivation = FeatureDerivation(("all_fraud_rate", "log_customs_value"), (), 5.0)
    >>> cols = {c: np.array([200.0, 0.0]) for c in NUMERIC_INPUTS}
    >>> raw = {"all": {"nfraud": np.array([1.0, 0.0]), "insp": np.array([2.0, 0.0])}}
    >>> out = derivation.derive(cols, raw, {})
    >>> list(out)
    ['all_fraud_rate', 'log_customs_value']
    >>> out["all_fraud_rate"].tolist()  # (frauds + 1) / (inspections + 2)
    [0.5, 0.5]
    >>> out["log_customs_value"].round(3).tolist()  # no value: missing, not -inf
    [5.298, nan]
    """

    feature_names: tuple[str, ...]
    group_names: tuple[str, ...]
    prior_strength: float

    def derive(self, cols: Mapping[str, np.ndarray], raw: Mapping[str, Mapping[str, np.ndarray]],
               cats: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Feature name → float64 values (non-finite values become NaN), in
        :attr:`feature_names` order.

        ``cols`` holds the numeric inputs (:data:`NUMERIC_INPUTS`), ``raw`` the history sums
        per group (``"all"`` included), ``cats`` the category codes already named as features.
        """
        out: dict[str, np.ndarray] = {}
        g_all = raw["all"]
        prior = (g_all["nfraud"] + 1.0) / (g_all["insp"] + 2.0)
        out["all_fraud_rate"] = prior
        m = float(self.prior_strength)
        for name in self.group_names:
            r = raw[name]
            out[f"{name}_n"] = r["n"]
            out[f"{name}_insp"] = r["insp"]
            out[f"{name}_n_fraud"] = r["nfraud"]
            out[f"{name}_fraud_rate"] = (r["nfraud"] + m * prior) / (r["insp"] + m)
            out[f"{name}_rev_per_insp"] = _safe_div(r["rev"], r["insp"], 0.0)
        value = cols["customs_value"]
        mass = cols["net_mass_kg"]
        qty = cols["quantity"]
        tax = cols["tax_rate"]
        paid = cols["taxes_paid"]
        log_uv = cols["log_uv"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["log_customs_value"] = np.where(value > 0, np.log(value), np.nan)
            out["log_net_mass"] = np.where(mass > 0, np.log(mass), np.nan)
            out["log_unit_value"] = log_uv
            out["log_value_per_unit"] = np.where(
                (value > 0) & (qty > 0), np.log(value / np.where(qty > 0, qty, 1.0)), np.nan
            )
        out["tax_rate"] = tax
        out["tax_to_value"] = _safe_div(paid, value, np.nan)
        out["hs6_numeric"] = cols["hs6_numeric"]
        for name in UNIT_VALUE_GROUPS:
            if name not in raw:
                continue
            r = raw[name]
            n = r["uv_n"]
            mean = _safe_div(r["uv_s"], n, np.nan)
            var = np.maximum(_safe_div(r["uv_ss"], n, np.nan) - mean**2, 0.0)
            enough = n >= MIN_UV_HISTORY
            dev = np.where(enough, log_uv - mean, np.nan)
            out[f"uv_dev_{name}"] = dev
            out[f"uv_z_{name}"] = dev / np.maximum(np.sqrt(var), MIN_LOG_UV_STD)
        if "hs6" in raw:
            r = raw["hs6"]
            out["tax_rate_dev_hs6"] = np.where(
                r["tax_n"] > 0, tax - _safe_div(r["tax_s"], r["tax_n"], np.nan), np.nan
            )
        if "importer" in raw:
            out["importer_days_since_first"] = cols["day_num"] - raw["importer"]["first_day"]
        out.update(cats)
        columns = {}
        for name in self.feature_names:
            arr = np.asarray(out[name], dtype=float)
            bad = ~np.isfinite(arr)
            if bad.any():
                arr = np.where(bad, np.nan, arr)
            columns[name] = arr
        return columns


NUMERIC_INPUTS: tuple[str, ...] = (
    "customs_value", "net_mass_kg", "quantity", "tax_rate", "taxes_paid", "log_uv",
    "hs6_numeric", "day_num",
)
"""Numeric per-row inputs of :meth:`FeatureDerivation.derive` (prepared columns)."""


def _safe_div(a: np.ndarray, b: np.ndarray, fill: float) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b != 0, a / np.where(b != 0, b, 1.0), fill)
    return np.where(np.isfinite(out), out, fill)
