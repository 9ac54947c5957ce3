"""Readers: stream any supported source file as batches of raw (mostly text) columns.

CSV, Parquet and JSON Lines are scanned by an in-memory DuckDB connection and streamed as Arrow
record batches, so a multi-million-row file is never held in memory whole. Excel files are read
with fastexcel (sheets are bounded in size by Excel itself).

Every column is read as text (VARCHAR), whatever the format, so that validation sees the same
strings from every source. Each batch carries a ``__row__`` column: the 1-based line number in
the source file (header = line 1) for delimited text, the record number (1-based) for others.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from clearlane.errors import Problem, ValidationError

ROW_COLUMN = "__row__"
SUPPORTED = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def detect_format(path: Path, declared: str | None = None) -> str:
    """The source format from the profile, else from the file extension."""
    if declared:
        return declared
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            f"{path.name}: cannot tell the format from extension {path.suffix!r}; supported: "
            f"{', '.join(sorted(SUPPORTED))} (or set `format:` in the profile)"
        )
    return fmt


def detect_encoding(path: Path, sample_bytes: int = 4 << 20) -> str:
    """'utf-16' with a UTF-16 BOM, 'utf-8' when a sample decodes as UTF-8, else 'latin-1'."""
    with path.open("rb") as handle:
        sample = handle.read(sample_bytes)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if exc.start < len(sample) - 4:
            return "latin-1"
    return "utf-8"


@dataclass
class SourceScan:
    """An open source file: its columns, a batch iterator and the malformed lines it met.

    ``malformed`` fills while batches are consumed; read it after the iterator is exhausted.
    """

    path: Path
    format: str
    columns: list[str]
    encoding: str | None = None
    malformed: list[Problem] = field(default_factory=list)
    _batches: Iterator[pa.Table] | None = None

    def arrow_batches(self) -> Iterator[pa.Table]:
        """Batches as Arrow tables of text columns plus ``__row__`` (int64)."""
        assert self._batches is not None
        return self._batches

    def batches(self) -> Iterator[pl.DataFrame]:
        """The same batches as polars frames."""
        for table in self.arrow_batches():
            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            yield frame


def open_source(
    path: Path,
    fmt: str | None = None,
    *,
    batch_rows: int = 250_000,
    delimiter: str | None = None,
    encoding: str = "auto",
    sheet: str | None = None,
) -> SourceScan:
    """Open ``path`` for streaming. Raises ValidationError for empty or unreadable files."""
    if not path.exists():
        raise ValidationError(f"{path}: file does not exist")
    if path.stat().st_size == 0:
        raise ValidationError(f"{path.name}: file is empty (0 bytes); nothing to ingest")
    kind = detect_format(path, fmt)
    if kind == "xlsx":
        return _open_excel(path, sheet, batch_rows)
    return _open_duckdb(path, kind, batch_rows, delimiter, encoding)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _open_duckdb(
    path: Path, kind: str, batch_rows: int, delimiter: str | None, encoding: str
) -> SourceScan:
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    # The reader only streams: keep its buffers small so a large file never sits in memory.
    con.execute("SET memory_limit = '512MB'")
    used_encoding: str | None = None
    if kind == "csv":
        used_encoding = detect_encoding(path) if encoding == "auto" else encoding
        options = [
            "header = true",
            "all_varchar = true",
            "store_rejects = true",
            f"encoding = {_quote(used_encoding)}",
            "sample_size = 20480",
        ]
        if delimiter:
            options.append(f"delim = {_quote(delimiter)}")
        source = f"read_csv({_quote(str(path))}, {', '.join(options)})"
    elif kind == "parquet":
        source = f"(SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_parquet({_quote(str(path))}))"
    elif kind == "jsonl":
        source = (
            f"(SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_json({_quote(str(path))}, "
            "format = 'newline_delimited', sample_size = 20480))"
        )
    else:  # pragma: no cover - detect_format guards this
        raise ValidationError(f"{path.name}: unsupported format {kind!r}")
    try:
        relation = con.sql(f"SELECT * FROM {source}")
        columns = list(relation.columns)
    except duckdb.Error as exc:
        con.close()
        raise ValidationError(f"{path.name}: cannot read as {kind}: {exc}") from exc
    scan = SourceScan(path=path, format=kind, columns=columns, encoding=used_encoding)
    scan._batches = _duckdb_batches(con, relation, scan, batch_rows)
    return scan


def _duckdb_batches(
    con: duckdb.DuckDBPyConnection,
    relation: duckdb.DuckDBPyRelation,
    scan: SourceScan,
    batch_rows: int,
) -> Iterator[pa.Table]:
    """Stream record batches; number rows as source lines (CSV: the header is line 1 and the
    numbers assume no malformed line; the ingest shifts them afterwards) or records (others)."""
    seen = 1 if scan.format == "csv" else 0

    def numbered(batches: list[pa.RecordBatch]) -> pa.Table:
        nonlocal seen
        table = pa.Table.from_batches(batches)
        rows = np.arange(seen + 1, seen + 1 + table.num_rows, dtype=np.int64)
        seen += table.num_rows
        return table.append_column(ROW_COLUMN, pa.array(rows))

    try:
        try:
            # DuckDB hands out small record batches; gather them up to ``batch_rows`` so that
            # per-batch work (validation, the duplicate check) runs on large vectors.
            pending: list[pa.RecordBatch] = []
            pending_rows = 0
            for record_batch in relation.to_arrow_reader(batch_rows):
                pending.append(record_batch)
                pending_rows += record_batch.num_rows
                if pending_rows >= batch_rows:
                    yield numbered(pending)
                    pending, pending_rows = [], 0
            if pending_rows:
                yield numbered(pending)
        except duckdb.Error as exc:
            raise ValidationError(f"{scan.path.name}: cannot read as {scan.format}: {exc}") from exc
        if scan.format == "csv":
            scan.malformed.extend(_csv_rejects(con, scan.path.name))
    finally:
        con.close()


def _csv_rejects(con: duckdb.DuckDBPyConnection, source: str) -> list[Problem]:
    rows = con.execute(
        "SELECT line, column_name, error_type, csv_line, error_message FROM reject_errors ORDER BY line"
    ).fetchall()
    problems: dict[int, Problem] = {}
    for line, column, error_type, csv_line, message in rows:
        # DuckDB may report one line several times (once per missing column): keep the first.
        if int(line) in problems:
            continue
        problems[int(line)] = Problem(
            field=str(column) if column else "<line>",
            value=(csv_line or "")[:2000],
            reason=f"malformed CSV line ({str(error_type).lower()}): {message}",
            row=int(line),
            source=source,
        )
    return list(problems.values())


def csv_line_numbers(rows: pl.Series, malformed_lines: list[int]) -> pl.Series:
    """True file line numbers of accepted CSV rows numbered as if no line were malformed.

    Every malformed line before a row shifts it down by one; ``malformed_lines`` ascending.
    (The same rule as ``IngestWriter.renumber_csv_lines``, for in-memory use.)
    """
    if not malformed_lines:
        return rows
    thresholds = pl.Series([line - 1 - j for j, line in enumerate(malformed_lines)], dtype=pl.Int64)
    return rows + thresholds.search_sorted(rows, side="left").cast(pl.Int64)


def _open_excel(path: Path, sheet: str | None, batch_rows: int) -> SourceScan:
    try:
        frame = pl.read_excel(
            path,
            sheet_name=sheet,
            engine="calamine",
            infer_schema_length=0,
        )
    except Exception as exc:  # fastexcel raises its own exception types
        raise ValidationError(f"{path.name}: cannot read as xlsx: {exc}") from exc
    assert isinstance(frame, pl.DataFrame)
    frame = frame.cast(pl.String).with_columns(
        pl.int_range(2, 2 + frame.height, dtype=pl.Int64).alias(ROW_COLUMN)
    )
    scan = SourceScan(
        path=path, format="xlsx", columns=[c for c in frame.columns if c != ROW_COLUMN]
    )

    def batches() -> Iterator[pa.Table]:
        for start in range(0, frame.height, batch_rows):
            yield frame.slice(start, batch_rows).to_arrow(compat_level=pl.CompatLevel.oldest())

    scan._batches = batches()
    return scan
