"""Vectorised rule evaluation: each operator, extras, validity dates, row-order independence."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.rules import evaluate_rules, parse_rules
from clearlane.rules.evaluate import rule_summary

PROFILE = """\
profile: t
watchlists:
  bad: {kind: importers, values: [I1]}
  heads: {kind: hs_codes, values: ["8703"]}
rules:
  - {id: W, version: 1, title: w, justification: j, owner: o, severity: critical, lane: red,
     mandatory: true, when: [{field: importer_id, watchlist: bad}]}
  - {id: H, version: 3, title: h, justification: j, owner: o, severity: high, lane: red,
     when: [{field: hs_code, watchlist: heads}, {field: customs_value, min: 100, max: 1000}]}
  - {id: D, version: 1, title: d, justification: j, owner: o, severity: low, lane: yellow,
     when: [{field: goods_description, regex: "\\\\bused\\\\b"}]}
  - {id: X, version: 1, title: x, justification: j, owner: o, severity: low, lane: blue,
     when: [{field: extra.payment type, in: [cash]}]}
  - {id: C, version: 1, title: c, justification: j, owner: o, severity: medium, lane: yellow,
     valid_from: 2024-02-01, valid_to: 2024-02-29,
     when: [{field: origin_country, in: [CN]}, {field: office_id, not_in: [O2]}]}
  - {id: E, version: 1, title: e, justification: j, owner: o, severity: low, lane: blue,
     when: [{field: hs_code, prefix: ["01", "02"]}, {field: transport_mode, equals: "1"}]}
"""


def _frame() -> pl.DataFrame:
    return pl.DataFrame({
        "declaration_id": ["A", "B", "C", "D", "E", "F"],
        "item_no": [1, 1, 1, 1, 1, 1],
        "declared_at": [date(2024, 1, 5), date(2024, 2, 5), date(2024, 2, 5),
                        date(2024, 3, 1), date(2024, 1, 1), date(2024, 1, 1)],
        "importer_id": ["I1", "I2", None, "I3", "I4", "I5"],
        "hs_code": ["870321", "870321", "010110", "870321", "020110", "990000"],
        "customs_value": [50.0, 500.0, 10.0, 5000.0, None, 1.0],
        "goods_description": ["Used car", "new car", "horses", "USED truck", "beef", None],
        "origin_country": ["CN", "CN", "CN", "CN", "FR", None],
        "office_id": ["O1", "O1", "O2", "O1", "O1", "O1"],
        "transport_mode": ["1", "1", "1", "1", "1", "3"],
        "extra": ['{"payment type": "cash"}', '{"payment type": "card"}', None, "not json",
                  '{"payment type": "cash"}', "{}"],
    })


@pytest.fixture
def frame() -> pl.DataFrame:
    return _frame()


def _hits(rules_text: str, frame: pl.DataFrame) -> set[tuple[str, str]]:
    hits = evaluate_rules(parse_rules(rules_text), frame)
    return {(r["declaration_id"], r["rule_id"]) for r in hits.iter_rows(named=True)}


def test_each_operator(frame: pl.DataFrame) -> None:
    assert _hits(PROFILE, frame) == {
        ("A", "W"), ("A", "D"), ("A", "X"),
        ("B", "H"), ("B", "C"),
        ("C", "E"),
        ("D", "D"),
        ("E", "X"), ("E", "E"),
    }


def test_hits_carry_rule_version_lane_and_severity(frame: pl.DataFrame) -> None:
    hits = evaluate_rules(parse_rules(PROFILE), frame)
    row = hits.filter(pl.col("rule_id") == "H").row(0, named=True)
    assert row["rule_version"] == 3 and row["lane"] == "red" and row["severity_rank"] == 3
    assert hits.filter(pl.col("rule_id") == "W")["mandatory"].to_list() == [True]


def test_missing_columns_mean_no_hit(frame: pl.DataFrame) -> None:
    hits = evaluate_rules(parse_rules(PROFILE), frame.drop("extra", "goods_description"))
    assert not set(hits["rule_id"]) & {"X", "D"}


def test_summary_counts_inspected_hits(frame: pl.DataFrame) -> None:
    labelled = frame.with_columns(
        pl.Series("inspected", [True, True, False, True, False, False]),
        pl.Series("fraud", [True, False, None, True, None, None]),
        pl.Series("revenue_recovered", [10.0, 0.0, None, 5.0, None, None]),
    )
    summary = rule_summary(parse_rules(PROFILE), labelled)
    d = summary.filter(pl.col("rule_id") == "D").row(0, named=True)
    assert (d["hits"], d["inspected"], d["frauds"], d["revenue"]) == (2, 2, 2, 15.0)
    assert d["hit_rate"] == 1.0
    e = summary.filter(pl.col("rule_id") == "E").row(0, named=True)
    assert e["inspected"] == 0 and e["hit_rate"] is None


@settings(max_examples=40, deadline=None)
@given(st.permutations(list(range(6))))
def test_evaluation_is_independent_of_row_order(order: list[int]) -> None:
    base = _frame()
    shuffled = base[order]
    rules = parse_rules(PROFILE)
    assert evaluate_rules(rules, shuffled).equals(evaluate_rules(rules, base))
