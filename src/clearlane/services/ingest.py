"""Use case: ingest one file into the workspace, all or nothing, idempotently."""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Generic, TypeVar

import polars as pl
from duckdb import DuckDBPyConnection

from clearlane.errors import (
    NotFoundError,
    PermissionDeniedError,
    Problem,
    ValidationError,
)
from clearlane.ingest.profile import Profile, load_profile
from clearlane.ingest.readers import ROW_COLUMN, open_source
from clearlane.ingest.sql_validate import CHECKED_TABLE, RAW_VIEW, SqlBatchValidator
from clearlane.ingest.transforms import kept_extras, plan_transforms
from clearlane.ingest.validate import (
    ISSUE_SCHEMA,
    BatchResult,
    ValidationContext,
    check_columns,
    load_reference_data,
    validate_batch,
)
from clearlane.reference.currencies import normalise_currency
from clearlane.schema.fields import EXTRA_COLUMN, FIELD_NAMES, KEY_FIELDS
from clearlane.services import audit
from clearlane.settings import Settings
from clearlane.store.ingest_writer import BatchCounts, IngestWriter
from clearlane.store.workspace import Workspace

T = TypeVar("T")

Progress = Callable[[float, float | None], None]


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did. ``already_ingested``: the same file with the same profile was seen."""

    batch_id: str | None
    source_file: str
    profile: str
    counts: BatchCounts
    already_ingested: bool = False
    malformed: list[Problem] = field(default_factory=list)
    seconds: float = 0.0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _estimate_rows(path: Path, fmt: str) -> int | None:
    """Rough row count for the progress bar: file size / mean line length of the first MiB."""
    if fmt not in ("csv", "jsonl"):
        return None
    with path.open("rb") as handle:
        sample = handle.read(1 << 20)
    lines = sample.count(b"\n")
    if lines == 0:
        return None
    return max(1, int(path.stat().st_size / (len(sample) / lines)) - 1)


def ingest_file(
    workspace: Workspace,
    path: Path | str,
    profile: Profile | str = "canonical",
    *,
    settings: Settings | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Validate ``path`` with ``profile`` and add its accepted rows to the workspace.

    One transaction: either every accepted row, every quarantined row and the batch record are
    written, or nothing is. Ingesting the same file again with the same profile adds nothing;
    a row whose key exists with different content is recorded as a conflict, never overwritten.
    """
    settings = settings or Settings()
    path = Path(path)
    check_readable(path)
    profile = load_profile(profile) if isinstance(profile, str) else profile
    started = datetime.now(UTC)
    # The file's hash (for idempotence) is computed while the reader thread reads the first
    # batch: hashlib and DuckDB both release the GIL.
    scan = open_source(
        path,
        profile.format,
        batch_rows=settings.batch_rows,
        delimiter=profile.csv.delimiter,
        encoding=profile.csv.encoding,
        sheet=profile.sheet,
        quote=profile.csv.quote,
        decimal=profile.csv.decimal,
        max_field_bytes=profile.csv.max_field_bytes,
    )
    absent = set(check_columns(profile, scan.columns, path.name))
    # Profile transforms (extract, map, decimal comma, colliding extras), applied to each raw
    # batch before both validators; ``rules`` is the profile they validate with.
    transforms = plan_transforms(
        profile,
        scan.columns,
        decimal=scan.decimal,
        absent=absent,
        stored_extra_keys=_stored_extra_keys(workspace, profile, scan.columns),
        header_renames=scan.renamed,
    )
    rules = transforms.profile
    with ReadAhead(scan.arrow_batches()) as batches:
        sha = file_sha256(path)
        fingerprint = profile.fingerprint()
        previous = workspace.query(
            "SELECT batch_id FROM ingest_batches WHERE file_sha256 = ? AND profile_fingerprint = ?",
            [sha, fingerprint],
        )
        if previous.height:
            return IngestReport(
                batch_id=str(previous.item(0, 0)),
                source_file=str(path),
                profile=profile.name,
                counts=BatchCounts(0, 0, 0, 0, 0, 0),
                already_ingested=True,
            )
        load_reference_data()
        context = ValidationContext(
            today=today or date.today(), max_future_days=settings.max_future_days
        )
        estimate = _estimate_rows(path, scan.format)
        batch_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        with workspace.transaction() as con, workspace.staging(con) as stage:
            # One ingest writes at a time (on PostgreSQL several processes may try): the
            # second waits, then finds the same file already stored and adds nothing.
            workspace.serialise(con, "ingest")
            again = con.execute(
                "SELECT batch_id FROM ingest_batches WHERE file_sha256 = ? "
                "AND profile_fingerprint = ?", [sha, fingerprint]).fetchone()
            if again is not None:
                return IngestReport(
                    batch_id=str(again[0]), source_file=str(path), profile=profile.name,
                    counts=BatchCounts(0, 0, 0, 0, 0, 0), already_ingested=True)
            # parameters, not text: a workspace folder may be named with quotes
            stage.execute("SET memory_limit = ?", [str(settings.ingest_memory_limit)])
            stage.execute("SET temp_directory = ?", [str(workspace.path / "tmp")])
            writer = IngestWriter(con, batch_id, path.name, *_key_sources(rules))
            fast = SqlBatchValidator(rules, context, transforms.columns, absent)
            done = 0
            for source_batch in batches:
                raw, changes = transforms.apply(source_batch)
                stage.register(RAW_VIEW, raw)
                try:
                    _ingest_batch(
                        stage, writer, fast, rules, context, absent, raw.num_rows, changes
                    )
                finally:
                    stage.unregister(RAW_VIEW)
                done += raw.num_rows
                if progress is not None:
                    progress(done, max(estimate, done) if estimate else None)
            fast.drop(stage)
            # The readers number rows (and malformed records) by their physical first line.
            if scan.malformed:
                writer.add_issues(_malformed_issues(scan.malformed))
                writer.add_quarantine(
                    pl.DataFrame(
                        {
                            "source_row": [p.row for p in scan.malformed],
                            "raw": [p.value for p in scan.malformed],
                            "reasons": [p.reason for p in scan.malformed],
                        },
                        schema={"source_row": pl.Int64, "raw": pl.String, "reasons": pl.String},
                    )
                )
            counts = writer.finish(
                {
                    "file_sha256": sha,
                    "file_bytes": path.stat().st_size,
                    "profile_name": profile.name,
                    "profile_fingerprint": fingerprint,
                    "started_at": started,
                },
                malformed_rows=len(scan.malformed),
            )
            if profile.national_currency:
                con.execute(
                    "INSERT INTO ingest_batch_currency VALUES (?, ?)",
                    [batch_id, normalise_currency(profile.national_currency)],
                )
            audit.record(con, action="ingest.batch", object_type="batch", object_id=batch_id,
                         change={"source_file": path.name, "file_sha256": sha,
                                 "profile": profile.name, "counts": counts})
        if progress is not None:
            progress(done, done)
        return IngestReport(
            batch_id=batch_id,
            source_file=str(path),
            profile=profile.name,
            counts=counts,
            malformed=list(scan.malformed),
            seconds=(datetime.now(UTC) - started).total_seconds(),
        )


