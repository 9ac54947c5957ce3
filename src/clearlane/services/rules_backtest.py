"""Back-test of a rule set over stored history, as stored with a draft (JSON-ready).

Per rule (:func:`~clearlane.rules.evaluate.rule_summary`): hits, share of the declaration items
hit, inspected hits, frauds among them, hit rate (= frauds / inspected hits, None without an
inspected hit) and revenue recovered on its hits (national currency). Overlap with the
model: ``in_selections`` = hits on items some stored selection ranked, ``model_selected`` =
hits on items a stored selection put in red or yellow by model ranking (basis ``model``), so
``model_selected / hits`` is how much of what the rule finds the model already sends to an
officer. ``totals`` count each hit item once, whatever the number of rules hitting it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from clearlane.rules import RuleSet, evaluate_rules
from clearlane.rules.evaluate import rule_summary
from clearlane.store.workspace import Workspace, date_window_sql

_KEYS = ["declaration_id", "item_no"]


def _selected(workspace: Workspace, hits: pl.DataFrame) -> pl.DataFrame:
    """For each hit item: whether a stored selection ranked it, and whether one put it in red
    or yellow by model ranking."""
    items = hits.select(_KEYS).unique()
    with workspace.connect() as con:
        con.register("hit_items", items.to_arrow())
        found = con.sql(
            "SELECT declaration_id, item_no, true AS in_selections, "
            "bool_or(basis = 'model' AND lane IN ('red', 'yellow')) AS model_selected "
            "FROM lane_decisions JOIN hit_items USING (declaration_id, item_no) "
            "GROUP BY ALL").pl()
        con.unregister("hit_items")
    return found.with_columns(pl.col("item_no").cast(pl.Int64))


def backtest_rule_set(workspace: Workspace, rules: RuleSet, *, date_from: date | None = None,
                      date_to: date | None = None) -> dict[str, Any]:
    """Run ``rules`` over the stored declarations of the window (all of them by default).

    Returns ``date_from``, ``date_to``, ``declarations`` (items in the window), ``rules``
    (one dict per rule: ``rule_id``, ``version``, ``lane``, ``mandatory``, ``hits``,
    ``hit_share``, ``inspected``, ``frauds``, ``hit_rate``, ``revenue``, ``in_selections``,
    ``model_selected``) and ``totals`` (the same counts over the items hit by any rule).
    """
    declarations = workspace.declarations(where=date_window_sql(date_from, date_to))
    summary = rule_summary(rules, declarations)
    hits = evaluate_rules(rules, declarations)
    selected = _selected(workspace, hits) if hits.height else pl.DataFrame(
        schema={"declaration_id": pl.String, "item_no": pl.Int64, "in_selections": pl.Boolean,
                "model_selected": pl.Boolean})
    flagged = hits.join(selected, on=_KEYS, how="left").with_columns(
        pl.col("in_selections").fill_null(False), pl.col("model_selected").fill_null(False))
    overlap = flagged.group_by("rule_id").agg(
        pl.col("in_selections").sum().cast(pl.Int64),
        pl.col("model_selected").sum().cast(pl.Int64))
    per_rule = summary.join(overlap, on="rule_id", how="left").with_columns(
        pl.col("in_selections").fill_null(0), pl.col("model_selected").fill_null(0))
    items = flagged.unique(_KEYS).select([*_KEYS, "in_selections", "model_selected"])
    outcomes = [c for c in ("inspected", "fraud", "revenue_recovered")
                if c in declarations.columns]
    joined = items.join(declarations.select(
        pl.col("declaration_id").cast(pl.String), pl.col("item_no").cast(pl.Int64),
        *outcomes), on=_KEYS, how="left")
    for column, dtype in (("inspected", pl.Boolean), ("fraud", pl.Boolean),
                          ("revenue_recovered", pl.Float64)):
        if column not in joined.columns:
            joined = joined.with_columns(pl.lit(None, dtype).alias(column))
    inspected = joined["inspected"].fill_null(False)
    frauds = int((joined["fraud"].fill_null(False) & inspected).sum())
    n_inspected = int(inspected.sum())
    totals = {
        "hits": items.height,
        "hit_share": items.height / max(1, declarations.height),
        "inspected": n_inspected, "frauds": frauds,
        "hit_rate": frauds / n_inspected if n_inspected else None,
        "revenue": float(joined["revenue_recovered"].fill_null(0.0).sum()),
        "in_selections": int(items["in_selections"].sum()),
        "model_selected": int(items["model_selected"].sum()),
    }
    return {
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
        "declarations": declarations.height,
        "rules": per_rule.to_dicts(),
        "totals": totals,
    }
