"""Use case: ingest one file into the workspace, all or nothing, idempotently."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from clearlane.errors import Problem
from clearlane.ingest.profile import Profile, load_profile
from clearlane.ingest.readers import open_source
from clearlane.ingest.validate import ISSUE_SCHEMA, ValidationContext, check_columns, validate_batch
from clearlane.settings import Settings
from clearlane.store.ingest_writer import BatchCounts, IngestWriter
from clearlane.store.workspace import Workspace

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
    profile = load_profile(profile) if isinstance(profile, str) else profile
    started = datetime.now(UTC)
    sha = file_sha256(path) if path.exists() else ""
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
    scan = open_source(
        path,
        profile.format,
        batch_rows=settings.batch_rows,
        delimiter=profile.csv.delimiter,
        encoding=profile.csv.encoding,
        sheet=profile.sheet,
    )
    absent = set(check_columns(profile, scan.columns, path.name))
    context = ValidationContext(
        today=today or date.today(), max_future_days=settings.max_future_days
    )
    estimate = _estimate_rows(path, scan.format)
    batch_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    with workspace.transaction() as con:
        con.execute(f"SET memory_limit = '{settings.ingest_memory_limit}'")
        con.execute(f"SET temp_directory = '{workspace.path / 'tmp'}'")
        writer = IngestWriter(con, batch_id, path.name)
        done = 0
        for raw in scan.batches():
            result = validate_batch(raw, profile, context, absent)
            writer.write(
                result.accepted, result.issues, result.rejected, result.normalisations, raw.height
            )
            done += raw.height
            if progress is not None:
                progress(done, max(estimate, done) if estimate else None)
        writer.renumber_csv_lines([p.row for p in scan.malformed if p.row is not None])
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
