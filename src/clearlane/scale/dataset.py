"""Month-partitioned Parquet datasets: the layout, its manifest and atomic writes.

A dataset is a folder of Hive-style partitions, one per month of ``declared_at``::

    DIR/_manifest.json
    DIR/year_month=2024-01/part-0.parquet
    DIR/year_month=2024-02/part-0.parquet

Each file holds its month's rows in the store's order (date, declaration id, item number);
the month is in the folder name only (Dask, Spark and pyarrow read it back as a column with
Hive partitioning on, and skip the ``_``-prefixed manifest). ``_manifest.json`` names the
format and its version, the workspace schema version, the columns, every partition with its
row count and the SHA-256 of its file, and a digest of the whole (the SHA-256 of the
partition list): a reader checks the files against it (:func:`verify_dataset`).

A dataset is written into a hidden folder beside the target and renamed into place only when
complete (:func:`staged_directory`), so a failed or interrupted write leaves nothing at the
target.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from clearlane.errors import ConflictError, NotFoundError, ValidationError

MANIFEST_FILE = "_manifest.json"
PARTITION_KEY = "year_month"
FORMAT_VERSION = 1
DECLARATIONS_FORMAT = "clearlane-declarations"
ASSESSMENTS_FORMAT = "clearlane-assessments"


@dataclass(frozen=True)
class Partition:
    """One month of a dataset: ``year_month`` (``YYYY-MM``), its file (relative to the
    dataset folder), row count and the SHA-256 of the file."""

    year_month: str
    path: str
    rows: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {PARTITION_KEY: self.year_month, "path": self.path, "rows": self.rows,
                "sha256": self.sha256}


@dataclass(frozen=True)
class Manifest:
    """What ``_manifest.json`` says of a dataset; partitions are in time order."""

    format: str
    format_version: int
    schema_version: int
    columns: tuple[tuple[str, str], ...]
    partitions: tuple[Partition, ...]
    digest: str
    details: dict[str, Any]

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "format_version": self.format_version,
                "schema_version": self.schema_version, "partition_by": PARTITION_KEY,
                "rows": self.rows, "columns": [{"name": n, "type": t} for n, t in self.columns],
                "partitions": [p.to_json() for p in self.partitions], "digest": self.digest,
                **self.details}


def partition_path(year_month: str) -> str:
    """The file of a month, relative to the dataset folder.

    >>> partition_path("2024-01")
    'year_month=2024-01/part-0.parquet'
    """
    return f"{PARTITION_KEY}={year_month}/part-0.parquet"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_digest(partitions: Sequence[Partition]) -> str:
    """SHA-256 of the partition list (month, file, rows, file SHA-256), in time order."""
    text = "\n".join(f"{p.year_month}\t{p.path}\t{p.rows}\t{p.sha256}" for p in partitions)
    return hashlib.sha256(text.encode()).hexdigest()


def describe_partition(folder: Path, year_month: str, rows: int) -> Partition:
    """The manifest entry of a written partition file (its SHA-256 read from disk)."""
    relative = partition_path(year_month)
    return Partition(year_month, relative, rows, file_sha256(folder / relative))


def write_manifest(folder: Path, kind: str, schema_version: int,
                   columns: Sequence[tuple[str, str]], partitions: Sequence[Partition],
                   **details: Any) -> Manifest:
    ordered = tuple(sorted(partitions, key=lambda p: p.year_month))
    manifest = Manifest(kind, FORMAT_VERSION, schema_version, tuple(columns), ordered,
                        dataset_digest(ordered), dict(details))
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest.to_json(), indent=2) + "\n",
                                        encoding="utf-8")
    return manifest


def read_manifest(folder: Path, kind: str | None = None) -> Manifest:
    """The manifest of the dataset in ``folder`` (of format ``kind`` when given)."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise NotFoundError(f"{str(folder)!r} is not a Clearlane Parquet dataset (no {MANIFEST_FILE}); "
                            "write one with `clearlane export --parquet DIR`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        partitions = tuple(Partition(p[PARTITION_KEY], p["path"], int(p["rows"]), p["sha256"])
                           for p in data["partitions"])
        known = {"format", "format_version", "schema_version", "partition_by", "rows",
                 "columns", "partitions", "digest"}
        manifest = Manifest(
            data["format"], int(data["format_version"]), int(data["schema_version"]),
            tuple((c["name"], c["type"]) for c in data["columns"]), partitions, data["digest"],
            {k: v for k, v in data.items() if k not in known})
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"{str(path)!r} is not a valid dataset manifest: {exc}") from None
    if manifest.format_version > FORMAT_VERSION:
        raise ValidationError(f"{str(path)!r} has format version {manifest.format_version}; "
                              f"this Clearlane reads up to {FORMAT_VERSION}")
    if kind is not None and manifest.format != kind:
        raise ValidationError(f"{str(folder)!r} holds a {manifest.format!r} dataset; expected {kind!r}")
    return manifest


def verify_dataset(folder: Path, manifest: Manifest | None = None) -> Manifest:
    """Check every partition file against the manifest (present, same SHA-256, digest)."""
    manifest = manifest or read_manifest(folder)
    problems = []
    for part in manifest.partitions:
        path = Path(folder) / part.path
        if not path.is_file():
            problems.append(f"{part.path}: missing")
        elif file_sha256(path) != part.sha256:
            problems.append(f"{part.path}: changed since it was written (SHA-256 differs)")
    if dataset_digest(manifest.partitions) != manifest.digest:
        problems.append("the manifest's digest does not match its partition list")
    if problems:
        raise ValidationError(f"dataset {str(folder)!r} does not match its manifest: "
                              + "; ".join(problems))
    return manifest


def read_partition(folder: Path, partition: Partition,
                   columns: Sequence[str] | None = None) -> pl.DataFrame:
    """One month's rows (only ``columns`` that exist, when given), in stored order."""
    path = Path(folder) / partition.path
    if columns is None:
        return pl.read_parquet(path)
    present = set(pl.read_parquet_schema(path))
    return pl.read_parquet(path, columns=[c for c in columns if c in present])


def refuse_existing(target: Path, overwrite: bool) -> None:
    """A :class:`ConflictError` when ``target`` exists and may not be replaced."""
    if Path(target).exists() and not overwrite:
        raise ConflictError(f"{str(target)!r} already exists; choose another folder or "
                            "pass --overwrite")


@contextmanager
def staged_directory(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """A fresh hidden folder beside ``target``, renamed to ``target`` when the block succeeds
    and removed when it fails: readers never see a half-written dataset.

    An existing ``target`` is refused unless ``overwrite`` (it is then replaced only after
    the new one is complete).
    """
    target = Path(target)
    refuse_existing(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    staging = target.parent / f".{target.name}.tmp-{token}"
    staging.mkdir()
    try:
        yield staging
        if target.exists():
            retired = target.parent / f".{target.name}.old-{token}"
            os.replace(target, retired)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
