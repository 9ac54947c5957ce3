"""Benchmark the data-quality report on a large workspace, and how well the unit-value check
sees the planted fraud.

Run: ``.venv/bin/python benchmarks/quality.py [--items 1000000] [--repeat 3]``. Generates
synthetic declarations (seed 42), loads them straight into a fresh workspace (no ingest: this
times the report, not the ingest), then times ``quality_report`` over the whole workspace.
Writes the "quality" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._report import write_section
from clearlane.quality.unit_values import (
    DEFAULT_MIN_CELL_SIZE,
    DEFAULT_THRESHOLD,
    create_unit_value_table,
)
from clearlane.services.quality import quality_report
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate


def _load(workspace: Workspace, declarations: pl.DataFrame) -> None:
    frame = declarations.with_columns(
        batch_id=pl.lit("bench"), source_row=pl.int_range(2, declarations.height + 2)
    )
    with workspace.transaction() as con:
        con.register("incoming", frame)
        con.execute("INSERT INTO declarations BY NAME SELECT * FROM incoming")
        con.execute(
            "INSERT INTO ingest_batches (batch_id, source_file, file_sha256, rows_read, "
            "rows_accepted, rows_rejected, rows_duplicate, rows_conflict, rows_warned) "
            "VALUES ('bench', 'synthetic', '-', ?, ?, 0, 0, 0, 0)",
            [declarations.height, declarations.height],
        )


def _flag_rates(workspace: Workspace, truth: pl.DataFrame) -> list[tuple[str, int, float, float]]:
    """Share of items flagged low / high by the report's unit-value check, per planted mechanism."""
    with workspace.connect() as con:
        table = create_unit_value_table(con, None)
        con.register("truth", truth.select("declaration_id", "item_no", "mechanism"))
        t = DEFAULT_THRESHOLD
        rates = con.execute(
            f"""SELECT coalesce(t.mechanism, '(clean)') AS mechanism, count(*) AS items,
                       avg(CASE WHEN z < -{t} THEN 1 ELSE 0 END) AS flagged_low,
                       avg(CASE WHEN z > {t} THEN 1 ELSE 0 END) AS flagged_high
                FROM {table} JOIN truth t USING (declaration_id, item_no)
                GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        con.execute(f"DROP TABLE {table}")
        return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not write docs")
    args = parser.parse_args()

    start = time.perf_counter()
    result = generate(SynthConfig(n_items=args.items, seed=42))
    generated = time.perf_counter() - start
    declarations, truth = result.declarations, result.truth
    del result  # free the generated frames once loaded
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.create(Path(folder) / "ws")
        start = time.perf_counter()
        _load(workspace, declarations)
        loaded = time.perf_counter() - start
        del declarations
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = quality_report(workspace)
            runs.append(time.perf_counter() - start)
        rates = _flag_rates(workspace, truth)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = statistics.median(runs)
    uv = report.unit_values
    rate_rows = "\n".join(
        f"| {name} | {items:,} | {low:.2%} | {high:.2%} |" for name, items, low, high in rates
    )
    body = f"""
`quality_report` over the whole workspace holding {report.rows.accepted:,} synthetic items
(`SynthConfig(n_items={args.items}, seed=42)`, loaded straight into the store; generation
{generated:.1f} s, load {loaded:.1f} s, not timed below). DuckDB uses its default threads
on this machine; {args.repeat} runs.

| measure | value |
|---|---:|
| report, median of {args.repeat} runs | {median:.2f} s ({report.rows.accepted / median:,.0f} items/s) |
| report, all runs | {", ".join(f"{r:.2f} s" for r in runs)} |
| peak resident memory of the process (incl. generation) | {peak:,.0f} MiB |
| overall score | {report.score.overall:.1f} (grade {report.score.grade}) |
| unit-value items tested / HS6 tested / HS6 too small | {uv.rows_tested:,} / {uv.cells_tested:,} / {uv.cells_too_small:,} |
| unit-value outliers (low / high) | {uv.outliers:,} ({uv.outliers_low:,} / {uv.outliers_high:,}), {uv.share:.2%} |

Share of items flagged by the unit-value check (|robust z| > {DEFAULT_THRESHOLD:g}, HS6 with
≥ {DEFAULT_MIN_CELL_SIZE} items, exactly as in the report) by planted
mechanism — a data-quality check, not a fraud model, but under-valuation should stand out:

| mechanism | items tested | flagged low | flagged high |
|---|---:|---:|---:|
{rate_rows}
"""
    print(body)
    if not args.no_write:
        command = f".venv/bin/python benchmarks/quality.py --items {args.items} --repeat {args.repeat}"
        print(write_section("quality", "Data-quality report (`clearlane quality`)", command, body))


if __name__ == "__main__":
    main()
