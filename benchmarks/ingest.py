"""Ingest throughput and peak memory: 1 M rows from CSV and Parquet, and a 2 M-row CSV.

    python benchmarks/ingest.py [--rows 1000000] [--big-rows 2000000]

Each ingest runs in its own process into a fresh workspace; peak memory is that process's
maximum resident set size. Data comes from the synthetic generator (canonical layout).
Targets (Foundation issue): >= 200,000 rows/s from CSV; peak memory < 2 GB for 2 M rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import write_section
from clearlane.synth import SynthConfig, generate

CHILD = """
import json, resource, sys, time
from clearlane.services.ingest import ingest_file
from clearlane.store.workspace import Workspace
ws = Workspace.create(sys.argv[1])
start, cpu_start = time.perf_counter(), time.process_time()
report = ingest_file(ws, sys.argv[2], "canonical")
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": report.counts.rows_read,
                  "accepted": report.counts.rows_accepted, "peak_mb": peak_kb / 1024}))
"""


def ingest_in_child(folder: Path, source: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(Path(tempfile.mkdtemp(dir=folder)) / "ws"), str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per 1 M-row file (median)")
    args = parser.parse_args()
    rows_md = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, formats in ((args.rows, ("csv", "parquet")), (args.big_rows, ("csv",))):
            t0 = time.perf_counter()
            data = generate(SynthConfig(n_items=n, seed=7)).declarations
            gen = time.perf_counter() - t0
            for fmt in formats:
                path = folder / f"decl-{n}.{fmt}"
                data.write_csv(path) if fmt == "csv" else data.write_parquet(path)
                size_mb = path.stat().st_size / 1e6
                runs = [
                    ingest_in_child(folder, path)
                    for _ in range(args.repeat if n == args.rows else 1)
                ]
                assert all(r["accepted"] == n for r in runs), runs
                runs.sort(key=lambda r: r["seconds"])
                result = runs[len(runs) // 2]
                rate = result["rows"] / result["seconds"]
                each = ", ".join(f"{r['rows'] / r['seconds']:,.0f}" for r in runs)
                rows_md.append(
                    f"| {n:,} | {fmt} | {size_mb:,.0f} MB | {len(runs)} | {result['seconds']:.2f} s | "
                    f"{result['cpu']:.1f} s | **{rate:,.0f}** ({each}) | {result['peak_mb']:,.0f} MB |"
                )
                print(rows_md[-1], f"(generated in {gen:.1f} s)", flush=True)
            del data
    body = (
        "Ingest of synthetic declarations (canonical profile, full validation, duplicate and "
        "conflict checks, one transaction) into a fresh embedded workspace, each in its own process. "
        "Clean rows are validated and converted inside DuckDB (the SQL fast path); only rows that "
        "may be rejected or warned about go through the detailed polars validation. "
        "*time* is wall-clock, *CPU* is the process's CPU time (all threads); rows/s = rows / wall "
        "time, the median run in bold (every run in brackets); each run ingests into a new "
        "workspace. The machine is shared, so wall time is pessimistic when others are busy.\n\n"
        "| rows | format | file size | runs | time | CPU | rows/s | peak memory (RSS) |\n"
        "|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows_md)
        + "\n\nTargets: ≥ 200,000 rows/s from CSV; peak memory < 2 GB for a 2 M-row file."
    )
    write_section("ingest", "Ingest throughput and memory", "python benchmarks/ingest.py", body)


if __name__ == "__main__":
    main()
