"""Readers: stream any supported source file as batches of raw (text) columns.

Every column is read as text, whatever the format, so that validation sees the same strings
from every source. Each batch carries a ``__row__`` column: the 1-based physical line where the
record starts (header = line 1) for delimited text and JSON Lines, the record number (1-based)
for Parquet and Excel.

Delimited text is read tolerantly and fast (see :mod:`clearlane.ingest.readers` docs in
``docs/ingest.md``):

1. the file is decoded to UTF-8 if it is in another encoding (UTF-16, Windows-1252, any Python
   codec), and old Mac / mixed line endings are made ``\\n``;
2. a vectorised structural scan (numpy over the bytes, a window at a time) finds every record's
   byte span and physical line span with the quote parity, and flags records whose field count,
   quoting, UTF-8 or size is wrong;
3. each flagged record alone is read again by Python's ``csv`` module (strict), which either
   reads it (it is kept, re-written in canonical quoting) or quarantines it with its true
   reason and line span; the scan then resumes on the next line, so one unterminated quote
   never spoils the rest of the file;
4. DuckDB's parallel CSV reader streams the good records as Arrow batches. It starts on the
   file as it stands while the scan runs in another thread and vouches for each record before
   its batch is handed on; from the first flagged record on, the rest is read from a cleaned
   copy (the good records only). A clean file is thus read once by each, side by side.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import mmap
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
DEFAULT_MAX_FIELD_BYTES = 10_000_000
"""Largest field (in bytes, UTF-8) read from delimited text; a longer one is quarantined."""
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_SEGMENT_RECORDS = 200_000
"""Records per cleaned segment when part of a file needs the tolerant path."""
_DELIMITERS = (",", ";", "\t", "|")


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
    """The encoding of a text file from its BOM and a sample of its bytes.

    'utf-16' with a UTF-16 BOM (or the NUL pattern of BOM-less UTF-16), 'utf-8' when the sample
    decodes as UTF-8, else 'cp1252' (Windows-1252: €, ’ …) or, where the sample holds a byte
    Windows-1252 leaves undefined, 'latin-1'.
    """
    with path.open("rb") as handle:
        sample = handle.read(sample_bytes)
    return _encoding_of(sample, whole=len(sample) < sample_bytes)


def _encoding_of(sample: bytes, whole: bool = False) -> str:
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = sample[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 2 * even:
            return "utf-16-le"
        if even > 2 * odd:
            return "utf-16-be"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if whole or exc.start < len(sample) - 4:
            # UTF-8 text with a few stray bytes stays UTF-8 (their records are quarantined):
            # decoding it as Windows-1252 would garble every accented letter.
            text = sample.decode("utf-8", errors="replace")
            invalid = text.count("\ufffd")
            valid = len(text) - len(text.encode("ascii", errors="ignore")) - invalid
            if valid >= max(invalid, 1):
                return "utf-8"
            return "latin-1" if _CP1252_UNDEFINED & set(sample) else "cp1252"
    return "utf-8"


@dataclass
class SourceScan:
    """An open source file: its columns, a batch iterator and the malformed records it met.

    ``malformed`` fills while batches are consumed; read it after the iterator is exhausted.
    Each malformed record's ``row`` is its first physical line; its reason names its span.
    ``notes`` says what the reader decided or changed (line endings …); ``renamed``: header
    names the reader changed (empty or repeated ones).
    """

    path: Path
    format: str
    columns: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    malformed: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (header as written, read as)
    records: int = 0
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
    quote: str = '"',
    decimal: str = "auto",
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
    max_records: int | None = None,
) -> SourceScan:
    """Open ``path`` for streaming. Raises ValidationError for a file that cannot be used.

    ``max_records`` stops after that many records (a sample, e.g. for ``profile suggest``).
    """
    if not path.exists():
        raise ValidationError(f"{path}: file does not exist")
    if not path.is_file():
        raise ValidationError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise ValidationError(f"{path.name}: file is empty (0 bytes); nothing to ingest")
    kind = detect_format(path, fmt)
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ValidationError(f"{path.name}: cannot be read: {exc.strerror or exc}") from exc
    if kind != "xlsx" and head.startswith(b"PK\x03\x04"):
        raise ValidationError(
            f"{path.name}: this is a zip archive (an Excel .xlsx workbook?), not {kind}; "
            "save it with the .xlsx extension or set `format: xlsx` in the profile"
        )
    if kind == "xlsx":
        if not head.startswith(b"PK\x03\x04"):
            raise ValidationError(f"{path.name}: not an .xlsx workbook (no zip signature)")
        return _open_excel(path, sheet, batch_rows)
    if kind == "csv":
        return _open_csv(
            path,
            batch_rows=batch_rows,
            delimiter=delimiter,
            encoding=encoding,
            quote=quote,
            decimal=decimal,
            max_field_bytes=max_field_bytes,
            max_records=max_records,
        )
    if kind == "jsonl":
        return _open_jsonl(path, batch_rows, encoding, max_records)
    return _open_parquet(path, batch_rows)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- delimited text --------------------------------------------------------------------------


def _check_not_binary(path: Path, sample: bytes, encoding: str) -> None:
    if encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        return
    if b"\x00" in sample[:65536]:
        raise ValidationError(
            f"{path.name}: binary content (NUL bytes) — not a delimited text file; "
            "if it is UTF-16 without a byte-order mark, set `csv: {encoding: utf-16-le}`"
        )


def _codec_name(encoding: str, path: Path) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise ValidationError(
            f"{path.name}: unknown encoding {encoding!r} (any Python codec name is accepted)"
        ) from exc


def _needs_newline_fix(path: Path) -> bool:
    """Whether the file holds a CR that does not start a CRLF (old Mac or mixed endings).

    Read in chunks (not mapped), so that the whole file never counts in this process's memory.
    """
    previous_cr = False
    with path.open("rb") as handle:
        while chunk := handle.read(8 << 20):
            if previous_cr and not chunk.startswith(b"\n"):
                return True
            crs = chunk.count(b"\r")
            if crs and crs != chunk.count(b"\r\n") + (1 if chunk.endswith(b"\r") else 0):
                return True
            previous_cr = chunk.endswith(b"\r")
    return previous_cr


def _transcode(path: Path, codec: str, folder: Path, fix_newlines: bool) -> Path:
    """``path`` decoded with ``codec`` and written as UTF-8 (lone CRs made LF)."""
    out = folder / "decoded.csv"
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset = 0
    pending_cr = False
    with path.open("rb") as source, out.open("wb") as sink:
        while True:
            chunk = source.read(8 << 20)
            final = not chunk
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                where = offset + max(exc.start, 0)
                raise ValidationError(
                    f"{path.name}: byte {where} cannot be decoded as {codec} ({exc.reason}); "
                    "set the right `csv: {encoding: …}` in the profile"
                ) from exc
            offset += len(chunk)
            if fix_newlines:
                if pending_cr:
                    text = "\r" + text
                pending_cr = text.endswith("\r") and not final
                if pending_cr:
                    text = text[:-1]
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            if text.startswith("\ufeff") and sink.tell() == 0:
                text = text[1:]
            sink.write(text.encode("utf-8"))
            if final:
                break
    return out


def _sniff_delimiter(header: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_names(raw: list[str], renamed: list[tuple[str, str]]) -> list[str]:
    """Header names, trimmed; empty ones named ``column_N``, repeated ones ``name_2`` …"""
    names: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(raw, start=1):
        base = name.strip() or f"column_{i}"
        candidate, n = base, 2
        while candidate in seen or candidate == ROW_COLUMN:
            candidate, n = f"{base}_{n}", n + 1
        if candidate != name:
            renamed.append((f"header {i} {name!r}", candidate))
        seen.add(candidate)
        names.append(candidate)
    return names


_COMMA_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)\.\d+$")


def _sniff_decimal(rows: list[list[str]], delimiter: str) -> str:
    """',' when the sample's numbers are written with a decimal comma (and the delimiter is
    not a comma), else '.'. Each column votes once (a column of dotted codes such as HS
    `8517.13` is outvoted by the value, mass and tax columns)."""
    if delimiter == ",":
        return "."
    width = max((len(r) for r in rows), default=0)
    comma = dot = 0
    for index in range(width):
        values = [r[index].strip() for r in rows if len(r) > index]
        commas = sum(1 for v in values if _COMMA_DECIMAL.match(v))
        dots = sum(1 for v in values if _DOT_DECIMAL.match(v))
        if commas > dots:
            comma += 1
        elif dots > commas:
            dot += 1
    return "," if comma > dot else "."


@dataclass
class _Plan:
    """The outcome of the structural scan of a delimited file, published as it grows.

    ``spans``: what a cleaned copy holds, in order — ``(start, end)`` byte ranges of the file or
    ``(offset, text)`` records re-written in canonical quoting; ``lines`` / ``offsets``: the
    first line and byte offset of each good record; ``anomaly``: how many good records precede
    the first record that is not read as it stands in the file (None while there is none).
    """

    spans: list[tuple[int, int | bytes]] = field(default_factory=list)
    lines: list[np.ndarray] = field(default_factory=list)
    offsets: list[np.ndarray] = field(default_factory=list)
    malformed: list[Problem] = field(default_factory=list)
    good: int = 0
    anomaly: int | None = None
    done: bool = False
    error: BaseException | None = None
    longest: int = 0  # longest good record, bytes
    stopped: bool = False  # the reader was abandoned: the scan stops
    multiline: bool = False  # some record holds a line break inside quotes
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add_span(self, start: int, end: int) -> None:
        if end <= start:
            return
        last = self.spans[-1] if self.spans else None
        if last is not None and isinstance(last[1], int) and last[1] == start:
            self.spans[-1] = (last[0], end)
        else:
            self.spans.append((start, end))

    def publish(self, lines: np.ndarray, offsets: np.ndarray) -> None:
        with self.changed:
            self.lines.append(lines)
            self.offsets.append(offsets)
            self.good += len(lines)
            self.changed.notify_all()

    def mark_anomaly(self) -> None:
        with self.changed:
            if self.anomaly is None:
                self.anomaly = self.good
            self.changed.notify_all()

    def finish(self, error: BaseException | None = None) -> None:
        with self.changed:
            self.done, self.error = True, error
            self.changed.notify_all()

    def wait_good(self, good: int) -> tuple[int, bool]:
        """Block until ``good`` good records are published or the scan is done; returns the
        number published and whether the scan is done."""
        with self.changed:
            while self.good < good and not self.done:
                self.changed.wait()
            if self.error is not None:
                raise self.error
            return self.good, self.done

    def wait(self, good: int) -> int:
        """Block until ``good`` records are vouched for, or fewer will ever be; returns how
        many records (from the first) can be read as they stand in the file."""
        with self.changed:
            while self.good < good and self.anomaly is None and not self.done:
                self.changed.wait()
            if self.error is not None:
                raise self.error
            return self.anomaly if self.anomaly is not None else self.good


class _CsvScanner:
    """The structural scan (see module docstring) over a UTF-8 buffer."""

    def __init__(
        self,
        data: mmap.mmap | bytes,
        start: int,
        ncols: int,
        delimiter: str,
        quote: str,
        max_field_bytes: int,
        source: str,
    ) -> None:
        self.data = data
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.size = len(self.buf)
        self.start = start
        self.ncols = ncols
        self.delim = ord(delimiter)
        self.quote = ord(quote)
        self.delimiter = delimiter
        self.quotechar = quote
        self.max_field_bytes = max_field_bytes
        self.source = source

    def release(self) -> None:
        """Drop the views of the buffer (so that the memory map can be closed)."""
        self.buf = np.empty(0, dtype=np.uint8)

    def run(self, plan: _Plan, first_line: int, max_records: int | None = None) -> None:
        """Scan the whole file into ``plan`` (then marked done, or failed with the error)."""
        try:
            self._run(plan, first_line, max_records)
        except BaseException as exc:
            plan.finish(exc)
            raise
        plan.finish()

    def _run(self, plan: _Plan, first_line: int, max_records: int | None) -> None:
        pos, line, window = self.start, first_line, 1 << 20
        records = 0
        while pos < self.size and not plan.stopped:
            if max_records is not None and records >= max_records:
                break
            end = min(self.size, pos + window)
            found = self._window(pos, end, line, plan)
            if found is None:  # no complete record in the window: widen it
                if end == self.size:
                    break
                window *= 2
                continue
            pos, line, good, clean = found
            records += good
            _release(self.data, pos - (1 << 20))
            window = min(window * 2, 8 << 20) if clean else 1 << 15

    def _window(
        self, s: int, e: int, line: int, plan: _Plan
    ) -> tuple[int, int, int, bool] | None:
        """Scan records starting at ``s`` in ``[s, e)``; returns (next position, next line,
        good records, whether the window was clean), None if no record ends in it."""
        at_eof = e == self.size
        w = self.buf[s:e]
        # The quote parity of every byte (1 inside a quoted field; the window starts at a
        # record start): a newline outside quotes ends a record, a delimiter outside quotes
        # separates fields.
        is_q = w == self.quote
        qpos = np.flatnonzero(is_q)
        is_nl = w == 10
        quoted_newlines = False
        if len(qpos):
            inside = np.bitwise_xor.accumulate(is_q.view(np.uint8)).view(bool)
            # a > b on booleans is "a and not b", in one pass
            ends = np.flatnonzero(np.greater(is_nl, inside))
            dpos = np.flatnonzero(np.greater(w == self.delim, inside))
            quoted_newlines = int(np.count_nonzero(is_nl)) != len(ends)
            if quoted_newlines:
                plan.multiline = True
        else:
            ends = np.flatnonzero(is_nl)
            dpos = np.flatnonzero(w == self.delim)
        open_at_end = bool(len(qpos) & 1)
        tail = len(w) - (int(ends[-1]) + 1 if len(ends) else 0)
        final_record = at_eof and tail > 0
        if not len(ends) and not final_record:
            return None
        if final_record:
            ends = np.append(ends, len(w))  # a virtual end past the last byte
        n = len(ends)
        starts = np.empty(n, dtype=np.int64)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        at_end = np.searchsorted(dpos, ends)
        before = np.concatenate(([0], at_end[:-1]))
        fields = at_end - before + 1
        lengths = ends - starts
        blank = (lengths == 0) | ((lengths == 1) & (w[np.minimum(starts, len(w) - 1)] == 13))
        bad = ~blank & ((fields != self.ncols) | (lengths > self.max_field_bytes))
        if final_record and open_at_end:
            bad[-1] = True
        if len(qpos):
            # An opening quote must start a field; a closing one must end it (or be doubled).
            opening = (np.arange(len(qpos)) & 1) == 0
            prev = np.where(qpos > 0, w[np.maximum(qpos - 1, 0)], 10)
            nxt_index = qpos + 1
            nxt = np.where(nxt_index < len(w), w[np.minimum(nxt_index, len(w) - 1)], 10)
            good_open = (prev == self.delim) | (prev == 10) | (prev == self.quote)
            good_close = (nxt == self.delim) | (nxt == 10) | (nxt == 13) | (nxt == self.quote)
            misplaced = qpos[(opening & ~good_open) | (~opening & ~good_close)]
            misplaced = misplaced[misplaced <= ends[-1]]
            if len(misplaced):
                bad[np.minimum(np.searchsorted(ends, misplaced), n - 1)] = True
        # Invalid UTF-8: the decoder is as fast as a scan for non-ASCII bytes.
        try:
            codecs.utf_8_decode(self.data[s : s + int(min(ends[-1] + 1, len(w)))], None, True)
        except UnicodeDecodeError as exc:
            bad[min(int(np.searchsorted(ends, exc.start)), n - 1)] = True
        # Line numbers: every newline counts; only quoted ones are not record ends.
        nl_pos = np.flatnonzero(is_nl) if quoted_newlines else ends[ends < len(w)]
        first_lines = line + np.searchsorted(nl_pos, starts)
        bad_index = np.flatnonzero(bad)
        record_ends = s + np.minimum(ends + 1, len(w))  # byte after each record
        first = 0  # the next record of the window to hand on
        good = 0
        for cut in [*bad_index.tolist(), n]:
            if cut > first:
                keep = ~blank[first:cut]
                plan.add_span(s + int(starts[first]), int(record_ends[cut - 1]))
                plan.longest = max(plan.longest, int(lengths[first:cut].max()))
                plan.publish(first_lines[first:cut][keep], s + starts[first:cut][keep])
                good += int(keep.sum())
            if cut == n:
                stop = int(ends[-1]) + 1
                return (
                    s + min(stop, len(w)),
                    line + int(np.searchsorted(nl_pos, stop)),
                    good,
                    True,
                )
            # A flagged record: read it alone with the csv module.
            only_size = bool(fields[cut] == self.ncols) and bool(
                lengths[cut] > self.max_field_bytes
            )
            next_pos, next_line = self._slow(
                s + int(starts[cut]),
                int(first_lines[cut]),
                int(record_ends[cut]) if only_size else None,
                plan,
            )
            if next_pos != int(record_ends[cut]):
                # The csv module ended elsewhere (an unterminated quote): the quote parity of
                # the rest of this window is wrong; scan again from where it resumed.
                return next_pos, next_line, good, False
            first = cut + 1  # in step: the window's next records stand as scanned
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the slow path: one record, Python's csv module --------------------------------------
    def _lines(self, pos: int, limit: int) -> Iterator[tuple[int, bytes]]:
        data = self.data
        while pos < self.size and pos < limit:
            nl = data.find(b"\n", pos)
            stop = self.size if nl < 0 else nl + 1
            yield pos, bytes(data[pos:stop])
            pos = stop

    def _slow(self, pos: int, line: int, known_end: int | None, plan: _Plan) -> tuple[int, int]:
        """Read the record at ``pos`` (line ``line``); keep or quarantine it; return where the
        scan resumes (position, line)."""
        limit = known_end if known_end is not None else pos + 2 * self.max_field_bytes + 65536
        consumed: list[tuple[int, bytes]] = []
        decode_error: str | None = None

        def text_lines() -> Iterator[str]:
            nonlocal decode_error
            for start, raw in self._lines(pos, limit):
                consumed.append((start, raw))
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    decode_error = (
                        f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                        "set `csv: {encoding: …}` in the profile if the file is not UTF-8"
                    )
                    return

        previous_limit = csv.field_size_limit()
        csv.field_size_limit(max(previous_limit, self.max_field_bytes + 1))
        reader = csv.reader(
            text_lines(),
            delimiter=self.delimiter,
            quotechar=self.quotechar,
            doublequote=True,
            strict=True,
        )
        record: list[str] | None = None
        error: str | None = None
        try:
            record = next(reader)
        except StopIteration:
            record = None
        except csv.Error as exc:
            error = str(exc)
        finally:
            csv.field_size_limit(previous_limit)
        if decode_error is not None:
            return self._reject_span(
                consumed, line, f"{_span(line, len(consumed))}: {decode_error}", plan
            )
        used = consumed[: reader.line_num] if record is not None else consumed
        if record is not None:
            end_pos = used[-1][0] + len(used[-1][1]) if used else pos
            span = f"lines {line}-{line + len(used) - 1}" if len(used) > 1 else f"line {line}"
            too_long = [
                i for i, v in enumerate(record, 1) if len(v.encode("utf-8")) > self.max_field_bytes
            ]
            if too_long:
                return self._reject_span(
                    used, line,
                    f"{span}: field {too_long[0]} is longer than the limit of "
                    f"{self.max_field_bytes:,} bytes (`csv: {{max_field_bytes: …}}`)",
                    plan,
                )
            if len(record) != self.ncols:
                return self._reject_span(
                    used, line,
                    f"{span}: {len(record)} fields, expected {self.ncols} (ragged row)",
                    plan,
                )
            # A good record the fast scan could not vouch for: re-written in canonical quoting.
            out = io.StringIO()
            csv.writer(
                out, delimiter=self.delimiter, quotechar=self.quotechar, lineterminator="\n"
            ).writerow(record)
            text = out.getvalue().encode("utf-8")
            plan.mark_anomaly()
            plan.spans.append((pos, text))
            plan.longest = max(plan.longest, len(text))
            plan.publish(np.array([line], dtype=np.int64), np.array([pos], dtype=np.int64))
            return end_pos, line + len(used)
        assert error is not None
        first = consumed[:1]
        if "field larger than field limit" in error:
            if known_end is not None:
                return self._reject_span(
                    consumed, line,
                    f"{_span(line, len(consumed))}: a field is longer than the limit of "
                    f"{self.max_field_bytes:,} bytes (`csv: {{max_field_bytes: …}}`)",
                    plan,
                )
            return self._reject_span(
                first, line,
                f"line {line}: a field is longer than the limit of {self.max_field_bytes:,} "
                "bytes (`csv: {max_field_bytes: …}`)",
                plan,
            )
        if "unexpected end of data" in error or "EOF" in error:
            opener = first[0][1] if first else b""
            rest_start = first[0][0] + len(opener) if first else pos
            after_quote = opener.rfind(self.quotechar.encode())
            rest = self.data.find(self.quotechar.encode(), rest_start)
            if rest < 0 and after_quote >= 0:
                # No quote anywhere after: the last record is cut off inside its quoted field.
                every = list(self._lines(pos, self.size))
                return self._reject_span(
                    every, line,
                    f"{_span(line, len(every))}: the file ends inside a quoted field "
                    "(the last record is cut off; unterminated quote)",
                    plan,
                )
            return self._reject_span(
                first, line, f"line {line}: unterminated quote (a quote opens a field and "
                "never closes)", plan,
            )
        opener_text = first[0][1] if first else b""
        if opener_text.count(self.quotechar.encode()) % 2:
            what = "unterminated quote (a quoted field opens on this line and never closes)"
        else:
            what = f"misplaced quote ({error})"
        return self._reject_span(first, line, f"line {line}: {what}", plan)

    def _reject_span(
        self, used: list[tuple[int, bytes]], line: int, reason: str, plan: _Plan
    ) -> tuple[int, int]:
        raw = b"".join(part for _, part in used)
        plan.malformed.append(
            Problem(
                field="<record>",
                value=raw.decode("utf-8", errors="replace").rstrip("\r\n")[:2000],
                reason=f"malformed CSV {reason}",
                row=line,
                source=self.source,
            )
        )
        plan.mark_anomaly()
        end = used[-1][0] + len(used[-1][1]) if used else self.size
        return end, line + max(len(used), 1)


def _release(data: mmap.mmap | bytes, end: int, start: int = 0) -> None:
    """Let the pages of ``data`` in ``[start, end)`` leave this process's memory (they stay in
    the page cache and come back if read again): a large file never sits in our RSS whole."""
    if not isinstance(data, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED"):
        return
    first = (max(start, 0) // mmap.PAGESIZE) * mmap.PAGESIZE
    last = (min(end, len(data)) // mmap.PAGESIZE) * mmap.PAGESIZE
    if last > first:
        with contextlib.suppress(OSError, ValueError):
            data.madvise(mmap.MADV_DONTNEED, first, last - first)


def _span(line: int, count: int) -> str:
    return f"lines {line}-{line + count - 1}" if count > 1 else f"line {line}"


def _header(data: mmap.mmap | bytes, start: int, delimiter: str | None, quote: str,
            path: Path) -> tuple[list[str], str, int, int]:
    """The header record: its fields, the delimiter, the byte offset after it, its lines."""
    pos, lines_used = start, 0
    chunks: list[str] = []
    while True:
        nl = data.find(b"\n", pos)
        stop = len(data) if nl < 0 else nl + 1
        piece = bytes(data[pos:stop])
        pos, lines_used = stop, lines_used + 1
        try:
            chunks.append(piece.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{path.name}: the header is not valid text ({exc})") from exc
        text = "".join(chunks)
        if text.count(quote) % 2 == 0 or pos >= len(data) or lines_used > 50:
            break
    text = "".join(chunks)
    if not text.strip():
        raise ValidationError(f"{path.name}: file holds no header (only blank content)")
    delim = delimiter or _sniff_delimiter(text.splitlines()[0], path)
    try:
        row = next(csv.reader([text.rstrip("\r\n")], delimiter=delim, quotechar=quote,
                              strict=True))
    except csv.Error as exc:
        raise ValidationError(f"{path.name}: line 1 (the header) is malformed: {exc}") from exc
    return row, delim, pos, lines_used


def _open_csv(
    path: Path,
    *,
    batch_rows: int,
    delimiter: str | None,
    encoding: str,
    quote: str,
    decimal: str,
    max_field_bytes: int,
    max_records: int | None,
) -> SourceScan:
    with path.open("rb") as handle:
        sample = handle.read(4 << 20)
    chosen = _encoding_of(sample, len(sample) < 4 << 20) if encoding == "auto" else encoding
    codec = _codec_name(chosen, path)
    _check_not_binary(path, sample, codec)
    folder = Path(tempfile.mkdtemp(prefix="clearlane-read-"))
    notes: list[str] = []
    try:
        source = path
        fix_newlines = _needs_newline_fix(path)
        if codec not in ("utf-8",) or fix_newlines:
            source = _transcode(path, codec, folder, fix_newlines)
            if fix_newlines:
                notes.append("line endings: lone CR (old Mac / mixed) read as line breaks")
        handle = source.open("rb")
        if source.stat().st_size == 0:
            handle.close()
            raise ValidationError(f"{path.name}: file holds no header (only a byte-order mark)")
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        start = 3 if data[:3] == codecs.BOM_UTF8 else 0
        raw_names, delim, body, header_lines = _header(data, start, delimiter, quote, path)
        if len(delim) != 1 or len(quote) != 1:
            raise ValidationError(f"{path.name}: delimiter and quote must be one character")
        renamed: list[tuple[str, str]] = []
        names = _header_names(raw_names, renamed)
        sample_rows = _sample_rows(data, body, delim, quote)
        used_decimal = _sniff_decimal(sample_rows, delim) if decimal == "auto" else decimal
        scanner = _CsvScanner(data, body, len(names), delim, quote, max_field_bytes, path.name)
    except BaseException:
        data.close()
        handle.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    scan = SourceScan(
        path=path,
        format="csv",
        columns=names,
        encoding=codec,
        delimiter=delim,
        decimal=used_decimal,
        notes=notes,
        renamed=renamed,
    )

    def batches() -> Iterator[pa.Table]:
        plan = _Plan()
        thread = threading.Thread(
            target=_quietly(scanner.run), args=(plan, 1 + header_lines, max_records),
            name="clearlane-csv-scan", daemon=True,
        )
        thread.start()
        reader = _CsvBatches(plan, names, delim, quote, batch_rows, max_records, path.name)
        try:
            # Optimistic: DuckDB streams the file as it stands while the scan vouches for each
            # record; at the first record that needs the tolerant path, the rest is read from
            # a cleaned copy. (A file flagged in its first window goes to the copy at once.)
            if plan.wait(1) > 0 or (plan.done and plan.anomaly is None):
                yield from reader.stream(source, 0, None)
            # The rest, from cleaned copies of consecutive segments: each is written and read
            # while the scan goes on with the next one.
            segment = folder / "segment.csv"
            size = max(_SEGMENT_RECORDS // 4, 1)  # a small first segment starts reading early
            while True:
                good, done = plan.wait_good(reader.taken + size + 1)
                size = min(size * 2, _SEGMENT_RECORDS)
                total = good if max_records is None else min(good, max_records)
                stop = total if done else min(total, good - 1)  # cut before a known record
                if stop > reader.taken:
                    offsets = np.concatenate(plan.offsets)
                    start = int(offsets[reader.taken])
                    end = int(offsets[stop]) if stop < len(offsets) else None
                    _write_copy(segment, data, plan, start, end, names, delim, quote)
                    first = reader.taken
                    yield from reader.stream(segment, first, stop, longest=plan.longest)
                    if reader.taken != stop:
                        break
                if done and reader.taken >= total:
                    break
            thread.join()
            scan.malformed.extend(plan.malformed)
            scan.records = total + len(plan.malformed)
            if reader.taken > reader.seen:
                yield reader.flush()
            if reader.seen != total:
                raise ValidationError(
                    f"{path.name}: internal reader mismatch ({reader.seen} records read, "
                    f"{total} expected); please report this file"
                )
        finally:
            plan.stopped = True  # an abandoned read ends the scan too
            thread.join()
            _close_csv(scanner, data, handle, folder)

    scan._batches = batches()
    # Also when the batches are never read (the file did not match the profile, say).
    weakref.finalize(scan, _close_csv, scanner, data, handle, folder)
    return scan


def _close_csv(scanner: _CsvScanner, data: mmap.mmap, handle: Any, folder: Path) -> None:
    """Unmap and close the file and remove the reader's temporary folder (idempotent)."""
    scanner.release()
    with contextlib.suppress(BufferError, ValueError):
        data.close()
    handle.close()
    shutil.rmtree(folder, ignore_errors=True)


