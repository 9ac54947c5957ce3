"""Risk profiles: the shipped example is valid; every error names the line, rule and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearlane.errors import NotFoundError, ValidationError
from clearlane.rules import load_rules, parse_rules

EXAMPLE = Path(__file__).resolve().parents[2] / "src/clearlane/rules/examples/basic.yaml"

GOOD = """\
profile: test
watchlists:
  bad_importers: {kind: importers, values: [I1, I2]}
rules:
  - id: R1
    version: 2
    title: Watchlisted importer
    justification: Under investigation.
    owner: unit
    severity: high
    lane: red
    mandatory: true
    when:
      - {field: importer_id, watchlist: bad_importers}
"""


def test_example_profile_is_valid() -> None:
    rules = load_rules(EXAMPLE)
    assert rules.name == "basic"
    assert [r.label for r in rules][:2] == ["R01 v1", "R02 v2"]
    assert rules.get("R01").mandatory


def test_lookup_of_unknown_rule_lists_valid_ids() -> None:
    rules = parse_rules(GOOD)
    with pytest.raises(NotFoundError, match="valid ids: R1"):
        rules.get("R9")
    with pytest.raises(NotFoundError, match="valid names: bad_importers"):
        rules.watchlist("nope")


def _problems(text: str) -> list[str]:
    with pytest.raises(ValidationError) as info:
        parse_rules(text, source="t.yaml")
    return [str(p) for p in info.value.problems]


def test_bad_severity_names_line_rule_and_field() -> None:
    problems = _problems(GOOD.replace("severity: high", "severity: huge"))
    assert len(problems) == 1
    assert "t.yaml, row 10" in problems[0]
    assert "'severity'" in problems[0] and "rule R1" in problems[0]
    assert "low, medium, high, critical" in problems[0]


def test_unknown_field_in_condition_lists_valid_fields() -> None:
    problems = _problems(GOOD.replace("field: importer_id", "field: importer"))
    assert "row 14" in problems[0]
    assert "unknown field" in problems[0] and "importer_id" in problems[0]


def test_outcome_fields_cannot_be_used() -> None:
    problems = _problems(GOOD.replace("{field: importer_id, watchlist: bad_importers}",
                                      "{field: fraud, equals: true}"))
    assert "outcomes cannot be used" in problems[0]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("{field: goods_description, regex: '(unclosed'}", "not a valid regular expression"),
        ("{field: customs_value, min: 10, max: 1}", "is below min"),
        ("{field: hs_code, min: 3}", "applies to numeric fields"),
        ("{field: importer_id, watchlist: missing}", "unknown watchlist"),
        ("{field: hs_code, prefix: []}", "non-empty list"),
        ("{field: hs_code, starts: ['01']}", "unknown operator"),
        ("{field: hs_code, prefix: ['01'], equals: '010101'}", "one operator per condition"),
        ("{field: hs_code}", "no operator"),
    ],
)
def test_condition_errors(condition: str, message: str) -> None:
    text = GOOD.replace("{field: importer_id, watchlist: bad_importers}", condition)
    problems = _problems(text)
    assert any(message in p for p in problems), problems
    assert all("rule R1" in p for p in problems)


def test_missing_keys_duplicate_ids_and_dates() -> None:
    text = GOOD + GOOD.split("rules:\n", 1)[1].replace("version: 2", "version: 0") \
        .replace("    owner: unit\n", "    valid_from: 2025-02-01\n    valid_to: 2025-01-01\n")
    problems = _problems(text)
    joined = "\n".join(problems)
    assert "'version'" in joined and ">= 1" in joined
    assert "'owner'" in joined and "is required" in joined
    assert "is before valid_from" in joined


def test_duplicate_id_is_refused() -> None:
    text = GOOD + GOOD.split("rules:\n", 1)[1]
    problems = _problems(text)
    assert any("duplicate id" in p for p in problems)


def test_invalid_yaml_names_the_line() -> None:
    problems = _problems("rules:\n  - id: [unclosed\n")
    assert "row" in problems[0]


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        load_rules(tmp_path / "nope.yaml")


def test_fingerprint_ignores_formatting_but_not_meaning() -> None:
    a = parse_rules(GOOD)
    b = parse_rules(GOOD.replace("values: [I1, I2]", "values: [I2, I1]") + "\n# comment\n")
    c = parse_rules(GOOD.replace("values: [I1, I2]", "values: [I1, I3]"))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
