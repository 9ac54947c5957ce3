"""Plain-language reasons of the price check, each worded as a risk indicator."""

from __future__ import annotations

import math
from typing import Any

from clearlane.schema.reasons import Reason
from clearlane.valuation.history import HISTORY_LEVELS
from clearlane.valuation.unit_values import BASES

CAUTION = (
    "This is a risk indicator for selecting a valuation check, not a correct or minimum value; "
    "the customs value is determined under the valuation rules (transaction value first)."
)
REASON_CODES: dict[str, str] = {
    "PRICE_BELOW_BAND": "Declared unit value below the lower bound of its reference band.",
    "PRICE_ABOVE_BAND": "Declared unit value above the upper bound of its reference band.",
    "PRICE_BAND_BACKOFF": "The band came from a coarser level because the specific cell was sparse.",
    "PRICE_NO_REFERENCE": "No reference band with enough declarations for this commodity.",
    "PRICE_TRADER_BELOW_MARKET": "The importer's accepted earlier declarations sit far below the market bands.",
    "PRICE_BELOW_MODEL_RANGE": "Declared unit value below the conditional quantile model's range.",
    "PRICE_QUANTITY_MISMATCH": "Declared quantity in kg below the declared net mass: priced per declared kg.",
}
"""Stable reason codes of the price check and what each means."""



