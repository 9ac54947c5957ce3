"""Write one ingest batch into the workspace inside a single transaction.

Rows are staged in temporary tables while the source streams; :meth:`IngestWriter.finish`
then resolves duplicates and conflicts and moves everything into the permanent tables. Until
the transaction commits nothing is visible, and a crash leaves the store as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from clearlane.schema.fields import DECLARATION_FIELDS, EXTRA_COLUMN, KEY_FIELDS, sql_type

_CANONICAL = [f.name for f in DECLARATION_FIELDS] + [EXTRA_COLUMN]
_HASHED = [f.name for f in DECLARATION_FIELDS if f.name not in KEY_FIELDS] + [EXTRA_COLUMN]


@dataclass(frozen=True)
class BatchCounts:
    """What one ingest did: rows read, accepted (new), rejected, duplicate, conflicting, warned."""

    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_duplicate: int
    rows_conflict: int
    rows_warned: int


def content_hash_sql() -> str:
    """SQL expression: md5 of every non-key canonical field, stable across versions."""
    parts = ", ".join(f"coalesce(CAST({c} AS VARCHAR), '\\N')" for c in _HASHED)
    return f"md5(concat_ws('\x1f', {parts}))"


class IngestWriter:
    """Stages batches on an open transaction connection; see module docstring."""

    def __init__(self, con: duckdb.DuckDBPyConnection, batch_id: str, source_file: str) -> None:
        self.con = con
        self.batch_id = batch_id
        self.source_file = source_file
        self.rows_read = 0
        columns = ", ".join(f"{f.name} {sql_type(f.kind)}" for f in DECLARATION_FIELDS)
        con.execute(
            f"CREATE TEMP TABLE stage_decl ({columns}, {EXTRA_COLUMN} VARCHAR, "
            "source_row BIGINT, content_hash VARCHAR)"
        )
        con.execute(
            "CREATE TEMP TABLE stage_issues AS SELECT source_row, field, value, reason, severity "
            "FROM ingest_issues WHERE false"
        )
        con.execute("CREATE TEMP TABLE stage_rejected (source_row BIGINT, raw VARCHAR, reasons VARCHAR)")
        con.execute(
            "CREATE TEMP TABLE stage_norm (field VARCHAR, original VARCHAR, normalised VARCHAR, rows BIGINT)"
        )

    def stage(
        self,
        accepted: pl.DataFrame,
        issues: pl.DataFrame,
        rejected: pl.DataFrame,
        normalisations: pl.DataFrame,
        rows_read: int,
    ) -> None:
        """Stage one validated batch (``accepted`` carries ``__row__`` as the source row)."""
        self.rows_read += rows_read
        columns = ", ".join(_CANONICAL)
        self._insert(
            f"INSERT INTO stage_decl ({columns}, source_row, content_hash) "
            f"SELECT {columns}, source_row, {content_hash_sql()} FROM batch_input",
            accepted.rename({"__row__": "source_row"}),
        )
        if issues.height:
            self._insert("INSERT INTO stage_issues SELECT * FROM batch_input", issues)
        if rejected.height:
            self._insert("INSERT INTO stage_rejected SELECT source_row, raw, reasons FROM batch_input", rejected)
        if normalisations.height:
            self._insert("INSERT INTO stage_norm SELECT * FROM batch_input", normalisations)

    def _insert(self, sql: str, frame: pl.DataFrame, params: list[object] | None = None) -> None:
        """Run ``sql`` reading ``frame`` as the view ``batch_input`` (explicit, no name lookup)."""
        self.con.register("batch_input", frame.to_arrow())
        try:
            self.con.execute(sql, params or [])
        finally:
            self.con.unregister("batch_input")

    def renumber_csv_lines(self, malformed_lines: list[int]) -> None:
        """Turn record numbers into file line numbers (header = line 1), skipping malformed lines."""
        self.con.execute("CREATE TEMP TABLE stage_thresholds (t BIGINT)")
        if malformed_lines:
            rows = [(line - 2 - j,) for j, line in enumerate(sorted(malformed_lines))]
            self.con.executemany("INSERT INTO stage_thresholds VALUES (?)", rows)
        for table in ("stage_decl", "stage_issues", "stage_rejected"):
            if malformed_lines:
                self.con.execute(
                    f"UPDATE {table} SET source_row = source_row + 1 + "
                    f"(SELECT count(*) FROM stage_thresholds WHERE t < {table}.source_row)"
                )
            else:
                self.con.execute(f"UPDATE {table} SET source_row = source_row + 1")

    def add_issues(self, issues: pl.DataFrame) -> None:
        """Issues found outside row validation (e.g. malformed lines), already line-numbered."""
        if issues.height:
            self._insert(
                "INSERT INTO ingest_issues SELECT ?, ?, source_row, field, value, reason, severity "
                "FROM batch_input",
                issues,
                [self.batch_id, self.source_file],
            )

    def add_quarantine(self, rejected: pl.DataFrame) -> None:
        if rejected.height:
            self._insert(
                "INSERT INTO quarantine SELECT ?, ?, source_row, raw, reasons FROM batch_input",
                rejected,
                [self.batch_id, self.source_file],
            )

    def finish(self, record: dict[str, object], malformed_rows: int = 0) -> BatchCounts:
        """Resolve duplicates and conflicts, move staged rows into place, record the batch."""
        con, batch, source = self.con, self.batch_id, self.source_file
        key = ", ".join(KEY_FIELDS)
        con.execute(
            f"""CREATE TEMP TABLE stage_ranked AS
                SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY source_row) AS rank_in_file,
                       first_value(content_hash) OVER (PARTITION BY {key} ORDER BY source_row) AS first_hash
                FROM stage_decl"""
        )
        # Repeats of a key inside the file: same content = duplicate, different = conflict.
        con.execute(
            """INSERT INTO conflicts
               SELECT ?, ?, source_row, declaration_id, item_no, ?, first_hash, content_hash
               FROM stage_ranked WHERE rank_in_file > 1 AND content_hash <> first_hash""",
            [batch, source, batch],
        )
        dup_in_file = _count(con, "SELECT count(*) FROM stage_ranked WHERE rank_in_file > 1")
        conflict_in_file = _count(
            con, "SELECT count(*) FROM stage_ranked WHERE rank_in_file > 1 AND content_hash <> first_hash"
        )
        # Keys already in the store.
        con.execute(
            f"""CREATE TEMP TABLE stage_existing AS
                SELECT s.source_row, s.declaration_id, s.item_no, s.content_hash,
                       d.batch_id AS existing_batch, d.content_hash AS existing_hash
                FROM stage_ranked s JOIN declarations d USING ({key})
                WHERE s.rank_in_file = 1"""
        )
        con.execute(
            """INSERT INTO conflicts
               SELECT ?, ?, source_row, declaration_id, item_no, existing_batch, existing_hash, content_hash
               FROM stage_existing WHERE content_hash <> existing_hash""",
            [batch, source],
        )
        existing = _count(con, "SELECT count(*) FROM stage_existing")
        conflict_existing = _count(
            con, "SELECT count(*) FROM stage_existing WHERE content_hash <> existing_hash"
        )
        columns = ", ".join(_CANONICAL)
        con.execute(
            f"""INSERT INTO declarations ({columns}, batch_id, source_row, content_hash)
                SELECT {columns}, ?, source_row, content_hash FROM stage_ranked s
                WHERE rank_in_file = 1
                  AND NOT EXISTS (SELECT 1 FROM stage_existing e
                                  WHERE e.declaration_id = s.declaration_id AND e.item_no = s.item_no)""",
            [batch],
        )
        accepted = _count(con, "SELECT count(*) FROM declarations WHERE batch_id = ?", [batch])
        con.execute(
            "INSERT INTO ingest_issues SELECT ?, ?, source_row, field, value, reason, severity "
            "FROM stage_issues",
            [batch, source],
        )
        con.execute(
            "INSERT INTO quarantine SELECT ?, ?, source_row, raw, reasons FROM stage_rejected",
            [batch, source],
        )
        con.execute(
            """INSERT INTO normalisations
               SELECT ?, field, original, normalised, sum(rows) FROM stage_norm
               GROUP BY field, original, normalised""",
            [batch],
        )
        rejected = _count(con, "SELECT count(*) FROM quarantine WHERE batch_id = ?", [batch])
        warned = _count(
            con,
            "SELECT count(DISTINCT source_row) FROM ingest_issues WHERE batch_id = ? AND severity = 'warning'",
            [batch],
        )
        staged = _count(con, "SELECT count(*) FROM stage_decl")
        if staged != accepted + dup_in_file + existing:
            # Never lose a row: every staged row is either stored, a duplicate or a conflict.
            raise RuntimeError(
                f"ingest accounting mismatch: {staged} staged rows, {accepted} stored, "
                f"{dup_in_file} repeated in file, {existing} already present; rolled back"
            )
        counts = BatchCounts(
            rows_read=self.rows_read + malformed_rows,
            rows_accepted=accepted,
            rows_rejected=rejected,
            rows_duplicate=(dup_in_file - conflict_in_file) + (existing - conflict_existing),
            rows_conflict=conflict_in_file + conflict_existing,
            rows_warned=warned,
        )
        con.execute(
            """INSERT INTO ingest_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                batch, source, record["file_sha256"], record["file_bytes"], record["profile_name"],
                record["profile_fingerprint"], record["started_at"], datetime.now(UTC),
                counts.rows_read, counts.rows_accepted, counts.rows_rejected,
                counts.rows_duplicate, counts.rows_conflict, counts.rows_warned,
            ],
        )
        for table in ("stage_decl", "stage_ranked", "stage_existing", "stage_issues",
                      "stage_rejected", "stage_norm"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute("DROP TABLE IF EXISTS stage_thresholds")
        return counts


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0