def _sample_rows(data: mmap.mmap | bytes, body: int, delim: str, quote: str) -> list[list[str]]:
    text = bytes(data[body:body + 65536]).decode("utf-8", errors="replace")
    lines = text.split("\n")[:-1] if len(data) > body + 65536 else text.split("\n")
    with contextlib.suppress(csv.Error):
        return list(csv.reader(lines[:500], delimiter=delim, quotechar=quote))
    return []


def _quietly(fn: Any) -> Any:
    """``fn`` for a thread whose errors are handed over through the plan."""

    def run(*args: Any) -> None:
        with contextlib.suppress(BaseException):
            fn(*args)

    return run


def _write_copy(
    target: Path,
    data: mmap.mmap | bytes,
    plan: _Plan,
    cut: int,
    end: int | None,
    names: list[str],
    delim: str,
    quote: str,
) -> None:
    """The good records from byte offset ``cut`` up to ``end`` (a record start, or None for
    all that the scan has published), after a canonical header."""
    with plan.changed:
        spans = list(plan.spans)
    limit = len(data) if end is None else end
    with target.open("wb") as out:
        header = io.StringIO()
        csv.writer(header, delimiter=delim, quotechar=quote, lineterminator="\n").writerow(names)
        out.write(header.getvalue().encode("utf-8"))
        for start, part in spans:
            if start >= limit:
                break
            if isinstance(part, bytes):
                if start >= cut:
                    out.write(part)
                continue
            if part <= cut:
                continue
            stop = min(part, limit)
            out.write(data[max(start, cut) : stop])
            if data[stop - 1 : stop] != b"\n":
                out.write(b"\n")
            _release(data, stop, max(start, cut))


