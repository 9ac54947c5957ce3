from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.ingest.readers import detect_encoding, open_source


def read_all(path: Path) -> tuple[pl.DataFrame, list]:  # type: ignore[type-arg]
    scan = open_source(path)
    frames = list(scan.batches())
    return pl.concat(frames), scan.malformed


def test_utf8_bom_header_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffid,name\n1,Éclair\n".encode())
    df, _ = read_all(path)
    assert df.columns[0] == "id"
    assert df.item(0, "name") == "Éclair"


def test_latin1_is_detected(tmp_path: Path) -> None:
    # Windows-1252 is read for any byte it defines (a superset of Latin-1's printable range).
    path = tmp_path / "latin.csv"
    path.write_bytes("id,desc\n1,Café crème\n".encode("latin-1"))
    assert detect_encoding(path) == "cp1252"
    df, _ = read_all(path)
    assert df.item(0, "desc") == "Café crème"
    # A byte Windows-1252 leaves undefined: Latin-1.
    path.write_bytes("id,desc\n1,Café\n".encode("latin-1") + b"\x81\n")
    assert detect_encoding(path) == "latin-1"
    df, malformed = read_all(path)
    assert df.item(0, "desc") == "Café"
    assert [p.row for p in malformed] == [3]


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ValidationError, match="empty"):
        open_source(path)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.xml"
    path.write_text("<x/>")
    with pytest.raises(ValidationError, match="supported"):
        open_source(path)


def test_malformed_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c\n1,x,2\n2,y\n3,z,4,5\n4,w,6\n")
    df, malformed = read_all(path)
    assert df.get_column("a").to_list() == ["1", "4"]
    assert [p.row for p in malformed] == [3, 4]
    assert "malformed CSV line 3: 2 fields, expected 3" in malformed[0].reason
    # Rows carry their physical line already.
    assert df.get_column("__row__").to_list() == [2, 5]


@pytest.mark.parametrize("suffix", ["parquet", "jsonl", "xlsx"])
def test_other_formats(tmp_path: Path, suffix: str) -> None:
    df = pl.DataFrame({"id": ["a", "b"], "v": [1.5, 2.0]})
    path = tmp_path / f"x.{suffix}"
    if suffix == "parquet":
        df.write_parquet(path)
    elif suffix == "jsonl":
        df.write_ndjson(path)
    else:
        df.write_excel(path)
    out, _ = read_all(path)
    assert out.height == 2
    assert set(out.columns) >= {"id", "v"}


def test_utf8_with_a_stray_byte_stays_utf8(tmp_path: Path) -> None:
    path = tmp_path / "stray.csv"
    path.write_bytes("id,desc\n1,Café\n2,Crème\n".encode() + b"3,bad \xff byte\n4,ok\n")
    assert detect_encoding(path) == "utf-8"
    df, malformed = read_all(path)
    assert df.get_column("desc").to_list() == ["Café", "Crème", "ok"]
    assert [p.row for p in malformed] == [4]
    assert "not valid UTF-8" in malformed[0].reason


