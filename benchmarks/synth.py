"""Benchmark the synthetic generator: 1 M items on one core (target: under 30 s).

Run: ``.venv/bin/python benchmarks/synth.py [--items 1000000] [--repeat 3]``. Writes the
"synth" section of docs/benchmarks.md.
"""

from __future__ import annotations

import os

# One core: set before polars/numpy start their thread pools.
os.environ.setdefault("POLARS_MAX_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import polars as pl  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._report import write_section  # noqa: E402
from clearlane.services.synth import mechanism_summary  # noqa: E402
from clearlane.synth import SynthConfig, generate  # noqa: E402

TARGET_SECONDS = 30.0


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core}, POLARS_MAX_THREADS=1"
    return "POLARS_MAX_THREADS=1 (no CPU pinning on this OS)"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _detectability(result) -> str:  # type: ignore[no-untyped-def]
    """Median of value/kg and quantity/kg relative to the clean median of the same HS6."""
    joined = result.declarations.join(result.truth, on=["declaration_id", "item_no"])
    rows = []
    for name, num in (("value per kg", "customs_value"), ("quantity per kg", "quantity")):
        per = joined.with_columns(x=pl.col(num) / pl.col("net_mass_kg"))
        med = per.filter(pl.col("mechanism").is_null()).group_by("true_hs_code").agg(
            m=pl.col("x").median()
        )
        ratios = (
            per.join(med, on="true_hs_code")
            .group_by(pl.col("mechanism").fill_null("(clean)"))
            .agg(pl.len().alias("items"), (pl.col("x") / pl.col("m")).median().alias(name))
        )
        rows.append(ratios)
    table = rows[0].join(rows[1].drop("items"), on="mechanism").sort("mechanism")
    ins = joined.group_by(pl.col("mechanism").fill_null("(clean)")).agg(
        inspected=pl.col("inspected").mean(),
        mismatch=(pl.col("origin_country") != pl.col("departure_country")).mean(),
        hs_changed=(pl.col("hs_code") != pl.col("true_hs_code")).mean(),
    )
    table = table.join(ins, on="mechanism").sort("mechanism")
    lines = [
        "| mechanism | items | value/kg ÷ HS6 clean median | quantity/kg ÷ HS6 clean median "
        "| origin ≠ departure | hs_code ≠ true | inspected |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table.iter_rows(named=True):
        lines.append(
            f"| {r['mechanism']} | {r['items']:,} | {r['value per kg']:.2f} | "
            f"{r['quantity per kg']:.2f} | {r['mismatch']:.0%} | {r['hs_changed']:.0%} | "
            f"{r['inspected']:.0%} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pinning = _pin_one_core()
    config = SynthConfig(n_items=args.items)

    generate(SynthConfig(n_items=2_000))  # warm caches (nomenclature, imports)
    times = []
    result = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = generate(config)
        times.append(time.perf_counter() - started)
    assert result is not None
    median = statistics.median(times)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        files = result.write(tmp, format="parquet")
        parquet_s = time.perf_counter() - started
        parquet_mib = files.declarations.stat().st_size / 2**20
        started = time.perf_counter()
        files = result.write(tmp, format="csv")
        csv_s = time.perf_counter() - started
        csv_mib = files.declarations.stat().st_size / 2**20
    peak = _peak_rss_mib()

    d = result.declarations
    inspected = d["inspected"].sum() / d.height
    found = d["fraud"].fill_null(False).sum()
    fraud_among_inspected = found / max(int(d["inspected"].sum()), 1)
    summary = mechanism_summary(result)
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    rate = args.items / median
    target = f"< {TARGET_SECONDS:.0f} s ({verdict})"
    body = f"""
Generating {args.items:,} items ({d['declaration_id'].n_unique():,} declarations, default
`SynthConfig`, seed {config.seed}) on one core ({pinning}); {args.repeat} runs.

| measure | value | target |
|---|---:|---:|
| generate, median of {args.repeat} runs | {median:.1f} s ({rate:,.0f} items/s) | {target} |
| generate, all runs | {", ".join(f"{t:.1f} s" for t in times)} | |
| write Parquet (declarations + truth) | {parquet_s:.1f} s, declarations {parquet_mib:.0f} MiB | |
| write CSV (declarations + truth) | {csv_s:.1f} s, declarations {csv_mib:.0f} MiB | |
| peak resident memory of the process | {peak:,.0f} MiB | |

Planted fraud and labels in this data set:

| mechanism | items | share of items | found by inspection | evaded revenue ({config.currency}) |
|---|---:|---:|---:|---:|
""" + "\n".join(
        f"| {r['mechanism']} | {r['items']:,} | {r['share']:.2%} | {r['found']:,} | "
        f"{r['evaded_revenue']:,.0f} |"
        for r in summary.iter_rows(named=True)
    ) + f"""

Inspected: {inspected:.1%} of items; fraud found in {fraud_among_inspected:.1%} of inspected items.

How the mechanisms show in simple statistics (medians; 1.00 = like clean items of the same HS6):

{_detectability(result)}
"""
    path = write_section(
        "synth",
        "Synthetic generator (`clearlane synth`)",
        f".venv/bin/python benchmarks/synth.py --items {args.items} --repeat {args.repeat}",
        body,
    )
    print(body)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
