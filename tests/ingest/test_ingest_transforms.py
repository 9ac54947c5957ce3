"""Profile transforms (extract, map, decimal comma, codes: keep), national currency, optional
outcome columns, date formats, and extras whose names collide."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from clearlane.errors import ProfileError
from clearlane.features import FeaturePipeline
from clearlane.ingest.profile import Profile, parse_profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.sql_validate import RAW_VIEW, SqlBatchValidator
from clearlane.ingest.transforms import normalised_key, plan_transforms
from clearlane.ingest.validate import ValidationContext, check_columns, validate_batch
from clearlane.schema.fields import EXTRA_COLUMN, FIELD_NAMES
from clearlane.services.ingest import ingest_file
from clearlane.services.quality import quality_report, write_quality_html
from clearlane.store.workspace import Workspace

TODAY = date(2024, 6, 30)
CONTEXT = ValidationContext(today=TODAY)

PROFILE = parse_profile(
    r"""
name: asy
national_currency: xof
csv: {delimiter: ";", decimal: ",", encoding: cp1252}
columns:
  declaration_id: SAD
  item_no: {column: Item, extract: '^\s*(\d+)'}
  declared_at: {column: Date, format: "%d-%b-%y"}
  hs_code: Tariff
  origin_country: {column: Origin, codes: keep}
  customs_value: CIF
  transport_mode: {column: Lane, map: {R: red, Y: yellow, 1: sea}}
  inspected: {column: Inspected}
  fraud: {column: Fraud}
