"""Vectorised rule evaluation over a canonical polars frame.

Each rule becomes one polars boolean expression; a frame is evaluated in one pass. A condition
on a missing (null) value is false. The result does not depend on the order of the input rows:
hits are sorted by declaration, item and rule.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from clearlane.errors import ValidationError
from clearlane.rules.model import Condition, Rule, RuleSet
from clearlane.schema.fields import EXTRA_COLUMN, FIELDS_BY_NAME
from clearlane.schema.reasons import Reason

HIT_SCHEMA: dict[str, Any] = {
    "declaration_id": pl.String,
    "item_no": pl.Int64,
    "rule_id": pl.String,
    "rule_version": pl.Int64,
    "lane": pl.String,
    "severity": pl.String,
    "severity_rank": pl.Int64,
    "mandatory": pl.Boolean,
}
"""Columns of the hits frame: one row per (declaration item, rule) hit."""


def _column(name: str) -> tuple[pl.Expr, str]:
    if name.startswith("extra."):
        key = name[len("extra."):].replace("'", "\\'")
        return pl.col(EXTRA_COLUMN).str.json_path_match(f"$['{key}']"), "extra"
    return pl.col(name), FIELDS_BY_NAME[name].kind


def _literal(value: Any, kind: str) -> Any:
    if kind in ("int", "float"):
        return float(value)
    if kind == "date" and not isinstance(value, date):
        return date.fromisoformat(str(value))
    return value if kind == "date" else str(value)


def condition_expression(condition: Condition, rules: RuleSet) -> pl.Expr:
    """Boolean expression of one condition (null values never match)."""
    col, kind = _column(condition.field)
    numeric = col.cast(pl.Float64, strict=False) if kind in ("int", "float", "extra") else col
    text = col.cast(pl.String)
    parts: list[pl.Expr] = []
    if condition.equals is not None:
        if kind == "extra":
            parts.append(text == str(condition.equals))
        else:
            parts.append(col == _literal(condition.equals, kind))
    if condition.in_ is not None:
        if kind in ("int", "float"):
            parts.append(numeric.is_in([float(v) for v in condition.in_]))
        else:
            parts.append(text.is_in([str(v) for v in condition.in_]))
    if condition.not_in is not None:
        values = [str(v) for v in condition.not_in]
        parts.append(text.is_not_null() & ~text.is_in(values))
    if condition.minimum is not None:
        parts.append(numeric >= condition.minimum)
    if condition.maximum is not None:
        parts.append(numeric <= condition.maximum)
    if condition.regex is not None:
        parts.append(text.str.contains(f"(?i){condition.regex}"))
    if condition.prefix is not None:
        parts.append(pl.any_horizontal([text.str.starts_with(p) for p in condition.prefix]))
    if condition.watchlist is not None:
        watchlist = rules.watchlist(condition.watchlist)
        values = sorted(watchlist.values)
        if watchlist.kind == "hs_codes":
            parts.append(pl.any_horizontal([text.str.starts_with(v) for v in values]))
        else:
            parts.append(text.is_in(values))
    expr = pl.all_horizontal(parts) if len(parts) > 1 else parts[0]
    return expr.fill_null(False)


def rule_expression(rule: Rule, rules: RuleSet) -> pl.Expr:
    """Boolean expression: all conditions hold and the declaration date is in the validity."""
    parts = [condition_expression(c, rules) for c in rule.conditions]
    day = pl.col("declared_at").cast(pl.Date)
    if rule.valid_from is not None:
        parts.append((day >= rule.valid_from).fill_null(False))
    if rule.valid_to is not None:
        parts.append((day <= rule.valid_to).fill_null(False))
    return pl.all_horizontal(parts) if len(parts) > 1 else parts[0]


def _needed_columns(rules: RuleSet) -> set[str]:
    needed = {"declaration_id", "item_no", "declared_at"}
    for rule in rules:
        for condition in rule.conditions:
            needed.add(EXTRA_COLUMN if condition.field.startswith("extra.") else condition.field)
    return needed


def evaluate_rules(rules: RuleSet, declarations: pl.DataFrame) -> pl.DataFrame:
    """Hits of every rule on every declaration item (see :data:`HIT_SCHEMA`).

    Columns a rule needs but the frame lacks are treated as all-missing (no hit), so a profile
    written for richer data still runs on a poorer source.
    """
    if len(rules) == 0 or declarations.height == 0:
        return pl.DataFrame(schema=HIT_SCHEMA)
    frame = declarations
    for column in ("declaration_id", "declared_at"):
        if column not in frame.columns:
            raise ValidationError(f"rule evaluation needs the column {column!r}")
    missing = [c for c in _needed_columns(rules) if c not in frame.columns]
    if "item_no" in missing:
        frame = frame.with_columns(pl.lit(1, pl.Int64).alias("item_no"))
        missing.remove("item_no")
    if missing:
        from clearlane.schema.fields import canonical_schema

        schema = canonical_schema()
        frame = frame.with_columns(
            [pl.lit(None, schema.get(c, pl.String)).alias(c) for c in missing])
    names = [f"__rule_{i}" for i in range(len(rules))]
    flags = frame.select(
        pl.col("declaration_id").cast(pl.String),
        pl.col("item_no").cast(pl.Int64),
        *[rule_expression(rule, rules).alias(name) for rule, name in zip(rules, names,
                                                                           strict=True)],
    )
    meta = pl.DataFrame({
        "__rule": names,
        "rule_id": [r.id for r in rules],
        "rule_version": [r.version for r in rules],
        "lane": [r.lane for r in rules],
        "severity": [r.severity for r in rules],
        "severity_rank": [r.severity_rank for r in rules],
        "mandatory": [r.mandatory for r in rules],
        "__order": list(range(len(rules))),
    }, schema_overrides={"rule_version": pl.Int64, "severity_rank": pl.Int64})
    long = flags.unpivot(index=["declaration_id", "item_no"], on=names,
                         variable_name="__rule", value_name="__hit")
    hits = (
        long.filter(pl.col("__hit"))
        .join(meta, on="__rule", how="left")
        .sort(["declaration_id", "item_no", "__order"])
        .select(list(HIT_SCHEMA))
    )
    return hits.cast(HIT_SCHEMA)  # type: ignore[arg-type]


def rule_reason(rule: Rule) -> Reason:
    """The reason a hit of ``rule`` gives: code ``RULE_HIT``, weight = its severity rank,
    evidence ``rule_id``, ``version``, ``lane``, ``severity``, ``mandatory``."""
    return Reason("RULE_HIT", f"rule {rule.label}: {rule.title} — {rule.justification}",
                  float(rule.severity_rank),
                  {"rule_id": rule.id, "version": rule.version, "lane": rule.lane,
                   "severity": rule.severity, "mandatory": bool(rule.mandatory)})


def rule_summary(rules: RuleSet, declarations: pl.DataFrame) -> pl.DataFrame:
    """Back-test of each rule over history: hits, inspected hits, frauds, hit rate, revenue.

    ``hit_rate`` = frauds / inspected hits (None when none of its hits was inspected);
    ``revenue`` = revenue recovered on its hits (national currency).
    """
    hits = evaluate_rules(rules, declarations)
    outcome_cols = [c for c in ("inspected", "fraud", "revenue_recovered")
                    if c in declarations.columns]
    outcomes = declarations.select(
        pl.col("declaration_id").cast(pl.String),
        (pl.col("item_no").cast(pl.Int64) if "item_no" in declarations.columns
         else pl.lit(1, pl.Int64).alias("item_no")),
        *[pl.col(c) for c in outcome_cols],
    )
    for column, dtype in (("inspected", pl.Boolean), ("fraud", pl.Boolean),
                          ("revenue_recovered", pl.Float64)):
        if column not in outcomes.columns:
            outcomes = outcomes.with_columns(pl.lit(None, dtype).alias(column))
    joined = hits.join(outcomes, on=["declaration_id", "item_no"], how="left")
    per_rule = joined.group_by("rule_id").agg(
        pl.len().cast(pl.Int64).alias("hits"),
        pl.col("inspected").fill_null(False).sum().cast(pl.Int64).alias("inspected"),
        (pl.col("fraud").fill_null(False) & pl.col("inspected").fill_null(False)).sum()
        .cast(pl.Int64).alias("frauds"),
        pl.col("revenue_recovered").fill_null(0.0).sum().alias("revenue"),
    )
    base = pl.DataFrame({
        "rule_id": [r.id for r in rules],
        "version": [r.version for r in rules],
        "lane": [r.lane for r in rules],
        "mandatory": [r.mandatory for r in rules],
    })
    out = base.join(per_rule, on="rule_id", how="left").with_columns(
        pl.col("hits").fill_null(0), pl.col("inspected").fill_null(0),
        pl.col("frauds").fill_null(0), pl.col("revenue").fill_null(0.0),
    )
    total = max(1, declarations.height)
    return out.with_columns(
        (pl.col("hits") / total).alias("hit_share"),
        pl.when(pl.col("inspected") > 0).then(pl.col("frauds") / pl.col("inspected"))
        .otherwise(None).alias("hit_rate"),
    )
