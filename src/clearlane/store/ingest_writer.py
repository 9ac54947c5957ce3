"""Write one ingest batch into the workspace inside a single transaction.

Validated rows are written batch by batch straight into the permanent tables of an open
transaction; until it commits nothing is visible, and a crash leaves the store as it was.
Each (declaration_id, item_no) is stored once: a key seen again (earlier in the same file or
in an earlier file) with the same content is a duplicate, with different content a conflict
that names the fields that differ and keeps the incoming row (JSON of its canonical values)
for review. Nothing is ever overwritten. Duplicates are counted per batch whose row they met
(``ingest_duplicates``), so that dropping a batch can tell which later batches rely on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from clearlane.schema.fields import DECLARATION_FIELDS, EXTRA_COLUMN, KEY_FIELDS
from clearlane.store.connection import Connection

_CANONICAL = [f.name for f in DECLARATION_FIELDS] + [EXTRA_COLUMN]
_COMPARED = [f.name for f in DECLARATION_FIELDS if f.name not in KEY_FIELDS] + [EXTRA_COLUMN]
_KEY = ", ".join(KEY_FIELDS)


@dataclass(frozen=True)
class BatchCounts:
    """What one ingest did: rows read, accepted (new), rejected, duplicate, conflicting, warned."""

    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_duplicate: int
    rows_conflict: int
    rows_warned: int


def differing_fields_sql(new: str, old: str, columns: Sequence[str] | None = None) -> str:
    """SQL expression: comma-separated names of the non-key fields that differ (NULL-aware);
    ``columns`` narrows the comparison (default: every canonical field and ``extra``)."""
    cases = ", ".join(
        f"CASE WHEN {new}.{c} IS DISTINCT FROM {old}.{c} THEN '{c}' END"
        for c in (_COMPARED if columns is None else columns)
    )
    return f"concat_ws(', ', {cases})"


def row_json_sql(alias: str) -> str:
    """SQL expression: the canonical values of row ``alias`` as one JSON object."""
    pairs = ", ".join(f"'{c}', {alias}.{c}" for c in _CANONICAL)
    return f"json_object({pairs})::VARCHAR"


def _json_pointer(column: str) -> str:
    """The JSON pointer of a top-level member named ``column`` (RFC 6901 escapes)."""
    return "/" + column.replace("~", "~0").replace("/", "~1")


class IngestWriter:
    """Writes validated batches on an open transaction connection; see module docstring."""

    def __init__(
        self,
        con: Connection,
        batch_id: str,
        source_file: str,
        key_columns: dict[str, str] | None = None,
        key_constants: dict[str, str] | None = None,
    ) -> None:
        """``key_columns`` maps ``declaration_id`` / ``item_no`` to the source column they are
        read from, ``key_constants`` to a constant: quarantined rows keep their key as written
        (when the raw row is readable), so a rejected row stored later can be recognised."""
        self.con = con
        self.batch_id = batch_id
        self.source_file = source_file
        self.key_columns = dict(key_columns or {})
        self.key_constants = dict(key_constants or {})
        self.rows_read = 0
        self.rows_valid = 0
        self.accepted = 0
        self.duplicates = 0
        self.conflicts = 0
        con.execute(
            "CREATE TEMP TABLE stage_norm (field VARCHAR, original VARCHAR, normalised VARCHAR, rows BIGINT)"
        )
        con.execute("CREATE TEMP TABLE stage_dups (existing_batch VARCHAR, rows BIGINT)")

    def write(
        self,
        valid: str,
        issues: pl.DataFrame,
        rejected: pl.DataFrame,
        normalisations: pl.DataFrame,
        rows_read: int,
        keys: str | None = None,
        staging: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        """Write one validated batch.

        ``valid`` names a table or view holding the accepted rows: the canonical columns,
        ``extra`` and ``source_row``, on the writer's connection or, when given, on
        ``staging`` (the in-memory DuckDB where a PostgreSQL store's batches are validated:
        the rows are then copied into the store first). ``keys``, optional, is a cheaper
        SQL query giving the same rows' key columns (by default they are read from ``valid``).
        """
        con = self.con
        if staging is not None and staging is not con:
            rows_table = staging.sql(
                f"SELECT {', '.join(_CANONICAL)}, source_row FROM {valid}").to_arrow_table()
            con.register("stage_valid", rows_table)
            valid, keys = "stage_valid", None
        self.rows_read += rows_read
        keys = keys or f"SELECT {_KEY} FROM {valid}"
        # Distinct key hashes prove the keys distinct; a hash collision only costs the
        # exact (pass-by-pass) path below.
        rows = con.execute(
            f"SELECT count(*), count(DISTINCT hash({_KEY})) FROM ({keys})"
        ).fetchall()
        total, distinct = (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)
        self.rows_valid += total
        if total == distinct:
            self._write_unique_keys(valid, total, keys)
        else:
            # A key repeated inside the batch is written first-come: later copies go in a
            # later pass, where they meet the first copy as an existing row.
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE stage_passes AS
                    SELECT *, row_number() OVER (PARTITION BY {_KEY} ORDER BY source_row) AS pass
                    FROM {valid}"""
            )
            passes = _count(con, "SELECT max(pass) FROM stage_passes")
            for number in range(1, passes + 1):
                con.execute(
                    "CREATE OR REPLACE TEMP VIEW stage_pass AS "
                    f"SELECT {', '.join(_CANONICAL)}, source_row FROM stage_passes "
                    f"WHERE pass = {number}"
                )
                size = _count(con, "SELECT count(*) FROM stage_pass")
                self._write_unique_keys("stage_pass", size)
            con.execute("DROP VIEW stage_pass")
            con.execute("DROP TABLE stage_passes")
        if issues.height:
            self.add_issues(issues)
        if rejected.height:
            self.add_quarantine(rejected)
        if normalisations.height:
            self._with_input("INSERT INTO stage_norm SELECT * FROM batch_input", normalisations)

    def _write_unique_keys(self, source: str, size: int, keys: str | None = None) -> None:
        """Store the rows of ``source`` (keys unique within it) whose key is new."""
        con = self.con
        columns = ", ".join(_CANONICAL)
        keys = keys or f"SELECT {_KEY} FROM {source}"
        # Keys only first: in the usual case no key exists yet and the full comparison
        # (which reads every column of every row) is skipped.
        matched = _count(con, f"SELECT count(*) FROM ({keys}) JOIN declarations USING ({_KEY})")
        conflicting = 0
        if matched:
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE stage_match AS
                    SELECT b.source_row, b.declaration_id, b.item_no, d.batch_id AS existing_batch,
                           d.source_row AS existing_row, {differing_fields_sql("b", "d")} AS differing
                    FROM {source} b JOIN declarations d USING ({_KEY})"""
            )
            conflicting = _count(con, "SELECT count(*) FROM stage_match WHERE differing <> ''")
            if conflicting:
                # the incoming row is read back only for the conflicts (usually none or few)
                con.execute(
                    f"""INSERT INTO conflicts (batch_id, source_file, source_row, declaration_id,
                                               item_no, existing_batch_id, existing_source_row,
                                               differing_fields, incoming)
                        SELECT ?, ?, m.source_row, m.declaration_id, m.item_no, m.existing_batch,
                               m.existing_row, m.differing, {row_json_sql("b")}
                        FROM stage_match m JOIN {source} b USING ({_KEY})
                        WHERE m.differing <> ''""",
                    [self.batch_id, self.source_file],
                )
            con.execute(
                "INSERT INTO stage_dups SELECT existing_batch, count(*) FROM stage_match "
                "WHERE differing = '' GROUP BY existing_batch"
            )
            con.execute(
                f"""INSERT INTO declarations ({columns}, batch_id, source_row)
                    SELECT {columns}, ?, source_row FROM {source} b
                    WHERE NOT EXISTS (SELECT 1 FROM stage_match m WHERE
                        m.declaration_id = b.declaration_id AND m.item_no = b.item_no)""",
                [self.batch_id],
            )
        else:
            con.execute(
                f"""INSERT INTO declarations ({columns}, batch_id, source_row)
                    SELECT {columns}, ?, source_row FROM {source}""",
                [self.batch_id],
            )
        self.accepted += size - matched
        self.duplicates += matched - conflicting
        self.conflicts += conflicting

    def _with_input(
        self, sql: str, frame: pl.DataFrame, params: list[object] | None = None
    ) -> None:
        """Run ``sql`` reading ``frame`` as the view ``batch_input`` (explicit, no name lookup)."""
        self.con.register("batch_input", frame.to_arrow())
        try:
            self.con.execute(sql, params or [])
        finally:
            self.con.unregister("batch_input")

    def add_issues(self, issues: pl.DataFrame) -> None:
        """Issues found outside row validation (e.g. malformed lines), already line-numbered."""
        if issues.height:
            self._with_input(
                "INSERT INTO ingest_issues (batch_id, source_file, source_row, field, value, "
                "reason, severity) SELECT ?, ?, source_row, field, value, reason, severity "
                "FROM batch_input",
                issues,
                [self.batch_id, self.source_file],
            )

    def add_quarantine(self, rejected: pl.DataFrame) -> None:
        """Quarantine rejected rows (``source_row``, ``raw``, ``reasons``) with their key."""
        if rejected.height:
            keys: list[str] = []
            params: list[object] = [self.batch_id, self.source_file]
            for name in KEY_FIELDS:
                if name in self.key_columns:
                    keys.append(
                        "CASE WHEN json_valid(raw) THEN "
                        "nullif(trim(json_extract_string(raw, ?)), '') END"
                    )
                    params.append(_json_pointer(self.key_columns[name]))
                elif name in self.key_constants:
                    keys.append("?")
                    params.append(self.key_constants[name])
                else:
                    keys.append("NULL")
            self._with_input(
                "INSERT INTO quarantine (batch_id, source_file, source_row, raw, reasons, "
                f"declaration_id, item_no) SELECT ?, ?, source_row, raw, reasons, {', '.join(keys)} "
                "FROM batch_input",
                rejected,
                params,
            )

    def finish(self, record: dict[str, object], malformed_rows: int = 0) -> BatchCounts:
        """Check that every row is accounted for, record normalisations and the batch."""
        con, batch = self.con, self.batch_id
        stored = _count(con, "SELECT count(*) FROM declarations WHERE batch_id = ?", [batch])
        if (
            stored != self.accepted
            or self.rows_valid != self.accepted + self.duplicates + self.conflicts
        ):
            # Never lose a row: every valid row is stored, a duplicate or a conflict.
            raise RuntimeError(
                f"ingest accounting mismatch: {self.rows_valid} valid rows, {stored} stored "
                f"({self.accepted} expected), {self.duplicates} duplicates, "
                f"{self.conflicts} conflicts; rolled back"
            )
        con.execute(
            """INSERT INTO normalisations (batch_id, field, original, normalised, rows)
               SELECT ?, field, original, normalised, sum(rows) FROM stage_norm
               GROUP BY field, original, normalised""",
            [batch],
        )
        con.execute(
            """INSERT INTO ingest_duplicates (batch_id, existing_batch_id, rows)
               SELECT ?, existing_batch, sum(rows) FROM stage_dups GROUP BY existing_batch""",
            [batch],
        )
        rejected = _count(con, "SELECT count(*) FROM quarantine WHERE batch_id = ?", [batch])
        warned = _count(
            con,
            "SELECT count(DISTINCT source_row) FROM ingest_issues WHERE batch_id = ? AND severity = 'warning'",
            [batch],
        )
        counts = BatchCounts(
            rows_read=self.rows_read + malformed_rows,
            rows_accepted=self.accepted,
            rows_rejected=rejected,
            rows_duplicate=self.duplicates,
            rows_conflict=self.conflicts,
            rows_warned=warned,
        )
        con.execute(
            """INSERT INTO ingest_batches (batch_id, source_file, file_sha256, file_bytes,
                   profile_name, profile_fingerprint, started_at, finished_at, rows_read,
                   rows_accepted, rows_rejected, rows_duplicate, rows_conflict, rows_warned)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                batch,
                self.source_file,
                record["file_sha256"],
                record["file_bytes"],
                record["profile_name"],
                record["profile_fingerprint"],
                record["started_at"],
                datetime.now(UTC),
                counts.rows_read,
                counts.rows_accepted,
                counts.rows_rejected,
                counts.rows_duplicate,
                counts.rows_conflict,
                counts.rows_warned,
            ],
        )
        for table in ("stage_norm", "stage_dups", "stage_match", "stage_passes", "stage_valid"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        return counts


def _count(con: Connection, sql: str, params: list[object] | None = None) -> int:
    rows = con.execute(sql, params or []).fetchall()
    row = rows[0] if rows else None
    return int(row[0]) if row else 0