extras: unmapped
""",
    "asy",
)
HEADER = "SAD;Item;Date;Tariff;Origin;CIF;Lane;Note"


def _write(path: Path, header: str, *rows: str) -> Path:
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode("cp1252"))
    return path


def test_transforms_apply_before_validation(workspace: Workspace, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.csv",
        HEADER,
        'S1;1 of 3;03-Feb-19;870323;C0417;1.234,56;R;"café € ’\nsecond line"',
        "S1;x of 3;03-Feb-19;870323;FR;12,5;Y;n",
        "S2;2 of 3;03-FEB-19;870323;FR;7;G;n",
        "S3;3 of 3;04-Feb-19;870323;fr;1.000;1;n",
    )
    report = ingest_file(workspace, path, PROFILE, today=TODAY)
    assert (report.counts.rows_read, report.counts.rows_accepted) == (4, 3)
    rows = workspace.query(
        "SELECT declaration_id, item_no, declared_at, origin_country, customs_value, "
        "transport_mode, extra, source_row FROM declarations ORDER BY source_row"
    ).rows()
    assert rows[0][:6] == ("S1", 1, date(2019, 2, 3), "C0417", 1234.56, "red")
    assert "café € ’\\nsecond line" in rows[0][6]
    assert rows[1][:6] == ("S2", 2, date(2019, 2, 3), "FR", 7.0, "G")  # unmapped: unchanged
    assert rows[2][:6] == ("S3", 3, date(2019, 2, 4), "FR", 1000.0, "sea")
    assert [r[7] for r in rows] == [2, 5, 6]  # physical lines (line 2 holds two lines)
    quarantine = workspace.query("SELECT source_row, reasons FROM quarantine").rows()
    assert quarantine[0][0] == 4
    assert "no match for the profile's extract pattern" in quarantine[0][1]
    warning = workspace.query(
        "SELECT field, value, reason FROM ingest_issues WHERE severity = 'warning'"
    ).rows()
    assert warning == [
        ("origin_country", "C0417", next(r[2] for r in warning if "kept as-is" in r[2]))
    ]
    norm = workspace.query("SELECT field, original, normalised, rows FROM normalisations")
    fields = set(norm.get_column("field").to_list())
    assert {"item_no", "customs_value", "transport_mode"} <= fields
    currency = workspace.query("SELECT national_currency FROM ingest_batch_currency").item()
    assert currency == "XOF"


def test_outcome_columns_are_optional(workspace: Workspace, tmp_path: Path) -> None:
    history = _write(
        tmp_path / "history.csv",
        HEADER + ";Inspected;Fraud",
        "H1;1;03-Feb-19;870323;FR;10;R;n;1;0",
    )
    new = _write(tmp_path / "new.csv", HEADER, "N1;1;03-Feb-19;870323;FR;10;R;n")
    assert ingest_file(workspace, history, PROFILE, today=TODAY).counts.rows_accepted == 1
    assert ingest_file(workspace, new, PROFILE, today=TODAY).counts.rows_accepted == 1
    rows = workspace.query(
        "SELECT declaration_id, inspected, fraud FROM declarations ORDER BY 1"
    ).rows()
    assert rows == [("H1", True, False), ("N1", None, None)]


def _both_paths(profile: Profile, frame: pl.DataFrame, decimal: str = ".") -> int:
    """The fast path and the reference agree on a transformed batch; returns how many
    warnings on kept codes the fast path reported."""
    absent = set(check_columns(profile, frame.columns, "t.csv"))
    plan = plan_transforms(profile, [c for c in frame.columns if c != ROW_COLUMN],
                           decimal=decimal, absent=absent)
    table, _ = plan.apply(frame.to_arrow())
    raw = pl.from_arrow(table)
    assert isinstance(raw, pl.DataFrame)
    reference = validate_batch(raw, plan.profile, CONTEXT, absent)
    con = duckdb.connect()
    con.register(RAW_VIEW, table)
    fast = SqlBatchValidator(plan.profile, CONTEXT, plan.columns, absent)
    fast.check(con)
    clean = con.sql(fast.accepted_sql).pl().select([*FIELD_NAMES, EXTRA_COLUMN, "source_row"])
    issues = reference.issues
    kept = issues.filter(pl.col("reason").str.ends_with("kept as-is (`codes: keep`)"))
    flagged = set(issues.join(kept, on=issues.columns, how="anti")["source_row"].to_list())
    clean_rows = set(clean.get_column("source_row").to_list())
    assert not clean_rows & flagged
    # The fast path reports the warnings on the codes it keeps exactly as the reference does.
    ours = fast.kept_issues(con).sort(["source_row", "field"])
    theirs = kept.filter(pl.col("source_row").is_in(sorted(clean_rows)))
    assert ours.to_dicts() == theirs.sort(["source_row", "field"]).to_dicts()
    expected = (
        reference.accepted.rename({ROW_COLUMN: "source_row"})
        .filter(pl.col("source_row").is_in(clean.get_column("source_row").to_list()))
        .sort("source_row")
    )
    assert clean.sort("source_row").to_dicts() == expected.select(clean.columns).to_dicts()
    con.close()
    return ours.height


def test_fast_path_and_reference_agree_after_transforms() -> None:
    frame = pl.DataFrame(
        {
            "SAD": ["S1", "S2", "S3", "S4", "S5", "S6"],
            "Item": ["1 of 2", "2 of 2", "x", " 3 of 3", None, "4"],
            "Date": ["03-Feb-19", "03-FEB-19", "3/2/19", "04-Feb-19", "05-Feb-19", "05-Feb-19"],
            "Tariff": ["870323"] * 6,
            "Origin": ["C0417", "FR", "fr", "C0417", "ZZ", "Atlantis"],
            "CIF": ["1.234,56", "12,5", "inf", "7", "1.000", "1_000"],
            "Lane": ["R", "Y", "G", "1", None, "R"],
            "Note": ["a", "b", "c", "d", "e", "f"],
            ROW_COLUMN: [2, 3, 4, 5, 6, 7],
        }
    )
    assert _both_paths(PROFILE, frame, decimal=",") >= 1


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("%d-%b-%y", "03-Feb-19", date(2019, 2, 3)),
        ("%d/%m/%Y", "03/02/2019", date(2019, 2, 3)),
        ("%Y-%m-%dT%H:%M:%S%z", "2019-02-03T10:15:00+01:00", date(2019, 2, 3)),
        ("%Y-%m-%dT%H:%M:%S%z", "2019-02-03T00:15:00+0100", date(2019, 2, 3)),
        ("%Y-%m-%dT%H:%M:%S%z", "2019-02-03T10:15:00Z", date(2019, 2, 3)),
    ],
)
def test_date_formats(fmt: str, text: str, expected: date) -> None:
    profile = parse_profile(
        "columns: {declaration_id: id, hs_code: hs, declared_at: {column: d, format: '"
        + fmt + "'}, inspected_at: {column: t, format: '" + fmt + "'}}",
        "dates",
    )
    frame = pl.DataFrame({"id": ["D1"], "hs": ["870323"], "d": [text], "t": [text],
                          ROW_COLUMN: [2]})
    result = validate_batch(frame, profile, CONTEXT)
    assert result.issues.height == 0
    # The date as written (the office's calendar day), whatever the offset.
    assert result.accepted.item(0, "declared_at") == expected
    _both_paths(profile, frame)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: {item_no: {column: I, extract: '(unclosed'}}", "regular expression"),
        ("csv: {encoding: klingon}", "unknown encoding"),
        ("columns: {importer_id: {column: I, codes: keep}}", "country and currency"),
        ("national_currency: ABC", "ISO 4217"),
        ("csv: {decimal: ';'}", "decimal"),
        ("csv: {max_field_bytes: 0}", "max_field_bytes"),
    ],
)
def test_profile_keys_are_validated(text: str, message: str) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "bad")
    assert message in str(info.value) + " ".join(str(p) for p in info.value.problems)


def test_extras_colliding_after_normalisation_are_renamed(
    workspace: Workspace, tmp_path: Path
) -> None:
    profile = parse_profile(
        "columns: {declaration_id: id, declared_at: d, hs_code: hs, origin_country: "
        "{column: o, codes: keep}}\nextras: unmapped",
        "x",
    )
    first = tmp_path / "first.csv"
    first.write_text(
        "id,d,hs,o,PORT.NAME,Port Name\n"
        + "".join(f"A{i},2024-01-{i % 28 + 1:02d},851713,C04{i % 3},P{i % 2},Q\n"
                  for i in range(40))
    )
    second = tmp_path / "second.csv"
    second.write_text(
        "id,d,hs,o,PORT_NAME\n"
        + "".join(f"B{i},2024-02-{i % 28 + 1:02d},851713,CN,P{i % 3}\n" for i in range(40))
    )
    ingest_file(workspace, first, profile, today=TODAY)
    ingest_file(workspace, second, profile, today=TODAY)
    data = workspace.query("SELECT * FROM declarations")
    keys: set[str] = set()
    for text in data.get_column("extra").to_list():
        keys |= set(pl.Series([text]).str.json_decode().struct.fields)
    assert len({normalised_key(k) for k in keys}) == len(keys) == 3
    renamed = workspace.query(
        "SELECT original, normalised FROM normalisations WHERE field = 'extra'"
    ).rows()
    assert len(renamed) == 2
    # The models can use every extra and the kept national codes as categories.
    data = data.with_columns(inspected=pl.lit(True), fraud=pl.col("item_no") > 5)
    features = FeaturePipeline().fit_transform(data)
    assert features.height == data.height
    assert len(set(features.columns)) == len(features.columns)
    # The quality report reads the kept national codes without complaint.
    report = quality_report(workspace, as_of=TODAY)
    write_quality_html(workspace, report, tmp_path / "quality.html")
    assert (tmp_path / "quality.html").stat().st_size > 0


def test_plain_batches_are_not_touched() -> None:
    profile = parse_profile("columns: {declaration_id: id, declared_at: d, hs_code: hs}", "p")
    plan = plan_transforms(profile, ["id", "d", "hs"])
    table = pa.table({"id": ["a"], "d": ["2024-01-01"], "hs": ["851713"]})
    assert not plan.active
    assert plan.apply(table)[0] is table


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.234,56", 1234.56),
        ("12,5", 12.5),
        ("1.234", 1234.0),
        ("1 234,5", 1234.5),
        ("+3,25", 3.25),
        ("7", 7.0),
        ("12.5", 12.5),  # not in the comma form: read as written
        ("1,234.56", None),  # mixed: refused, never guessed
    ],
)
def test_decimal_comma(text: str, value: float | None) -> None:
    profile = parse_profile(
        "csv: {decimal: ','}\ncolumns: {declaration_id: id, declared_at: d, hs_code: hs, "
        "customs_value: v}",
        "dc",
    )
    frame = pl.DataFrame({"id": ["D1"], "d": ["2024-01-02"], "hs": ["851713"], "v": [text],
                          ROW_COLUMN: [2]})
    plan = plan_transforms(profile, ["id", "d", "hs", "v"], decimal=",")
    table, _ = plan.apply(frame.to_arrow())
    raw = pl.from_arrow(table)
    assert isinstance(raw, pl.DataFrame)
    result = validate_batch(raw, plan.profile, CONTEXT)
    if value is None:
        assert result.accepted.height == 0
    else:
        assert result.accepted.item(0, "customs_value") == value
    _both_paths(profile, frame, decimal=",")
