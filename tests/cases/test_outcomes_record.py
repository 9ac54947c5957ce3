"""Outcomes: validation with row numbers; recording links to the selection and labels the data;
the performance report measures lanes, reasons and the random-sample fraud rate."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from clearlane.cases import read_outcomes, validate_outcomes
from clearlane.errors import ConflictError, NotFoundError, ValidationError
from clearlane.evaluate.performance import drift, psi, wilson_interval
from clearlane.selection import SelectionPolicy
from clearlane.services.outcomes import list_outcomes, performance_report, record_outcomes
from clearlane.services.selection import override_lane, select_for_inspection
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

RULES = """\
profile: t
rules:
  - {id: R1, version: 1, title: Cash, justification: No bank trail., owner: o,
     severity: low, lane: blue, when: [{field: extra.payment_type, in: [cash]}]}
"""


@pytest.fixture
def filled(workspace: Workspace, tmp_path: Path) -> Workspace:
    data = generate(SynthConfig(n_items=1500, days=20, seed=5)).declarations
    path = tmp_path / "decl.parquet"
    data.write_parquet(path)
    from clearlane.services.ingest import ingest_file

    ingest_file(workspace, path, "canonical")
    return workspace


def test_validation_names_rows_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("declaration_id,item_no,fraud,revenue_recovered,inspected_at\n"
                    "A,1,yes,10,2024-01-02\n"
                    "B,x,maybe,-1,2024-13-01\n"
                    ",1,no,5,\n")
    with pytest.raises(ValidationError) as info:
        read_outcomes(path)
    text = "\n".join(str(p) for p in info.value.problems)
    assert "row 3: field 'item_no'" in text
    assert "row 3: field 'fraud' value 'maybe'" in text
    assert "row 3: field 'revenue_recovered' value '-1'" in text
    assert "row 3: field 'inspected_at'" in text
    assert "row 4: field 'declaration_id'" in text
    assert "row 4: field 'revenue_recovered' value '5': revenue recovered on an inspection " \
           "that found no fraud" in text


def test_unknown_and_missing_columns() -> None:
    with pytest.raises(ValidationError, match="required column"):
        validate_outcomes(pl.DataFrame({"declaration_id": ["A"]}))
    with pytest.raises(ValidationError, match="unknown column"):
        validate_outcomes(pl.DataFrame({"declaration_id": ["A"], "fraud": [True], "x": [1]}))
    with pytest.raises(ValidationError, match="appears twice"):
        validate_outcomes([{"declaration_id": "A", "fraud": True},
                           {"declaration_id": "A", "item_no": 1, "fraud": False}])


def test_record_links_selection_labels_declarations_and_reports(
        filled: Workspace, tmp_path: Path) -> None:
    rules_path = tmp_path / "r.yaml"
    rules_path.write_text(RULES)
    run = select_for_inspection(filled, rules_path=rules_path, seed=1, policy=SelectionPolicy(
        red_rate=0.2, random_share=0.05, per_declaration=False))
    assert any("no risk assessments" in n for n in run.notes)
    lanes = run.result.lanes
    red = lanes.filter(pl.col("lane") == "red").select("declaration_id", "item_no")
    assert red.height > 0
    outcomes = red.with_columns(pl.Series("fraud", [i % 3 == 0 for i in range(red.height)]))
    outcomes = outcomes.with_columns(
        pl.when(pl.col("fraud")).then(100.0).otherwise(0.0).alias("revenue_recovered"))
    result = record_outcomes(filled, outcomes)
    assert result.recorded == red.height == result.linked
    stored = filled.query("SELECT count(*) FILTER (WHERE selection_id = ?) AS n FROM outcomes",
                          [run.selection_id])
    assert stored.item() == red.height
    labelled = filled.declarations(where="inspected AND officer_id IS NULL AND fraud IS NOT NULL")
    assert labelled.height >= red.height  # the outcomes are now labels for retraining
    hits = filled.query("SELECT DISTINCT rule_id, rule_version FROM rule_hits")
    assert hits.rows() == [("R1", 1)]
    assert filled.query("SELECT count(*) FROM rule_versions").item() == 1

    report = performance_report(filled, every="1w")
    by_lane = {r["lane"]: r for r in report.by_lane.iter_rows(named=True)}
    assert by_lane["red"]["inspected"] == red.height
    assert by_lane["red"]["frauds"] == int(outcomes["fraud"].sum())
    random_rows = lanes.filter(pl.col("random_control")).join(outcomes, on=["declaration_id",
                                                                            "item_no"])
    assert report.fraud_rate.n == random_rows.height
    assert report.fraud_rate.frauds == int(random_rows["fraud"].sum())
    assert "Overall fraud rate" in report.to_html()
    assert list_outcomes(filled, 5).height == 5
    # the declarations keep why each item was inspected: the basis of the lane that caused it
    recorded = filled.query(
        "SELECT declaration_id, item_no, inspection_basis FROM declarations "
        "WHERE inspected AND officer_id IS NULL")
    expected = red.join(lanes.select("declaration_id", "item_no", "basis"),
                        on=["declaration_id", "item_no"])
    both = recorded.join(expected, on=["declaration_id", "item_no"])
    assert both.height == red.height
    assert both["inspection_basis"].to_list() == both["basis"].to_list()
    assert "random" in both["inspection_basis"].to_list()


def test_override_is_kept_and_needs_justification(filled: Workspace) -> None:
    run = select_for_inspection(filled, seed=2)
    first = run.result.lanes.row(0, named=True)
    with pytest.raises(ValidationError, match="justification"):
        override_lane(filled, declaration_id=first["declaration_id"], to_lane="blue",
                      justification="", officer_id="OFF")
    target = "red" if first["lane"] != "red" else "green"
    done = override_lane(filled, declaration_id=first["declaration_id"], to_lane=target,
                         justification="Tip-off from the intelligence unit", officer_id="OFF")
    assert done.from_lane == first["lane"]
    rows = filled.query("SELECT from_lane, to_lane, justification FROM lane_overrides")
    assert rows.rows() == [(first["lane"], target, "Tip-off from the intelligence unit")]
    with pytest.raises(NotFoundError):
        override_lane(filled, declaration_id="nope", to_lane="red",
                      justification="Tip-off from the intelligence unit", officer_id="OFF")


def test_unknown_declaration_is_refused(filled: Workspace) -> None:
    with pytest.raises(NotFoundError, match="not in the workspace"):
        record_outcomes(filled, [{"declaration_id": "nope", "fraud": True}])


def test_changed_rule_without_new_version_conflicts(filled: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(RULES)
    select_for_inspection(filled, rules_path=path)
    path.write_text(RULES.replace("in: [cash]", "in: [cash, card]"))
    with pytest.raises(ConflictError, match="raise its version"):
        select_for_inspection(filled, rules_path=path)


def test_wilson_interval_and_psi() -> None:
    est = wilson_interval(10, 100)
    assert est.rate == 0.1 and est.low is not None and est.high is not None
    assert est.low == pytest.approx(0.0552, abs=1e-3) and est.high == pytest.approx(0.1744,
                                                                                   abs=1e-3)
    assert wilson_interval(0, 0).rate is None
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.normal(size=5000)
    assert psi(a, rng.normal(size=5000)) < 0.02  # type: ignore[operator]
    assert psi(a, rng.normal(1.0, size=5000)) > 0.25  # type: ignore[operator]
    frame = pl.DataFrame({"declared_at": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 3, 31),
                                                       eager=True)}).with_columns(
        pl.Series("customs_value", np.r_[rng.lognormal(5, 1, 60), rng.lognormal(7, 1, 31)]))
    table = drift(frame, ["customs_value"])
    assert table["customs_value"].to_list()[0] == pytest.approx(0.0)
    assert table["customs_value"].to_list()[-1] > 0.25
