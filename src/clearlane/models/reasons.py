"""Turn per-feature contributions into plain-language reasons with stable codes.

Contributions come from the scorer itself (the fraud model: exact TreeSHAP, log-odds units;
the anomaly detector: robust z-scores). Features of one history group (counts, inspections,
frauds, rate) are summed into a single reason, so "Importer X" appears once with its evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from clearlane.features.catalog import GROUPS_BY_NAME, HISTORY_SUFFIXES
from clearlane.schema.reasons import Reason

_VALUE_CODES: dict[str, str] = {
    "log_unit_value": "UNIT_VALUE",
    "uv_dev_hs6_origin": "UNIT_VALUE",
    "uv_z_hs6_origin": "UNIT_VALUE",
    "uv_dev_hs6": "UNIT_VALUE",
    "uv_z_hs6": "UNIT_VALUE",
    "log_value_per_unit": "UNIT_VALUE",
    "log_customs_value": "DECLARED_VALUE",
    "log_net_mass": "NET_MASS",
    "tax_rate": "TAX_RATE",
    "tax_rate_dev_hs6": "TAX_RATE",
    "tax_to_value": "TAX_RATE",
    "hs6_numeric": "COMMODITY",
    "importer_days_since_first": "IMPORTER_SENIORITY",
    "all_fraud_rate": "OVERALL_RATE",
}


def reason_code(feature: str) -> str:
    """The stable reason code of a feature (its group's code for history features)."""
    group = history_group_of(feature)
    if group is not None:
        return GROUPS_BY_NAME[group].code
    if feature.startswith("cat_"):
        return "CATEGORY_" + feature[4:].upper()
    return _VALUE_CODES.get(feature, feature.upper())


def history_group_of(feature: str) -> str | None:
    for suffix in HISTORY_SUFFIXES:
        if feature.endswith("_" + suffix):
            group = feature[: -len(suffix) - 1]
            if group in GROUPS_BY_NAME:
                return group
    return None


def _fmt(x: Any, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "unknown"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return str(x)


def _key_text(group: str, row: Mapping[str, Any]) -> str:
    g = GROUPS_BY_NAME[group]
    parts = []
    for column in g.columns:
        value = row.get(column)
        if column in ("hs6", "hs4", "hs2"):
            hs = str(row.get("hs_code") or "")
            value = hs[: {"hs6": 6, "hs4": 4, "hs2": 2}[column]] or None
        parts.append(str(value) if value is not None else "?")
    return " × ".join(parts)


def window_text(window_days: int | None) -> str:
    """How a history window is named in reasons: "in the past year", "before this date"."""
    if window_days is None:
        return "before this date"
    if window_days == 365:
        return "in the past year"
    return f"in the past {window_days} days"


def describe(
    code_feature: str,
    features: Mapping[str, float],
    row: Mapping[str, Any],
    window_days: int | None = 365,
) -> tuple[str, dict[str, Any]]:
    """Plain-language text and evidence for a reason keyed by its lead feature.

    History counts are those of the pipeline's rolling window (``window_days``; ``None`` =
    all earlier declarations), and the text says so.
    """
    group = history_group_of(code_feature)
    if group is not None:
        g = GROUPS_BY_NAME[group]
        n = features.get(f"{group}_n", 0.0)
        insp = features.get(f"{group}_insp", 0.0)
        nf = features.get(f"{group}_n_fraud", 0.0)
        rate = features.get(f"{group}_fraud_rate", float("nan"))
        evidence = {"key": _key_text(group, row), "declarations": int(n), "inspected": int(insp),
                    "frauds": int(nf), "smoothed_fraud_rate": round(float(rate), 4),
                    "window_days": window_days}
        who = f"{g.label} {evidence['key']}"
        when = window_text(window_days)
        if insp > 0:
            text = (f"{who}: {int(nf)} of its {int(insp)} inspected declarations {when} "
                    f"were fraudulent")
        elif n > 0:
            text = f"{who}: {int(n)} declarations {when}, no inspection outcome among them"
        else:
            text = f"{who}: no declarations {when}"
        return text, evidence
    if code_feature.startswith("uv_") or code_feature in ("log_unit_value", "log_value_per_unit"):
        hs = str(row.get("hs_code") or "")[:6]
        origin = row.get("origin_country") or "?"
        for name, where in (("hs6_origin", f"HS {hs} from {origin}"), ("hs6", f"HS {hs}")):
            dev = features.get(f"uv_dev_{name}", float("nan"))
            if not math.isnan(dev):
                pct = (math.exp(dev) - 1.0) * 100.0
                direction = "below" if pct < 0 else "above"
                text = f"Unit value {abs(pct):.0f} % {direction} the typical value for {where}"
                return text, {"unit_value_ratio": round(math.exp(dev), 4), "reference": where}
        uv = features.get("log_unit_value", float("nan"))
        value = math.exp(uv) if not math.isnan(uv) else float("nan")
        return (f"Unit value {_fmt(value, 2)} per kg (no reference history for HS {hs})",
                {"unit_value_per_kg": value})
    if code_feature == "log_customs_value":
        v = features.get(code_feature, float("nan"))
        value = math.exp(v) if not math.isnan(v) else float("nan")
        currency = row.get("currency") or ""
        return f"Declared value {_fmt(value)} {currency}".rstrip(), {"customs_value": value}
    if code_feature == "log_net_mass":
        v = features.get(code_feature, float("nan"))
        mass = math.exp(v) if not math.isnan(v) else float("nan")
        return f"Net mass {_fmt(mass, 1)} kg", {"net_mass_kg": mass}
    if code_feature in ("tax_rate", "tax_rate_dev_hs6", "tax_to_value"):
        rate = features.get("tax_rate", float("nan"))
        dev = features.get("tax_rate_dev_hs6", float("nan"))
        text = f"Tax rate {_fmt(rate, 1)} %"
        if not math.isnan(dev) and not math.isnan(rate):
            text += f" (earlier declarations of this HS code averaged {_fmt(rate - dev, 1)} %)"
        return text, {"tax_rate": rate, "tax_rate_vs_hs6": dev}
    if code_feature == "hs6_numeric":
        hs = str(row.get("hs_code") or "")[:6]
        return f"Commodity HS {hs}", {"hs6": hs}
    if code_feature == "importer_days_since_first":
        days = features.get(code_feature, float("nan"))
        who = row.get("importer_id") or "?"
        if math.isnan(days):
            return f"Importer {who}: first declaration", {"days_since_first": None}
        return (f"Importer {who}: first declaration {int(days)} days earlier",
                {"days_since_first": int(days)})
    if code_feature == "all_fraud_rate":
        rate = features.get(code_feature, float("nan"))
        return (f"Overall fraud rate among inspections {window_text(window_days)} "
                f"{rate * 100:.1f} %",
                {"overall_fraud_rate": rate})
    if code_feature.startswith("cat_"):
        column = code_feature[4:]
        source = column[len("extra_"):] if column.startswith("extra_") else column
        category: Any = row.get(source)
        if category is None:
            category = row.get("_extra_values", {}).get(source)
        label = source.replace("_", " ").capitalize()
        return f"{label} {category if category is not None else 'missing'}", {source: category}
    other = features.get(code_feature)
    return f"{code_feature} = {other}", {code_feature: other}


def reasons_from_contributions(
    contributions: np.ndarray,
    feature_names: Sequence[str],
    feature_rows: Sequence[Mapping[str, float]],
    rows: Sequence[Mapping[str, Any]],
    top: int = 3,
    positive_only: bool = True,
    window_days: int | None = 365,
) -> list[tuple[Reason, ...]]:
    """Top reasons per row from a (rows × features) contribution matrix.

    History features of one group and unit-value features are summed into one reason; the lead
    feature (largest absolute contribution) picks the text. Weights are rounded to 4 digits.
    """
    codes = [reason_code(f) for f in feature_names]
    unique_codes = list(dict.fromkeys(codes))
    code_index = {c: i for i, c in enumerate(unique_codes)}
    membership = np.zeros((len(feature_names), len(unique_codes)))
    for j, c in enumerate(codes):
        membership[j, code_index[c]] = 1.0
    grouped = np.asarray(contributions, dtype=float) @ membership
    out: list[tuple[Reason, ...]] = []
    for i in range(grouped.shape[0]):
        weights = grouped[i]
        order = np.argsort(-weights if positive_only else -np.abs(weights), kind="stable")
        reasons: list[Reason] = []
        for ci in order[:top]:
            w = float(weights[ci])
            if positive_only and w <= 0:
                break
            code = unique_codes[ci]
            members = [j for j, c in enumerate(codes) if c == code]
            lead = max(members, key=lambda j: abs(float(contributions[i][j])))
            text, evidence = describe(feature_names[lead], feature_rows[i], rows[i],
                                      window_days)
            weight = round(w, 4)  # the text quotes the stored weight, so both always agree
            # an unknown number is null in the evidence: NaN is not JSON (API, stored table)
            evidence = {k: None if isinstance(v, float) and not math.isfinite(v) else v
                        for k, v in evidence.items()}
            reasons.append(Reason(code=code, text=f"{text} ({weight:+.2f})", weight=weight,
                                  evidence=evidence))
        out.append(tuple(reasons))
    return out
