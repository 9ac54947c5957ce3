"""The selector's reasons per unit: JSON lists of ``Reason`` dicts (code, text, weight,
evidence) quoting rules, the random control sample, exploration, the model rank, the signals'
notes and the anomaly rank."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl

from clearlane.rules.model import Rule, RuleSet
from clearlane.selection.policy import SelectionPolicy


def note_columns(frame: pl.DataFrame, policy: SelectionPolicy) -> list[str]:
    """Text columns quoted as reasons: ``<signal>_note`` for each extra score, the segment
    signal's and the exploration's."""
    wanted = [f"{name}_note" for name in policy.extra_weights] + ["segment_note",
                                                                   "exploration_note"]
    return [c for c in wanted if c in frame.columns]


def reason_texts(units: pl.DataFrame, policy: SelectionPolicy,
                  rules: RuleSet | None) -> list[str]:
    """JSON list of ``Reason`` dicts (code, text, weight, evidence) per unit."""
    by_id: dict[str, Rule] = {r.id: r for r in rules} if rules is not None else {}
    objective_name = "expected revenue" if policy.objective == "revenue" else "fraud probability"
    has_model_reasons = "model_reasons" in units.columns
    notes = note_columns(units, policy)
    rows = units.select(
        "lane", "basis", "random_control", "explored", "rank_pct", "assessed", "rule_ids",
        "office_id",
        "day", "fraud_probability", "expected_revenue", "anomaly_score",
        *(["model_reasons"] if has_model_reasons else []),
        *notes,
        *[c for c in policy.extra_weights if c in units.columns],
    ).to_dicts()
    green = json.dumps([{"code": "GREEN", "text": "below every selection threshold",
                         "weight": 0.0, "evidence": {}}])
    unscored = json.dumps([{"code": "NOT_ASSESSED", "text": (
        "not risk-assessed (no model score): only rules and the random control sample could "
        "select it; run `clearlane assess` for these dates"), "weight": 0.0, "evidence": {}}])
    out: list[str] = []
    for row in rows:
        if row["lane"] == "green" and not row["rule_ids"] and not row["random_control"]:
            out.append(green if row["assessed"] else unscored)
            continue
        reasons: list[dict[str, Any]] = []
        for rid in row["rule_ids"] or []:
            rule = by_id.get(rid)
            text = (f"rule {rule.label}: {rule.title} — {rule.justification}" if rule
                    else f"rule {rid}")
            reasons.append({"code": "RULE_HIT", "text": text,
                            "weight": float(rule.severity_rank if rule else 1),
                            "evidence": {"rule_id": rid,
                                         "version": rule.version if rule else None,
                                         "mandatory": bool(rule.mandatory) if rule else None}})
        if row["random_control"]:
            reasons.append({"code": "RANDOM_CONTROL", "text": (
                f"random control sample ({policy.random_share:.1%} of all declarations drawn "
                "uniformly, to measure the true fraud rate)"), "weight": 0.0, "evidence": {}})
        if row["explored"]:
            what = {
                "uncertainty": "the model is uncertain (fraud probability "
                               f"{row['fraud_probability'] or 0:.2f})",
                "anomaly": f"unusual declaration (anomaly score {row['anomaly_score'] or 0:.3g})",
                "weights": row.get("exploration_note") or "caller-supplied weight",
                "segments": row.get("exploration_note") or "under-explored segment",
            }[policy.exploration]
            reasons.append({"code": "EXPLORATION", "text": f"exploration sample: {what}",
                            "weight": 0.0, "evidence": {"method": policy.exploration}})
        if row["basis"] == "model":
            where = _where(row)
            text = (f"top {row['rank_pct']:.1f} % {objective_name}{where}: fraud probability "
                    f"{row['fraud_probability'] or 0:.2f}, expected revenue "
                    f"{row['expected_revenue'] or 0:,.0f}")
            if has_model_reasons and row["model_reasons"]:
                text += f" ({row['model_reasons']})"
            reasons.append({"code": "MODEL_RANK", "text": text,
                            "weight": float(row["fraud_probability"] or 0.0),
                            "evidence": {"rank_pct": row["rank_pct"]}})
        if row["lane"] != "green":
            if row.get("segment_note"):
                reasons.append({"code": "SEGMENT_SIGNAL", "text": row["segment_note"],
                                "weight": 0.0, "evidence": {}})
            for name in policy.extra_weights:
                if row.get(f"{name}_note") and (row.get(name) or 0) > 0:
                    reasons.append({"code": name.upper(), "text": row[f"{name}_note"],
                                    "weight": float(row[name]), "evidence": {"signal": name}})
        if row["basis"] == "anomaly":
            reasons.append({"code": "ANOMALY", "text": (
                f"unusual declaration{_where(row)} (anomaly score "
                f"{row['anomaly_score'] or 0:.3g}), sent to post-clearance audit"),
                "weight": float(row["anomaly_score"] or 0.0), "evidence": {}})
        if not reasons:
            reasons.append({"code": "GREEN", "text": "below every selection threshold",
                            "weight": 0.0, "evidence": {}})
        out.append(json.dumps(reasons, default=str))
    return out


def _where(row: dict[str, Any]) -> str:
    parts = []
    if row.get("office_id"):
        parts.append(f"office {row['office_id']}")
    if isinstance(row.get("day"), date):
        parts.append(f"on {row['day'].isoformat()}")
    return (" in " + " ".join(parts)) if parts else ""
