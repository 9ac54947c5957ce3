"""Write the workspace's declarations as a month-partitioned Parquet dataset.

Streaming: one month at a time, each written by DuckDB straight from the database
(``COPY … TO``), so the export never holds more than DuckDB's buffers in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from clearlane.scale.dataset import (
    DECLARATIONS_FORMAT,
    Manifest,
    Partition,
    describe_partition,
    partition_path,
    staged_directory,
    write_manifest,
)
from clearlane.store.connection import Connection
from clearlane.store.transfer import describe, query_to_parquet

ORDER = "declared_at, declaration_id, item_no"
"""The store's order of declarations (date, then key), kept inside each month."""

Progress = Callable[[float, float | None], None]


def month_bounds(year_month: str) -> tuple[date, date]:
    """First day of the month and first day of the next.

    >>> month_bounds("2024-12")
    (datetime.date(2024, 12, 1), datetime.date(2025, 1, 1))
    """
    year, month = (int(x) for x in year_month.split("-"))
    start = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    return start, end


def months(con: Connection) -> list[tuple[str, int]]:
    """(``YYYY-MM``, rows) of every month with declarations, in time order."""
    rows = con.execute(
        "SELECT strftime(declared_at, '%Y-%m') AS ym, count(*) FROM declarations "
        "WHERE declared_at IS NOT NULL GROUP BY ym ORDER BY ym").fetchall()
    return [(str(ym), int(n)) for ym, n in rows]


def export_declarations(con: Connection, target: Path, schema_version: int, *,
                        overwrite: bool = False, progress: Progress | None = None) -> Manifest:
    """Write every declaration (all stored columns, outcomes included) to ``target``."""
    report = progress or (lambda done, total: None)
    columns = describe(con, "SELECT * FROM declarations")
    plan = months(con)
    report(0, len(plan))
    with staged_directory(target, overwrite=overwrite) as staging:
        partitions: list[Partition] = []
        for i, (year_month, rows) in enumerate(plan):
            start, end = month_bounds(year_month)
            path = staging / partition_path(year_month)
            path.parent.mkdir(parents=True)
            # dates come from month_bounds (never user text)
            query_to_parquet(
                con, f"SELECT * FROM declarations WHERE declared_at >= DATE '{start}' "
                f"AND declared_at < DATE '{end}' ORDER BY {ORDER}", path)
            partitions.append(describe_partition(staging, year_month, rows))
            report(i + 1, len(plan))
        manifest = write_manifest(staging, DECLARATIONS_FORMAT, schema_version, columns,
                                  partitions)
    return manifest
