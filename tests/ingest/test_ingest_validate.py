"""Bad input: each problem is named by row, field and reason, and nothing crashes."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.ingest.profile import load_profile, parse_profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.validate import ValidationContext, check_columns, validate_batch

CONTEXT = ValidationContext(today=date(2024, 6, 30))
GOOD = {
    "declaration_id": "D1",
    "declared_at": "2024-01-05",
    "hs_code": "8517.13",
    "origin_country": "China",
    "net_mass_kg": "12.5",
    "customs_value": "1000",
    "currency": "usd",
    "fraud": "0",
}


def frame(*rows: dict[str, str | None]) -> pl.DataFrame:
    df = pl.DataFrame(list(rows), schema={k: pl.String for k in rows[0]})
    return df.with_columns(pl.int_range(2, 2 + df.height, dtype=pl.Int64).alias(ROW_COLUMN))


def validate(*rows: dict[str, str | None]):  # type: ignore[no-untyped-def]
    profile = load_profile("canonical")
    raw = frame(*rows)
    absent = set(check_columns(profile, raw.columns, "test.csv"))
    return validate_batch(raw, profile, CONTEXT, absent)


def test_good_row_is_normalised_and_recorded() -> None:
    result = validate(GOOD)
    assert result.rejected.is_empty()
    row = result.accepted.row(0, named=True)
    assert row["hs_code"] == "851713"
    assert row["origin_country"] == "CN"
    assert row["currency"] == "USD"
    assert row["item_no"] == 1
    assert row["fraud"] is False
    changes = {
        (r["field"], r["original"], r["normalised"]) for r in result.normalisations.to_dicts()
    }
    assert ("origin_country", "China", "CN") in changes
    assert ("hs_code", "8517.13", "851713") in changes
    assert ("currency", "usd", "USD") in changes


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("net_mass_kg", "-3", "negative mass"),
        ("net_mass_kg", "heavy", "not a number"),
        ("declared_at", "2031-01-01", "in the future"),
        ("declared_at", "05.01.2024", "not a date"),
        ("declared_at", "1900-01-01", "out of range"),
        ("origin_country", "Atlantis", "unknown country"),
        ("currency", "ABC", "unknown ISO 4217"),
        ("hs_code", "85A713", "letters"),
        ("hs_code", "12345", "6 to 10 digits"),
        ("declaration_id", None, "required field is empty"),
        ("fraud", "maybe", "yes/no"),
    ],
)
def test_bad_value_is_rejected_with_row_field_reason(
    field: str, value: str | None, reason: str
) -> None:
    bad = {**GOOD, "declaration_id": "D2", field: value}
    result = validate(GOOD, bad)
    assert result.accepted.height == 1
    assert result.rejected.height == 1
    issue = result.issues.filter(pl.col("severity") == "rejected").row(0, named=True)
    assert issue["source_row"] == 3
    assert issue["field"] == field
    assert reason in issue["reason"]
    assert field in result.rejected.item(0, "reasons")
    assert "D2" in result.rejected.item(0, "raw") or field == "declaration_id"


def test_unknown_hs_subheading_is_a_warning_not_a_rejection() -> None:
    result = validate({**GOOD, "hs_code": "851719"})
    assert result.accepted.height == 1
    issue = result.issues.row(0, named=True)
    assert issue["severity"] == "warning"
    assert "8517.19 does not exist in HS 2022" in issue["reason"]


def test_user_assigned_country_is_kept_with_warning() -> None:
    result = validate({**GOOD, "origin_country": "zz"})
    assert result.accepted.item(0, "origin_country") == "ZZ"
    assert result.issues.item(0, "severity") == "warning"


def test_missing_mapped_column_names_profile_and_columns() -> None:
    profile = load_profile("kcs")
    with pytest.raises(ValidationError) as err:
        check_columns(profile, ["Declaration ID", "Date"], "x.csv")
    text = str(err.value)
    assert "HS6 Code" in text and "column not found" in text and "x.csv" in text


def test_units_and_scale_are_recorded() -> None:
    profile = parse_profile(
        "name: t\ncolumns:\n  declaration_id: id\n  declared_at: d\n  hs_code: hs\n"
        "  net_mass_kg: {column: m, unit: g}\n  customs_value: {column: v, scale: 1000}\n"
    )
    raw = frame({"id": "A", "d": "2024-01-01", "hs": "010121", "m": "2500", "v": "1.5"})
    result = validate_batch(raw, profile, CONTEXT)
    row = result.accepted.row(0, named=True)
    assert row["net_mass_kg"] == pytest.approx(2.5)
    assert row["customs_value"] == pytest.approx(1500)
    assert set(result.normalisations.get_column("field")) == {
        "net_mass_kg",
        "customs_value",
        "hs_code",
    } - {"hs_code"}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([GOOD, {**GOOD, "net_mass_kg": "-1"}, {**GOOD, "origin_country": "??"}]),
        min_size=1,
        max_size=12,
    )
)
def test_every_row_is_accounted_for(rows: list[dict[str, str]]) -> None:
    numbered = [{**r, "declaration_id": f"D{i}"} for i, r in enumerate(rows)]
    result = validate(*numbered)
    assert result.accepted.height + result.rejected.height == len(rows)
    kept = set(result.accepted.get_column(ROW_COLUMN)) | set(
        result.rejected.get_column("source_row")
    )
    assert kept == set(range(2, 2 + len(rows)))


def test_without_change_counts_every_other_result_is_the_same() -> None:
    profile = parse_profile(
        "name: t\ncolumns:\n  declaration_id: id\n  declared_at: d\n  hs_code: hs\n"
        "  origin_country: o\n  net_mass_kg: {column: m, unit: g}\n"
    )
    raw = frame({"id": "A", "d": "2024-01-01", "hs": "0101.21", "o": "China", "m": "2500"},
                {"id": "B", "d": "2024-13-01", "hs": "12", "o": "Atlantis", "m": "-1"},
                {"id": "C", "d": "2024-02-01", "hs": "850440", "o": "XX", "m": None})
    full = validate_batch(raw, profile, CONTEXT)
    fast = validate_batch(raw, profile, CONTEXT, count_changes=False)
    assert full.normalisations.height > 0 and fast.normalisations.is_empty()
    assert fast.normalisations.schema == full.normalisations.schema
    for part in ("accepted", "issues", "rejected"):
        assert getattr(fast, part).equals(getattr(full, part)), part
    assert full.issues.height > 0 and full.rejected.height > 0 and full.accepted.height > 0


def test_rules_reused_across_batches_give_what_fresh_rules_give() -> None:
    from clearlane.ingest import validate as module

    bad = {**GOOD, "declaration_id": "D2", "declared_at": "2024-13-01", "net_mass_kg": "-3",
           "customs_value": "1e400", "fraud": "maybe"}
    validate(GOOD)  # builds and keeps the rules of the batch-free fields
    kept = validate(bad, GOOD)
    assert module._rules_cache and module._text_cache
    module._rules_cache.clear()
    module._text_cache.clear()
    fresh = validate(bad, GOOD)
    for part in ("accepted", "issues", "rejected", "normalisations"):
        assert getattr(kept, part).equals(getattr(fresh, part)), part
    assert {"declared_at", "net_mass_kg", "customs_value", "fraud"} <= set(kept.issues["field"])
