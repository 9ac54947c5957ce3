"""Number fields accept plain decimal numerals only, with a named reason for the others."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from clearlane.ingest.profile import parse_profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.validate import ValidationContext, check_columns, validate_batch

CONTEXT = ValidationContext(today=date(2024, 6, 30))
PROFILE = parse_profile(
    "columns: {declaration_id: id, declared_at: d, hs_code: hs, customs_value: v}", "n"
)


def _validate(values: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(
        {
            "id": [f"D{i}" for i in range(len(values))],
            "d": ["2024-01-02"] * len(values),
            "hs": ["851713"] * len(values),
            "v": values,
            ROW_COLUMN: list(range(2, 2 + len(values))),
        }
    )
    absent = set(check_columns(PROFILE, frame.columns, "n.csv"))
    result = validate_batch(frame, PROFILE, CONTEXT, absent)
    return result.accepted, result.issues


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("inf", "not a finite number"),
        ("-inf", "not a finite number"),
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("1e400", "number out of range"),
        ("1_000", "not a number"),
        ("0x10", "not a number"),
        ("1,5", "not a number"),
        ("\u0661\u0662", "not a number"),
    ],
)
def test_non_plain_numbers_are_refused_with_a_named_reason(text: str, reason: str) -> None:
    accepted, issues = _validate([text])
    assert accepted.height == 0
    reasons = issues.get_column("reason").to_list()
    assert len(reasons) == 1
    assert reasons[0].startswith(reason)
    assert issues.item(0, "field") == "customs_value"


@pytest.mark.parametrize(
    ("text", "value"),
    [("12.5", 12.5), ("1 000", 1000.0), ("+.5", 0.5), ("1.", 1.0), ("1e5", 1e5), ("-0", 0.0)],
)
def test_plain_numbers_are_read(text: str, value: float) -> None:
    accepted, issues = _validate([text])
    assert issues.height == 0
    assert accepted.item(0, "customs_value") == value


@pytest.mark.parametrize("text", ["1e20", "-9300000000000000000"])
def test_a_whole_number_beyond_64_bits_is_refused_not_defaulted(text: str) -> None:
    """item_no 1e20 used to overflow to null and be stored as the default item 1."""
    profile = parse_profile(
        "columns: {declaration_id: id, item_no: item, declared_at: d, hs_code: hs, "
        "customs_value: v}", "n")
    frame = pl.DataFrame({"id": ["D1"], "item": [text], "d": ["2024-01-02"], "hs": ["851713"],
                          "v": ["10"], ROW_COLUMN: [2]})
    result = validate_batch(frame, profile, CONTEXT, set(check_columns(profile, frame.columns,
                                                                         "n.csv")))
    assert result.accepted.height == 0
    assert result.issues.item(0, "field") == "item_no"
    assert "out of range" in result.issues.item(0, "reason")
