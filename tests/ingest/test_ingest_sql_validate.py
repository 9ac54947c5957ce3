"""The SQL fast path agrees with the reference validation on every row it does not hand over."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.ingest.profile import Profile, load_profile, parse_profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.sql_validate import CHECKED_TABLE, RAW_VIEW, SqlBatchValidator
from clearlane.ingest.validate import ValidationContext, check_columns, validate_batch
from clearlane.schema.fields import EXTRA_COLUMN, FIELD_NAMES, KEY_FIELDS

CONTEXT = ValidationContext(today=date(2024, 6, 30))

TEXTS = ["D1", " D2 ", "D3\t", "\u00a0D4", "", "  ", None, "Ünïcode id", "a\u2028b"]
NUMBERS = [
    "12.5", " 7 ", "1_000", "1 000", "-3", "0", "nan", "inf", "1e400", "x", "", None, "\t4",
    "-inf", "NaN", "Infinity", "0x10", "1e5", "+.5", "1.", "\u0661\u0662", "1e-400", "1,5",
]
DATES = [
    "2024-01-05",
    "05/01/2024",
    "20240105",
    "2031-01-01",
    "1900-01-01",
    "5.1.2024",
    " 2024-02-03 ",
    None,
]
HS = ["851713", "8517.13", "85A713", "12345", "851719", " 0101.21 ", None]
COUNTRIES = ["CN", "China", "kor", "ZZ", "Atlantis", " us ", None]
CURRENCIES = ["USD", "usd", "978", "ABC", None]
BOOLS = ["1", "0", "yes", "True", "maybe", None]


def run_both(profile: Profile, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, set[int]]:
    """(reference accepted rows, fast-path rows it does not hand over, reference issue rows)."""
    absent = set(check_columns(profile, frame.columns, "t.csv"))
    reference = validate_batch(frame, profile, CONTEXT, absent)
    con = duckdb.connect()
    con.register(RAW_VIEW, frame.to_arrow())
    fast = SqlBatchValidator(profile, CONTEXT, frame.columns, absent)
    fast.check(con)
    columns = [*FIELD_NAMES, EXTRA_COLUMN, "source_row"]
    clean = con.sql(fast.accepted_sql).pl().select(columns).sort("source_row")
    # The cheaper key query gives exactly the keys of the accepted rows.
    keys = con.sql(fast.accepted_keys_sql).fetchall()
    assert sorted(keys, key=repr) == sorted(clean.select(KEY_FIELDS).rows(), key=repr)
    flagged = set(reference.issues.get_column("source_row").to_list())
    con.close()
    return reference.accepted.rename({ROW_COLUMN: "source_row"}), clean, flagged


def assert_agrees(profile: Profile, frame: pl.DataFrame) -> None:
    accepted, clean, flagged = run_both(profile, frame)
    clean_rows = set(clean.get_column("source_row").to_list())
    # Every row the reference rejects or warns about is handed over to it.
    assert not clean_rows & flagged
    expected = accepted.filter(pl.col("source_row").is_in(sorted(clean_rows))).sort("source_row")
    assert clean.to_dicts() == expected.select(clean.columns).to_dicts()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "declaration_id": st.sampled_from([*TEXTS[:4], "D5"]),
                "item_no": st.sampled_from(["1", "2", "2.5", "0", None, " 3 "]),
                "declared_at": st.sampled_from(DATES),
                "hs_code": st.sampled_from(HS),
                "origin_country": st.sampled_from(COUNTRIES),
                "net_mass_kg": st.sampled_from(NUMBERS),
                "customs_value": st.sampled_from(NUMBERS),
                "currency": st.sampled_from(CURRENCIES),
                "fraud": st.sampled_from(BOOLS),
                "goods_description": st.sampled_from(TEXTS),
                "note": st.sampled_from(TEXTS),
            }
        ),
        min_size=1,
        max_size=25,
    )
)
def test_fast_path_matches_reference_canonical(rows: list[dict[str, str | None]]) -> None:
    frame = pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})
    frame = frame.with_columns(pl.int_range(2, 2 + frame.height, dtype=pl.Int64).alias(ROW_COLUMN))
    assert_agrees(load_profile("canonical"), frame)


def test_fast_path_matches_reference_with_units_constants_and_extras() -> None:
    profile = parse_profile(
        "name: t\ncolumns:\n  declaration_id: id\n  declared_at: {column: d, format: '%d/%m/%Y'}\n"
        "  hs_code: hs\n  net_mass_kg: {column: m, unit: g}\n  customs_value: {column: v, scale: 1000}\n"
        "constants:\n  currency: KRW\n  inspected: true\n  item_no: 1\nextras: [kept]\n"
    )
    frame = pl.DataFrame(
        {
            "id": ["A", "B", "C", "D"],
            "d": ["05/01/2024", "2024-01-05", "31/12/2023", "01/02/2024"],
            "hs": ["010121", "0101.21", "851713", "85A713"],
            "m": ["2500", "-1", "3", "4"],
            "v": ["1.5", "2", "x", "3"],
            "kept": ['say "hi"', None, "é", "tab\there"],
        }
    ).with_columns(pl.int_range(2, 6, dtype=pl.Int64).alias(ROW_COLUMN))
    assert_agrees(profile, frame)
    _, clean, _ = run_both(profile, frame)
    assert clean.height >= 1  # the clean row really takes the fast path
    assert clean.item(0, "net_mass_kg") == 2.5


def test_clean_batch_needs_no_materialisation() -> None:
    frame = pl.DataFrame(
        {"declaration_id": ["A", "B"], "declared_at": ["2024-01-01"] * 2, "hs_code": ["851713"] * 2}
    ).with_columns(pl.int_range(2, 4, dtype=pl.Int64).alias(ROW_COLUMN))
    profile = load_profile("canonical")
    con = duckdb.connect()
    con.register(RAW_VIEW, frame.to_arrow())
    fast = SqlBatchValidator(
        profile, CONTEXT, frame.columns, set(check_columns(profile, frame.columns, "t"))
    )
    assert fast.check(con) == 0
    kind = con.sql(
        f"SELECT table_type FROM information_schema.tables WHERE table_name = '{CHECKED_TABLE}'"
    ).fetchall()
    assert kind == [("VIEW",)]


def test_clean_batch_counts_normalisations_like_the_reference() -> None:
    frame = pl.DataFrame(
        {
            "declaration_id": ["A", "B", "C", "D"],
            "declared_at": ["2024-01-01"] * 4,
            "hs_code": ["0101.21", "010121", "0101.21", "851713"],
            "origin_country": ["China", "CN", "china", "kor"],
            "currency": ["usd", "USD", "usd", "EUR"],
        }
    ).with_columns(pl.int_range(2, 6, dtype=pl.Int64).alias(ROW_COLUMN))
    profile = load_profile("canonical")
    absent = set(check_columns(profile, frame.columns, "t"))
    con = duckdb.connect()
    con.register(RAW_VIEW, frame.to_arrow())
    fast = SqlBatchValidator(profile, CONTEXT, frame.columns, absent)
    assert fast.check(con) == 0
    order = ["field", "original", "normalised"]
    counted = fast.normalisations(con).sort(order)
    reference = validate_batch(frame, profile, CONTEXT, absent).normalisations
    assert counted.to_dicts() == reference.select(counted.columns).sort(order).to_dicts()
    assert counted.height >= 3  # HS dots, country names and lower-case currency were counted


def test_source_extras_object_is_merged_with_other_kept_columns() -> None:
    """A source that carries its own `extra` object and other unmapped columns keeps both."""
    profile = parse_profile(
        "name: t\ncolumns:\n  declaration_id: id\n  declared_at: d\n  hs_code: hs\nextras: unmapped\n")
    frame = pl.DataFrame(
        {
            "id": ["A", "B", "C", "D", "E"],
            "d": ["2024-01-05"] * 5,
            "hs": ["851713"] * 5,
            "extra": ['{"payment_type":"cash"}', None, "{}", "plain note", ' {"a":1} '],
            "new": ["x", "y", None, "z", 'q"t'],
        }
    ).with_columns(pl.int_range(2, 7, dtype=pl.Int64).alias(ROW_COLUMN))
    assert_agrees(profile, frame)
    accepted, clean, _ = run_both(profile, frame)
    assert clean.height == 5  # every row takes the fast path, and agrees with the reference
    assert accepted[EXTRA_COLUMN].to_list() == [
        '{"payment_type":"cash","new":"x"}',
        '{"new":"y"}',
        '{"new":null}',
        '{"extra":"plain note","new":"z"}',
        '{"a":1,"new":"q\\"t"}',
    ]