class _CsvBatches:
    """DuckDB's CSV reader over a file whose records the scan vouches for, numbered by line."""

    def __init__(
        self,
        plan: _Plan,
        names: list[str],
        delim: str,
        quote: str,
        batch_rows: int,
        max_records: int | None,
        source: str,
    ) -> None:
        self.plan = plan
        self.names = names
        self.delim = delim
        self.quote = quote
        self.batch_rows = batch_rows
        self.max_records = max_records
        self.source = source
        self.seen = 0  # records yielded so far
        self._pending: list[pa.RecordBatch] = []
        self._lines = np.empty(0, dtype=np.int64)  # lines of records seen.. (not yet yielded)
        self._chunks = 0

    def _line_numbers(self, n: int) -> np.ndarray:
        """The first lines of the next ``n`` records (which the scan has published)."""
        while len(self._lines) < n:
            with self.plan.changed:
                new = self.plan.lines[self._chunks :]
            self._chunks += len(new)
            self._lines = np.concatenate([self._lines, *new])
        taken, self._lines = self._lines[:n], self._lines[n:]
        return taken

    def stream(
        self, target: Path, first: int, total: int | None, longest: int = 0
    ) -> Iterator[pa.Table]:
        """Yield ``target``'s records as batches (record ``first`` of the file is its first).

        ``total`` None: optimistic — stop before the first record the scan does not vouch for
        (or at a reader error), leaving the rest to a cleaned copy."""
        con = duckdb.connect()
        optimistic = total is None
        # DuckDB's parallel reader refuses some files with line breaks inside quotes; the
        # single-threaded one reads them (and is used at once when the scan saw any).
        parallel = optimistic or not self.plan.multiline
        try:
            con.execute("SET preserve_insertion_order = true")
            con.execute("SET enable_progress_bar = false")  # never print from a library
            # The reader only streams: keep its buffers small.
            con.execute("SET memory_limit = '512MB'")
            reader: pa.RecordBatchReader | None = None
            read_here = 0
            while True:
                try:
                    if reader is None:
                        query = self._query(target, first, longest, parallel)
                        reader = con.sql(query).to_arrow_reader(min(self.batch_rows, 65_536))
                    record_batch = reader.read_next_batch()
                except StopIteration:
                    break
                except (duckdb.Error, pa.ArrowException, OSError) as exc:
                    # (pyarrow hands a DuckDB error over as an OSError / ArrowException)
                    if optimistic:
                        break  # the cleaned copy takes over from the last vouched record
                    if parallel and read_here == 0 and "parallel" in str(exc).lower():
                        parallel, reader = False, None
                        continue
                    raise ValidationError(
                        f"{self.source}: cannot read as csv: {_short(exc)}"
                    ) from exc
                read_here += record_batch.num_rows
                if optimistic:
                    limit = self.plan.wait(self.taken + record_batch.num_rows)
                    room = limit - self.taken
                    if room < record_batch.num_rows:
                        if room > 0:
                            self._pending.append(record_batch.slice(0, room))
                        break
                self._pending.append(record_batch)
                if self.taken - self.seen >= self.batch_rows:
                    yield self.flush()
        except duckdb.Error as exc:
            raise ValidationError(f"{self.source}: cannot read as csv: {_short(exc)}") from exc
        finally:
            con.close()

    def _query(self, target: Path, first: int, longest: int, parallel: bool) -> str:
        columns = "{" + ", ".join(f"{_quote(n)}: 'VARCHAR'" for n in self.names) + "}"
        options = [
            "header = true",
            "auto_detect = false",
            f"columns = {columns}",
            f"delim = {_quote(self.delim)}",
            f"quote = {_quote(self.quote)}",
            f"escape = {_quote(self.quote)}",
            "strict_mode = true",  # every record it reads is vouched for (canonical quoting)
            f"max_line_size = {max(2_097_152, longest + 4096)}",
            "encoding = 'utf-8'",
            f"parallel = {'true' if parallel else 'false'}",
        ]
        query = f"SELECT * FROM read_csv({_quote(str(target))}, {', '.join(options)})"
        if self.max_records is not None:
            query += f" LIMIT {max(int(self.max_records) - first, 0)}"
        return query

    @property
    def taken(self) -> int:
        """Records read so far (yielded, or waiting to fill a batch)."""
        return self.seen + sum(b.num_rows for b in self._pending)

    def flush(self) -> pa.Table:
        """The records waiting, as one numbered batch (batches gather across segments)."""
        table = pa.Table.from_batches(self._pending)
        self._pending = []
        rows = self._line_numbers(table.num_rows)
        self.seen += table.num_rows
        return table.append_column(ROW_COLUMN, pa.array(rows))


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def _gathered(
    relation: duckdb.DuckDBPyRelation,
    batch_rows: int,
    numbers: Any,
    source: str,
) -> Iterator[pa.Table]:
    """DuckDB hands out small record batches; gather them up to ``batch_rows`` so that
    per-batch work (validation, the duplicate check) runs on large vectors."""
    seen = 0

    def numbered(batches: list[pa.RecordBatch]) -> pa.Table:
        nonlocal seen
        table = pa.Table.from_batches(batches)
        rows = np.asarray(numbers(seen, table.num_rows), dtype=np.int64)
        if len(rows) != table.num_rows:
            raise ValidationError(
                f"{source}: internal reader mismatch ({table.num_rows} records read, "
                f"{len(rows)} expected); please report this file"
            )
        seen += table.num_rows
        return table.append_column(ROW_COLUMN, pa.array(rows))

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


