"""Ingest checks a declaration's HS code against the edition in force on its date, and the SQL
fast path agrees with the reference on every row it keeps."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.ingest.profile import Profile, load_profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.sql_validate import RAW_VIEW, SqlBatchValidator
from clearlane.ingest.validate import BatchResult, ValidationContext, check_columns, validate_batch
from clearlane.reference.hs_editions import subheadings
from clearlane.schema.fields import EXTRA_COLUMN, FIELD_NAMES

CONTEXT = ValidationContext(today=date(2024, 6, 30))
HS2017_ONLY = "8541.50"  # photosensitive semiconductor devices: split in HS 2022
HS2022_ONLY = "8541.51"  # semiconductor-based transducers: new in HS 2022


def _frame(rows: list[tuple[str | None, str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "declaration_id": [f"D{i}" for i in range(len(rows))],
            "declared_at": [r[0] for r in rows],
            "hs_code": [r[1] for r in rows],
        },
        schema={"declaration_id": pl.String, "declared_at": pl.String, "hs_code": pl.String},
    )
    return frame.with_columns(pl.int_range(2, 2 + frame.height, dtype=pl.Int64).alias(ROW_COLUMN))


def _reference(frame: pl.DataFrame) -> BatchResult:
    profile = load_profile("canonical")
    return validate_batch(frame, profile, CONTEXT, set(check_columns(profile, frame.columns, "t")))


def _fast(profile: Profile, frame: pl.DataFrame) -> pl.DataFrame:
    """The rows the SQL fast path keeps (does not hand to the reference)."""
    con = duckdb.connect()
    con.register(RAW_VIEW, frame.to_arrow())
    fast = SqlBatchValidator(
        profile, CONTEXT, frame.columns, set(check_columns(profile, frame.columns, "t"))
    )
    fast.check(con)
    columns = [*FIELD_NAMES, EXTRA_COLUMN, "source_row"]
    clean = con.sql(fast.accepted_sql).pl().select(columns).sort("source_row")
    con.close()
    return clean


def _assert_paths_agree(frame: pl.DataFrame) -> pl.DataFrame:
    profile = load_profile("canonical")
    reference = _reference(frame)
    clean = _fast(profile, frame)
    flagged = set(reference.issues.get_column("source_row").to_list())
    kept = set(clean.get_column("source_row").to_list())
    assert not kept & flagged, "a row the reference warns about stayed on the fast path"
    expected = (
        reference.accepted.rename({ROW_COLUMN: "source_row"})
        .filter(pl.col("source_row").is_in(sorted(kept)))
        .sort("source_row")
    )
    assert clean.to_dicts() == expected.select(clean.columns).to_dicts()
    return clean


def _hs_warnings(result: BatchResult) -> dict[int, str]:
    issues = result.issues.filter(pl.col("field") == "hs_code")
    return dict(zip(issues["source_row"].to_list(), issues["reason"].to_list(), strict=True))


def test_hs2017_code_of_2020_is_accepted_without_warning_and_flagged_in_2023() -> None:
    result = _reference(_frame([("2020-06-15", HS2017_ONLY), ("2023-03-01", HS2017_ONLY)]))
    assert result.accepted.height == 2  # a warning never rejects
    warnings = _hs_warnings(result)
    assert 2 not in warnings
    assert "8541.50 does not exist in HS 2022" in warnings[3]


def test_hs2022_code_before_2022_is_flagged_against_hs2017() -> None:
    result = _reference(_frame([("2021-12-31", HS2022_ONLY), ("2022-01-01", HS2022_ONLY)]))
    warnings = _hs_warnings(result)
    assert "8541.51 does not exist in HS 2017" in warnings[2]
    assert 3 not in warnings


def test_configured_dates_move_the_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLANE_HS_EDITIONS", "2012=2012-01-01,2017=2017-01-01,2022=2022-07-01")
    frame = _frame([("2022-03-01", HS2017_ONLY), ("2022-08-01", HS2017_ONLY)])
    warnings = _hs_warnings(_reference(frame))
    assert 2 not in warnings and 3 in warnings
    _assert_paths_agree(frame)


def test_fast_path_hands_over_date_dependent_codes_and_keeps_the_rest() -> None:
    frame = _frame(
        [
            ("2020-06-15", HS2017_ONLY),  # valid then; the lookup (HS 2022) says no: handed over
            ("2020-06-15", HS2022_ONLY),  # valid in HS 2022 only: date-dependent, handed over
            ("2023-03-01", HS2022_ONLY),  # valid: stays on the fast path
            ("2020-06-15", "0101.21"),  # valid in every edition: stays on the fast path
            ("2023-03-01", HS2017_ONLY),  # flagged
        ]
    )
    clean = _assert_paths_agree(frame)
    assert clean["source_row"].to_list() == [4, 5]
    reference = _reference(frame)
    assert reference.accepted.height == 5
    assert set(_hs_warnings(reference)) == {3, 6}


CHANGED = sorted((subheadings("2022") ^ subheadings("2017")) | (subheadings("2017") ^ subheadings("2012")))
DAYS = ["2011-06-30", "2013-05-01", "2016-12-31", "2017-01-01", "2020-06-15", "2021-12-31",
        "2022-01-01", "2024-02-01", "31/12/2020", None]


@settings(max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(DAYS),
            st.one_of(st.sampled_from(CHANGED), st.sampled_from(["010121", "8517.13", "99", None])),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fast_and_reference_paths_agree_across_editions(
    rows: list[tuple[str | None, str | None]],
) -> None:
    _assert_paths_agree(_frame(rows))