def test_sample_stops_after_max_records(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("id,v\n" + "".join(f"{i},x\n" for i in range(1000)))
    scan = open_source(path, max_records=10)
    assert sum(b.height for b in scan.batches()) == 10


@pytest.mark.parametrize("batch_rows", [700, 250_000])
def test_a_late_bad_record_after_streaming_started(tmp_path: Path, batch_rows: int) -> None:
    # Beyond the scan's first window the file is streamed as it stands; the first record that
    # needs the tolerant path hands the rest over to a cleaned copy, lines kept.
    good = [f"{i},word {i} {'p' * 50},{i}.5" for i in range(40_000)]  # > 1 MB before
    lines = ["id,text,v", *good[:30_000], '30000,"bad, quote,1', '30001,"multi\nline",2',
             "30002,ragged", f"30003,{'z' * 3_000_000},3", *good[30_004:]]
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    scan = open_source(path, batch_rows=batch_rows)
    frame = pl.concat(scan.batches())
    assert frame.height == 40_000 - 2
    rows = dict(zip(frame.get_column("id").to_list(), frame.get_column("__row__").to_list(),
                    strict=True))
    assert rows["29999"] == 30_001
    assert rows["30001"] == 30_003  # the multi-line record starts on line 30,003
    assert rows["30003"] == 30_006
    assert rows["39999"] == 40_002
    assert [p.row for p in scan.malformed] == [30_002, 30_005]
    assert frame.filter(pl.col("id") == "30003").item(0, "text") == "z" * 3_000_000


def test_segments_read_the_same_as_one_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A dirty file is read from cleaned segments while the scan goes on: the segment size
    # changes nothing in what is read or how it is numbered.
    lines = ["id,text,v"]
    for i in range(6000):
        if i % 97 == 5:
            lines.append(f'{i},"unterminated,{i}')
        elif i % 89 == 7:
            lines.append(f"{i},ragged")
        elif i % 83 == 3:
            lines.append(f'{i},"two\nlines",{i}')
        else:
            lines.append(f"{i},text {i},{i}")
    path = tmp_path / "dirty.csv"
    path.write_text("\n".join(lines) + "\n")

    def read() -> tuple[list[tuple[object, ...]], list[tuple[int | None, str]]]:
        scan = open_source(path, batch_rows=500)
        frame = pl.concat(scan.batches())
        return frame.rows(), [(p.row, p.reason) for p in scan.malformed]

    whole = read()
    monkeypatch.setattr("clearlane.ingest.readers._SEGMENT_RECORDS", 700)
    assert read() == whole
    assert len(whole[0]) + len(whole[1]) == 6000


# (A lone CR is left out: a CSV writer does not quote it, so such a file is ambiguous.)
FIELD_TEXT = st.lists(
    st.sampled_from(["a", "b", " ", ",", ";", '"', "\n", "\r\n", "\t", "'", "é", "€", "1", "."]),
    max_size=8,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(FIELD_TEXT, min_size=3, max_size=3), max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_any_valid_csv_is_read_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    delimiter: str,
    quoting: int,
    newline: str,
) -> None:
    # Whatever a CSV writer produces is read back field for field, each record numbered by
    # the physical line it starts on, and nothing is quarantined.
    rows = [r for r in rows if any(r) and r != ["", "", ""]]  # an empty record is a blank line
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    writer.writerow(["c1", "c2", "c3"])
    starts = []
    for row in rows:
        starts.append(out.getvalue().count("\n") + 1)
        writer.writerow(row)
    path = tmp_path_factory.mktemp("valid") / "valid.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    scan = open_source(path, delimiter=delimiter)
    frames = list(scan.batches())
    got = pl.concat(frames) if frames else pl.DataFrame()
    assert scan.malformed == []
    assert got.height == len(rows)
    if rows:
        expected = [[v if v != "" else None for v in r] for r in rows]
        read = [[None if v is None else v for v in r[:3]] for r in got.rows()]
        # CRLF written inside a quoted field may come back as LF; empty text reads as null.
        assert [[None if v is None else v.replace("\r\n", "\n") for v in r] for r in read] == [
            [None if v is None else v.replace("\r\n", "\n") for v in r] for r in expected
        ]
        assert got.get_column("__row__").to_list() == starts


def test_decimal_comma_is_detected_by_column_votes(tmp_path: Path) -> None:
    path = tmp_path / "dc.csv"
    path.write_text(
        "id;hs;cif;mass\n1;8517.13;1.234,56;12,5\n2;8471.30;99,9;3\n3;8517.13;7;0,5\n"
    )
    assert open_source(path).decimal == ","
    path.write_text("id;hs;cif\n1;8517.13;1234.56\n2;8471.30;99.9\n")
    assert open_source(path).decimal == "."


def test_an_unread_scan_leaves_no_temporary_copy(tmp_path: Path) -> None:
    import gc
    import tempfile

    path = tmp_path / "cp.csv"
    path.write_bytes("id,d\n1,Caf\u00e9\n".encode("cp1252"))  # transcoded to a temporary copy
    before = set(Path(tempfile.gettempdir()).glob("clearlane-read-*"))
    scan = open_source(path)
    created = set(Path(tempfile.gettempdir()).glob("clearlane-read-*")) - before
    assert created
    del scan
    gc.collect()
    assert not any(folder.exists() for folder in created)


def test_many_quoted_line_breaks_in_a_dirty_file(tmp_path: Path) -> None:
    # DuckDB's parallel reader refuses some such files: the single-threaded one takes over.
    lines = ["id,text,v"]
    for i in range(60_000):
        if i % 10 == 0:
            lines.append(f'{i},"note {i}\nsecond line, comma",{i}')
        elif i % 997 == 1:
            lines.append(f"{i},ragged")
        else:
            lines.append(f"{i},text {i},{i}")
    path = tmp_path / "notes.csv"
    path.write_text("\n".join(lines) + "\n")
    scan = open_source(path)
    frame = pl.concat(scan.batches())
    assert frame.height + len(scan.malformed) == 60_000
    assert len(scan.malformed) == len([i for i in range(60_000) if i % 997 == 1 and i % 10])
    assert frame.filter(pl.col("id") == "59990").item(0, "text") == "note 59990\nsecond line, comma"