def _money(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def _unit_label(basis: str, row: dict[str, Any]) -> str:
    return "kg" if basis == "kg" else str(row.get("unit_unit") or "unit")


def ordinal(q: float) -> str:
    n = round(q * 100, 1)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(int(n) % 10, "th")
    return f"{n:g}{suffix}"


def declared_text(evidence: dict[str, Any]) -> str:
    """"declared 1,120 XOF/kg": the declared unit value of a band reason's evidence."""
    return f"declared {_money(evidence['declared_unit_value'])} {evidence['currency']}/{evidence['unit']}"


def band_text(evidence: dict[str, Any]) -> str:
    """The reference band of a band reason's evidence, in words."""
    own = evidence["level"] in HISTORY_LEVELS
    low, high = _money(evidence["band_low"]), _money(evidence["band_high"])
    per = f"{evidence['currency']}/{evidence['unit']}"
    median = _money(evidence["band_median"])
    if own:
        return (f"the expected {evidence['band_label']} from {evidence['reference']} "
                f"({evidence['period']}) is {low}–{high} {per} (median {median})")
    text = (f"the {evidence['band_label']} for {evidence['reference']} in {evidence['period']} is "
            f"{low}–{high} {per} (median {median}) over {evidence['cell_size']:,} declarations")
    shift = evidence.get("importer_shift") or 0.0
    if shift:
        text += (f", moved {math.expm1(shift):+.0%} for this importer's price level over its "
                 f"{evidence.get('importer_index_n') or 0:,} earlier declarations")
    return text


def estimate_text(evidence: dict[str, Any]) -> str:
    """" Estimated under-declared value … (national currency)." when the evidence has one."""
    if not evidence.get("estimated_undervalue"):
        return ""
    return (f" Estimated under-declared value {_money(evidence['estimated_undervalue'])} and "
            f"revenue at risk {_money(evidence.get('revenue_at_risk'))} (national currency).")


def quantity_text(evidence: dict[str, Any]) -> str:
    """"the declared quantity is 12% below the declared net mass, so the price is measured per
    declared kg": a quantity mismatch reason's evidence in words."""
    return (f"the declared quantity is {-math.expm1(-evidence['quantity_short']):.0%} below the "
            "declared net mass, so the price is measured per declared kg")


def reasons_for_row(
    row: dict[str, Any], currency: str, band_label: str = "5th–95th percentile"
) -> tuple[Reason, ...]:
    """Reasons for one result row (a dict of :class:`PriceCheckResult` columns)."""
    reasons: list[Reason] = []
    hs = row.get("hs_code") or "?"
    origin = row.get("origin_country") or "?"
    any_band = False
    for basis in BASES:
        if row.get(f"{basis}_band_median") is None:
            continue
        any_band = True
        unit = _unit_label(basis, row)
        level = row[f"{basis}_level"]
        where = _where(level, str(hs)[:6], origin, row, basis)
        evidence = {
            "basis": basis,
            "unit": unit,
            "declared_unit_value": row[f"{basis}_unit_value"],
            "band_low": row[f"{basis}_band_low"],
            "band_median": row[f"{basis}_band_median"],
            "band_high": row[f"{basis}_band_high"],
            "level": level,
            "cell_size": row[f"{basis}_n"],
            "period": row[f"{basis}_period"],
            "robust_z": row[f"{basis}_z"],
            "market_median": row.get(f"{basis}_market_median"),
            "market_z": row.get(f"{basis}_market_z"),
            "importer_shift": row.get(f"{basis}_importer_shift"),
            "importer_index_n": row.get(f"{basis}_importer_index_n"),
            "currency": currency,
            "reference": where,
            "band_label": band_label,
            "estimated_undervalue": row.get("estimated_undervalue"),
            "revenue_at_risk": row.get("revenue_at_risk"),
        }
        declared = declared_text(evidence)
        if row.get(f"{basis}_below"):
            text = f"Risk indicator (price below band): {declared}; {band_text(evidence)}."
            text += estimate_text(evidence)
            reasons.append(Reason("PRICE_BELOW_BAND", f"{text} {CAUTION}", float(row[f"{basis}_z"] or 0.0), evidence))
        elif row.get(f"{basis}_above"):
            reasons.append(
                Reason(
                    "PRICE_ABOVE_BAND",
                    f"Risk indicator (price above band): {declared}; {band_text(evidence)}. {CAUTION}",
                    0.0,
                    evidence,
                )
            )
        if level in ("hs6", "hs4", "hs2") and (row.get(f"{basis}_below") or row.get(f"{basis}_above")):
            reasons.append(
                Reason(
                    "PRICE_BAND_BACKOFF",
                    f"Risk indicator context: the {basis} band is from {where} because the "
                    f"HS {str(hs)[:6]} × {origin} cell had too few declarations.",
                    0.0,
                    {"basis": basis, "level": level, "cell_size": row[f"{basis}_n"]},
                )
            )
    trader_z = row.get("trader_z")
    if row.get("trader_flag") and trader_z is not None:
        reasons.append(
            Reason(
                "PRICE_TRADER_BELOW_MARKET",
                f"Risk indicator (trader prices below market): this importer's "
                f"{row.get('trader_n') or 0:,} accepted earlier declarations are at a median "
                f"{math.expm1(row.get('trader_index') or 0.0):+.0%} against the market bands "
                f"(trader z {trader_z:.1f}), so its own history cannot vouch for this price. {CAUTION}",
                float(trader_z),
                {"trader_z": trader_z, "trader_index": row.get("trader_index"),
                 "declarations": row.get("trader_n")},
            )
        )
    short = row.get("quantity_short")
    if row.get("quantity_mismatch") and short is not None:
        reasons.append(
            Reason(
                "PRICE_QUANTITY_MISMATCH",
                f"Risk indicator (quantity): {quantity_text({'quantity_short': short})}. Goods beyond the declared "
                "quantity (concealment) or a data error are a matter for a documentary or physical check, "
                f"not a valuation. {CAUTION}",
                float(short),
                {"quantity_short": short},
            )
        )
    model_z = row.get("model_z")
    model_low = row.get("model_low")
    kg_uv = row.get("kg_unit_value")
    if model_z is not None and model_low is not None and kg_uv is not None and kg_uv < model_low:
        reasons.append(
            Reason(
                "PRICE_BELOW_MODEL_RANGE",
                f"Risk indicator: declared {_money(kg_uv)} {currency}/kg is below the conditional "
                f"model's range {_money(model_low)}–{_money(row.get('model_high'))} {currency}/kg for "
                f"similar declarations (same goods, origin, quantity, transport). {CAUTION}",
                float(model_z),
                {"model_low": model_low, "model_median": row.get("model_median"),
                 "model_high": row.get("model_high"), "robust_z": model_z},
            )
        )
    if not any_band:
        reasons.append(
            Reason(
                "PRICE_NO_REFERENCE",
                f"No risk indicator: no reference band with enough declarations for HS "
                f"{str(hs)[:6]} at any level, or no positive value and quantity.",
                0.0,
                {},
            )
        )
    return tuple(reasons)


def _where(level: str, hs6: str, origin: str, row: dict[str, Any], basis: str) -> str:
    """The reference a band came from, in words."""
    n = row.get(f"{basis}_n") or 0
    exporter = row.get("exporter_id") or "the same exporter"
    effect = row.get(f"{basis}_origin_effect") or 0.0
    level_text = f" at {origin}'s price level ({math.expm1(effect):+.0%})" if effect else ""
    return {
        "importer_exporter_hs6": f"this importer's {n:,} previous declarations of HS {hs6} from {exporter}",
        "importer_hs6_origin": f"this importer's {n:,} previous declarations of HS {hs6} from {origin}",
        "importer_hs6": f"this importer's {n:,} previous declarations of HS {hs6} (all origins)",
        "hs6_origin": f"HS {hs6} from {origin}",
        "hs6": f"HS {hs6} (all origins{level_text})",
        "hs4": f"HS heading {hs6[:4]} (all origins{level_text})",
        "hs2": f"HS chapter {hs6[:2]} (all origins{level_text})",
    }.get(level, level)