def _key_sources(profile: Profile) -> tuple[dict[str, str], dict[str, str]]:
    """Where the profile reads the key fields: source columns, and constants."""
    columns = {k: profile.columns[k].column for k in KEY_FIELDS if k in profile.columns}
    constants = {k: str(profile.constants[k]) for k in KEY_FIELDS if k in profile.constants}
    return columns, constants


def check_readable(path: Path) -> None:
    """Raise a plain error when ``path`` is missing, a folder, or cannot be read."""
    if not path.exists():
        raise NotFoundError(f"{str(path)!r}: no such file")
    if path.is_dir():
        raise ValidationError(f"{str(path)!r} is a folder, not a file; give the file to ingest")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except PermissionError as exc:
        raise PermissionDeniedError(
            f"{str(path)!r} cannot be read: {exc.strerror or 'permission denied'}; "
            "make it readable by this user (or copy it somewhere readable)"
        ) from exc
    except OSError as exc:
        raise ValidationError(f"{str(path)!r} cannot be read: {exc.strerror or exc}") from exc


def _ingest_batch(
    con: DuckDBPyConnection,
    writer: IngestWriter,
    fast: SqlBatchValidator,
    profile: Profile,
    context: ValidationContext,
    absent: set[str],
    rows: int,
    changes: pl.DataFrame | None = None,
) -> None:
    """Validate, on the staging connection ``con``, the batch registered there as
    ``batch_raw``, and write it with ``writer`` (on the store's connection).

    Rows that pass every check go straight from DuckDB into the store (the fast path);
    the few suspect rows are validated by the reference, which rejects or warns with a
    reason for each field, and its accepted rows join the others.
    """
    suspects = fast.check(con)
    columns = ", ".join([*FIELD_NAMES, EXTRA_COLUMN, "source_row"])
    valid, keys = fast.accepted_sql, fast.accepted_keys_sql
    fast_norm = fast.normalisations(con)
    slow: BatchResult | None = None
    if suspects:
        table = con.sql(
            f"SELECT * FROM {RAW_VIEW} WHERE {ROW_COLUMN} IN "
            f"(SELECT source_row FROM {CHECKED_TABLE} WHERE suspect) ORDER BY {ROW_COLUMN}"
        ).to_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        slow = validate_batch(frame, profile, context, absent)
        con.register("slow_accepted", slow.accepted.rename({ROW_COLUMN: "source_row"}).to_arrow())
        valid += f" UNION ALL SELECT {columns} FROM slow_accepted"
        keys += f" UNION ALL SELECT {', '.join(KEY_FIELDS)} FROM slow_accepted"
    con.execute(f"CREATE OR REPLACE TEMP VIEW batch_valid AS {valid}")
    try:
        writer.write(
            "batch_valid",
            pl.concat([fast.kept_issues(con), *([slow.issues] if slow else [])]),
            slow.rejected if slow else pl.DataFrame(),
            pl.concat(
                [fast_norm, *([slow.normalisations] if slow else []),
                 *([changes] if changes is not None and changes.height else [])]
            ),
            rows,
            keys,
            staging=con,
        )
    finally:
        con.execute("DROP VIEW batch_valid")
        if slow is not None:
            con.unregister("slow_accepted")


