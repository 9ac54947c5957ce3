"""Ingest throughput and peak memory: 1 M rows from CSV and Parquet, a 2 M-row CSV, and a
1 M-row dirty CSV (1 % malformed records of every kind).

    python benchmarks/ingest.py [--rows 1000000] [--big-rows 2000000] [--dirty-rows 1000000]

Each ingest runs in its own process into a fresh workspace; peak memory is that process's
maximum resident set size. Data comes from the synthetic generator (canonical layout); the
tolerant reader is always on (there is no other path). The dirty file is the clean one with 1 %
of its records damaged, one kind after the other: too few fields, too many fields, an
unterminated quote, a misplaced quote, invalid UTF-8, a non-finite or out-of-range number
(inf, NaN, 1e400, 1_000), an impossible date, a multi-line quoted note (a valid record), and
one field above the 10 MB limit; its last record is cut off inside a quote.
Targets: >= 200,000 rows/s from a clean CSV (Foundation issue), >= 100,000 rows/s from the
dirty CSV with nothing lost (issue 18); peak memory < 2 GB for 2 M rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

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
c = report.counts
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": c.rows_read,
                  "accepted": c.rows_accepted, "rejected": c.rows_rejected,
                  "duplicates": c.rows_duplicate, "conflicts": c.rows_conflict,
                  "peak_mb": peak_kb / 1024}))
"""

DIRTY_KINDS = (
    "too_few_fields",
    "too_many_fields",
    "unterminated_quote",
    "misplaced_quote",
    "invalid_utf8",
    "non_finite",
    "bad_date",
    "multiline_note",
)
"""Kinds of damage, applied in turn to 1 % of the records (a multi-line note is valid)."""


def make_dirty(clean: Path, target: Path, share: float = 0.01, seed: int = 7) -> dict[str, int]:
    """``clean`` with ``share`` of its records damaged (see the module docstring)."""
    lines = clean.read_bytes().split(b"\n")
    header = lines[0].decode().split(",")
    value_at, date_at, text_at = (
        header.index("customs_value"),
        header.index("declared_at"),
        header.index("goods_description"),
    )
    body = lines[1:-1] if lines[-1] == b"" else lines[1:]
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(body) - 1, size=int(len(body) * share), replace=False))
    counts = dict.fromkeys(DIRTY_KINDS, 0)
    numbers = (b"inf", b"NaN", b"1e400", b"1_000")
    for k, index in enumerate(chosen.tolist()):
        kind = DIRTY_KINDS[k % len(DIRTY_KINDS)]
        counts[kind] += 1
        line = body[index]
        fields = next(csv.reader([line.decode()]))
        if kind == "too_few_fields":
            body[index] = b",".join(f.encode() for f in fields[:3])
        elif kind == "too_many_fields":
            body[index] = line + b",surplus"
        elif kind == "unterminated_quote":
            body[index] = b'"' + line
        else:
            if kind == "misplaced_quote":
                fields[text_at] = '"quoted" then text'
            elif kind == "non_finite":
                fields[value_at] = numbers[k % len(numbers)].decode()
            elif kind == "bad_date":
                fields[date_at] = "31/02/2024x"
            elif kind == "multiline_note":
                fields[text_at] += "\nsecond line, with a comma and a café"
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(fields)
            body[index] = out.getvalue().encode()
            if kind == "misplaced_quote":
                body[index] = body[index].replace(
                    b'"""quoted"" then text"', b'"quoted" then text'
                )
            if kind == "invalid_utf8":
                # A stray byte in UTF-8 text (the record also holds a valid "é").
                body[index] = body[index].replace(b",", b",caf\xc3\xa9 \xff", 1)
    # One field above the 10 MB limit, and a last record cut off inside a quote.
    big = next(csv.reader([body[len(body) // 2].decode()]))
    big[text_at] = "x" * 10_500_000
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(big)
    body[len(body) // 2] = out.getvalue().encode()
    body[-1] = body[-1][: len(body[-1]) // 2] + b',"cut off\nmid quote'
    target.write_bytes(b"\n".join([lines[0], *body]) + b"\n")
    return counts



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
    parser.add_argument("--dirty-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rows_md = []
    dirty_md = ""
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
            if n == args.dirty_rows and formats == ("csv", "parquet"):
                dirty_md = run_dirty(folder, folder / f"decl-{n}.csv", n)
            del data
        if not dirty_md:
            data = generate(SynthConfig(n_items=args.dirty_rows, seed=7)).declarations
            clean = folder / "dirty-source.csv"
            data.write_csv(clean)
            del data
            dirty_md = run_dirty(folder, clean, args.dirty_rows)
    clean_rate = max(
        float(r.split("**")[1].replace(",", "")) for r in rows_md if "| csv |" in r
    )
    body = (
        "Ingest of synthetic declarations (canonical profile, full validation, duplicate and "
        "conflict checks, one transaction) into a fresh embedded workspace, each in its own process. "
        "Every file goes through the tolerant reader (a vectorised structural scan of the bytes, "
        "then DuckDB's CSV reader over the good records). "
        "Clean rows are validated and converted inside DuckDB (the SQL fast path); only rows that "
        "may be rejected or warned about go through the detailed polars validation. "
        "*time* is wall-clock, *CPU* is the process's CPU time (all threads); rows/s = rows / wall "
        "time, the median run in bold (every run in brackets); each run ingests into a new "
        "workspace. The machine is shared, so wall time is pessimistic when others are busy.\n\n"
        "| rows | format | file size | runs | time | CPU | rows/s | peak memory (RSS) |\n"
        "|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows_md)
        + "\n\n" + dirty_md
        + "\n\nTargets: ≥ 200,000 rows/s from a clean CSV — "
        + ("**met**" if clean_rate >= 200_000 else "**not met**")
        + f" ({clean_rate:,.0f}, the best CSV median above); peak memory < 2 GB for a 2 M-row file."
    )
    write_section("ingest", "Ingest throughput and memory", "python benchmarks/ingest.py", body)


def run_dirty(folder: Path, clean: Path, n: int) -> str:
    """Damage 1 % of ``clean`` (n rows), ingest it, and describe the run (markdown)."""
    dirty = folder / "dirty.csv"
    counts = make_dirty(clean, dirty)
    result = ingest_in_child(folder, dirty)
    accounted = (
        result["accepted"] + result["rejected"] + result["duplicates"] + result["conflicts"]
    )
    lost = n - accounted
    rate = n / result["seconds"]
    line = (
        f"| {n:,} | {dirty.stat().st_size / 1e6:,.0f} MB | {result['seconds']:.2f} s | "
        f"{result['cpu']:.1f} s | **{rate:,.0f}** | {result['peak_mb']:,.0f} MB | "
        f"{result['accepted']:,} | {result['rejected']:,} | {lost:,} |"
    )
    print(line, flush=True)
    damaged = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items())
    return (
        "Dirty CSV: the first file above with 1 % of its records damaged "
        f"({damaged}; plus one field above the 10 MB limit and a last record cut off inside a "
        "quote). *lost* = records in the file − (stored + quarantined + duplicates + conflicts); "
        "a damaged record that is still readable (a multi-line note) is stored.\n\n"
        "| records | file size | time | CPU | rows/s | peak memory (RSS) | stored | quarantined "
        "| lost |\n|---|---|---|---|---|---|---|---|---|\n"
        + line
        + "\n\nTarget: dirty ≥ 100,000 rows/s with nothing lost — "
        + ("**met**" if rate >= 100_000 and lost == 0 else "**not met**")
        + "."
    )


if __name__ == "__main__":
    main()
