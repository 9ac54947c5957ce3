"""The store benchmark: its COPY baseline on a real server, and the verdicts of its report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from benchmarks.store import StoreRun, copy_baseline, generate_csv, pg_type, report_body


def test_copy_baseline_stores_every_row_of_the_synthetic_csv(
    tmp_path: Path, postgres_database: Callable[[], str]
) -> None:
    csv = tmp_path / "declarations.csv"
    schema = generate_csv(300, seed=3, path=csv)
    server = postgres_database()  # its role may create the baseline's own database
    assert copy_baseline(server, csv, schema, 300) > 0
    with pytest.raises(RuntimeError, match="COPY stored 300 rows of 301"):
        copy_baseline(server, csv, schema, 301)


def test_column_types() -> None:
    assert pg_type(pl.Datetime("us")) == "timestamp"
    assert pg_type(pl.String()) == "text"
    with pytest.raises(ValueError, match="no PostgreSQL type"):
        pg_type(pl.List(pl.Int64))


def run(store: str, **seconds: float) -> StoreRun:
    return StoreRun(store, seconds=dict(seconds), queue_ms=[10.0, 20.0, 30.0])


def test_report_says_which_target_is_met() -> None:
    duck = run("duckdb", ingest=4.0, train=10.0, assess=2.0, select=1.0)
    fast = run("postgresql", ingest=2.5, train=12.0, assess=2.9, select=1.4)
    body = report_body(1_000_000, 300.0, 1.0, {"duckdb": duck, "postgresql": fast},
                       fixed_server=True, server_version="15.18")
    assert "ingest ≥ 100,000 rows/s — **met** (400,000)" in body
    assert "within 3× of plain COPY — **met** (2.5×)" in body
    assert "every other step within 1.5× of the DuckDB store — **met**" in body
    assert "| train | 10.00 s | 12.00 s | 1.20× |" in body

    slow = run("postgresql", ingest=12.0, train=16.0, assess=2.0, select=1.0)
    body = report_body(1_000_000, 300.0, 1.0, {"duckdb": duck, "postgresql": slow},
                       fixed_server=False, server_version="15.18")
    assert "ingest ≥ 100,000 rows/s — **not met** (83,333)" in body
    assert "within 3× of plain COPY — **not met** (12.0×)" in body
    assert "**not met** (not: train)" in body
    assert "scripts/postgres_server.sh" in body