class ReadAhead(Generic[T]):
    """Iterate ``batches`` while a reader thread already reads the next one.

    The reader starts at once and has its own DuckDB connection; DuckDB releases the GIL while
    it parses, so reading batch n + 1 overlaps with validating and writing batch n. At most one
    batch waits (memory stays bounded); an error in the reader is raised in the caller's thread.
    Always ``close()`` it (or use it as a context manager): that ends the reader thread.
    """

    def __init__(self, batches: Iterator[T]) -> None:
        self._slot: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._read, args=(batches,), name="clearlane-ingest-reader", daemon=True
        )
        self._thread.start()

    def _read(self, batches: Iterator[T]) -> None:
        try:
            for batch in batches:
                if not self._offer(("batch", batch)):
                    return
            self._offer(("done", None))
        except BaseException as exc:  # handed to the caller's thread, raised there
            self._offer(("error", exc))

    def _offer(self, item: tuple[str, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        while True:
            kind, item = self._slot.get()
            if kind == "done":
                return
            if kind == "error":
                assert isinstance(item, BaseException)
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the reader (unblocking it if it waits on a full slot) and wait for it to end."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._slot.get_nowait()
            self._thread.join(timeout=0.05)

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stored_extra_keys(workspace: Workspace, profile: Profile, columns: list[str]) -> list[str]:
    """Keys of the extras already stored, when this file keeps extras (to avoid collisions)."""
    if not kept_extras(profile, columns):
        return []
    keys = workspace.query(
        "SELECT DISTINCT unnest(json_keys(extra)) AS k FROM (SELECT DISTINCT extra FROM "
        "declarations WHERE extra IS NOT NULL AND json_valid(extra) "
        "AND json_type(extra) = 'OBJECT')"
    )
    return [str(k) for k in keys.get_column("k").to_list()] if keys.height else []


def _malformed_issues(problems: list[Problem]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_row": [p.row for p in problems],
            "field": [p.field for p in problems],
            "value": [p.value for p in problems],
            "reason": [p.reason for p in problems],
            "severity": ["rejected"] * len(problems),
        },
        schema=ISSUE_SCHEMA,
    )