# -- Parquet ---------------------------------------------------------------------------------


def _open_parquet(path: Path, batch_rows: int) -> SourceScan:
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET memory_limit = '512MB'")
    source = f"(SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_parquet({_quote(str(path))}))"
    try:
        relation = con.sql(f"SELECT * FROM {source}")
        columns = list(relation.columns)
    except duckdb.Error as exc:
        con.close()
        raise ValidationError(f"{path.name}: cannot read as parquet: {_short(exc)}") from exc
    scan = SourceScan(path=path, format="parquet", columns=columns)

    def batches() -> Iterator[pa.Table]:
        try:
            yield from _gathered(
                relation, batch_rows, lambda seen, n: np.arange(seen + 1, seen + 1 + n), path.name
            )
        except duckdb.Error as exc:
            raise ValidationError(f"{path.name}: cannot read as parquet: {_short(exc)}") from exc
        finally:
            con.close()

    scan._batches = batches()
    return scan


# -- JSON Lines ------------------------------------------------------------------------------


def _scalar_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Number(str):
    """A JSON number kept as its source text (``1e400`` stays ``1e400``)."""


def _json_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    with path.open("r", encoding=encoding, newline="") as handle:
        yield from enumerate(handle, start=1)


def _open_jsonl(path: Path, batch_rows: int, encoding: str, max_records: int | None) -> SourceScan:
    with path.open("rb") as handle:
        sample = handle.read(4 << 20)
    chosen = _encoding_of(sample, len(sample) < 4 << 20) if encoding == "auto" else encoding
    codec = _codec_name(chosen, path)
    _check_not_binary(path, sample, codec)
    if codec == "utf-8":
        codec = "utf-8-sig"
    head = sample.decode(codec, errors="replace").lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        raise ValidationError(
            f"{path.name}: a JSON array, not JSON Lines; write one object per line "
            "(for example with `jq -c '.[]'`)"
        )
    keys: dict[str, None] = {}
    try:
        for count, (_, text) in enumerate(_json_lines(path, codec)):
            if max_records is not None and count >= max_records:
                break
            with contextlib.suppress(ValueError):
                parsed = json.loads(text) if text.strip() else None
                if isinstance(parsed, dict):
                    for key in parsed:
                        keys.setdefault(str(key), None)
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path.name}: cannot be decoded as {codec} ({exc.reason}); set the encoding"
        ) from exc
    columns = [k for k in keys if k != ROW_COLUMN]
    scan = SourceScan(path=path, format="jsonl", columns=columns, encoding=codec)

    def batches() -> Iterator[pa.Table]:
        values: dict[str, list[str | None]] = {k: [] for k in columns}
        rows: list[int] = []
        records = 0

        def flush() -> pa.Table:
            arrays = [pa.array(values[k], type=pa.string()) for k in columns]
            table = pa.Table.from_arrays([*arrays, pa.array(rows, type=pa.int64())],
                                         names=[*columns, ROW_COLUMN])
            for k in columns:
                values[k] = []
            rows.clear()
            return table

        for number, text in _json_lines(path, codec):
            if not text.strip():
                continue
            if max_records is not None and records >= max_records:
                break
            records += 1
            try:
                parsed = json.loads(
                    text, parse_float=_Number, parse_int=_Number, parse_constant=_Number
                )
            except ValueError as exc:
                scan.malformed.append(_json_problem(text, number, f"not valid JSON ({exc})",
                                                    path.name))
                continue
            if not isinstance(parsed, dict):
                scan.malformed.append(_json_problem(
                    text, number, f"a JSON {type(parsed).__name__}, not an object", path.name))
                continue
            nested_source: dict[str, Any] | None = None
            for k in columns:
                value = parsed.get(k)
                if isinstance(value, (dict, list)):
                    # A nested value is kept as its JSON text, with numbers as JSON numbers.
                    if nested_source is None:
                        nested_source = json.loads(text)
                    values[k].append(json.dumps(nested_source[k], ensure_ascii=False))
                else:
                    values[k].append(_scalar_text(value))
            rows.append(number)
            if len(rows) >= batch_rows:
                yield flush()
        scan.records = records
        if rows:
            yield flush()

    scan._batches = batches()
    return scan


def _json_problem(text: str, line: int, reason: str, source: str) -> Problem:
    return Problem(
        field="<record>",
        value=text.rstrip("\r\n")[:2000],
        reason=f"malformed JSON line {line}: {reason}",
        row=line,
        source=source,
    )


# -- Excel -----------------------------------------------------------------------------------


def _open_excel(path: Path, sheet: str | None, batch_rows: int) -> SourceScan:
    import fastexcel  # the engine behind pl.read_excel; its errors name what is wrong

    try:
        frame = pl.read_excel(
            path,
            sheet_name=sheet,
            engine="calamine",
            infer_schema_length=0,
        )
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise ValidationError(f"{path.name}: cannot read as xlsx: {_short(exc)}") from exc
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


__all__ = [
    "DEFAULT_MAX_FIELD_BYTES",
    "ROW_COLUMN",
    "SourceScan",
    "detect_encoding",
    "detect_format",
    "open_source",
]
