"""Officer queue benchmark: `services.cases.queue` and `next_alert` for one office of a
workspace holding 1,000,000 declaration items.

Run: ``python -m benchmarks.officer_queue`` (options: ``--items 1000000 --seed 7 --rounds 20
--next-calls 50 --cache-dir DIR --no-report``). Writes the ``queue`` section of
docs/benchmarks.md (target: queue p95 < 100 ms).

The workspace (synthetic items from ``clearlane.synth``, ingested with the canonical profile,
then one ``select_for_inspection`` over every day: 10 % random control in red, a high-severity
rule sending cash payments to yellow, so alerts of both lanes and of rule hits are opened in
the selection's transaction) is built once and kept in ``--cache-dir`` (default: the system's
temporary folder), outside the repository; later runs reuse it. Timings are wall clock, in
one warm process, on the service (no HTTP): the first queue call of a process is reported apart
(it checks the alerts against every stored lane once: the sync watermark is per process), then
every filter × sort combination is called ``--rounds`` times as an officer of the busiest
office, and ``next_alert`` ``--next-calls`` times (each locks one more alert; the locks are
removed at the end so that the cached workspace stays as built).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchmarks._report import write_section
from clearlane.accounts.roles import Principal
from clearlane.cases.alerts import SORTS
from clearlane.selection import SelectionPolicy
from clearlane.services import cases
from clearlane.services.alert_opening import utcnow
from clearlane.services.ingest import ingest_file
from clearlane.services.selection import select_for_inspection
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

TARGET_P95_MS = 100.0
RULES = """\
profile: queue-benchmark
rules:
  - {id: CASH, version: 1, title: Cash payment, justification: No bank trail to follow.,
     owner: benchmark, severity: high, lane: yellow,
     when: [{field: extra.payment_type, in: [cash]}]}
"""


def build(folder: Path, items: int, seed: int) -> tuple[Workspace, float]:
    """The cached workspace of ``items`` items (built when missing); seconds spent building."""
    done = folder / "built.ok"
    if done.exists():
        return Workspace.open(folder / "ws"), 0.0
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "ws").exists():  # an interrupted build
        shutil.rmtree(folder / "ws")
    workspace = Workspace.create(folder / "ws")
    data = generate(SynthConfig(n_items=items, days=30, seed=seed)).declarations
    path = folder / "declarations.parquet"
    data.write_parquet(path)
    del data
    ingest_file(workspace, path, "canonical")
    path.unlink()
    rules = folder / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    select_for_inspection(workspace, rules_path=rules, seed=seed,
                          policy=SelectionPolicy(red_rate=0.10, random_share=0.10))
    done.write_text("ok\n", encoding="utf-8")
    return workspace, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1e3

COMBOS: list[tuple[str, str | None, str]] = [
    (sort, lane, status) for sort in SORTS for lane in (None, "red", "yellow")
    for status in ("active", "all")]
"""Every sort × lane filter (any, red, yellow) × status (active, all)."""


def measure(workspace: Workspace, officer: Principal, rounds: int, next_calls: int
            ) -> tuple[float, dict[tuple[str, str | None, str], list[float]],
                       dict[tuple[str, str | None, str], int], list[float]]:
    """Milliseconds: the first queue call, each combination's calls, rows each returned, and
    the next_alert calls (their locks removed afterwards)."""
    first_ms = timed(lambda: cases.queue(workspace, officer))
    per: dict[tuple[str, str | None, str], list[float]] = {c: [] for c in COMBOS}
    rows: dict[tuple[str, str | None, str], int] = {}
    for _ in range(rounds):
        for combo in COMBOS:
            sort, lane, status = combo
            start = time.perf_counter()
            found = cases.queue(workspace, officer, sort=sort, lane=lane, status=status,
                                limit=100)
            per[combo].append((time.perf_counter() - start) * 1e3)
            rows[combo] = len(found)
    nexts: list[float] = []
    now = utcnow()
    try:
        for _ in range(next_calls):
            nexts.append(timed(lambda: cases.next_alert(workspace, officer, now=now)))
    finally:
        with workspace.transaction() as con:
            con.execute("UPDATE alerts SET locked_by = NULL, locked_until = NULL "
                        "WHERE locked_by = ?", [officer.name])
    return first_ms, per, rows, nexts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--next-calls", type=int, default=50)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--no-report", action="store_true", help="print, do not write docs")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.officer_queue " + " ".join(argv if argv is not None else sys.argv[1:])
    cache = args.cache_dir or Path(tempfile.gettempdir()) / "clearlane-bench-cache"
    folder = cache / f"queue-{args.items}-{args.seed}"

    workspace, build_s = build(folder, args.items, args.seed)
    with workspace.connect() as con:
        stored = con.execute("SELECT count(*), count(DISTINCT declaration_id) FROM "
                             "declarations").fetchall()[0]
        office, office_items = con.execute(
            "SELECT office_id, count(*) FROM alerts GROUP BY 1 ORDER BY 2 DESC, 1 "
            "LIMIT 1").fetchall()[0]
        alerts, lanes = con.execute(
            "SELECT count(*), string_agg(DISTINCT lane, ', ' ORDER BY lane) FROM "
            "alerts").fetchall()[0]
        office_decl = con.execute("SELECT count(*) FROM declarations WHERE office_id = ?",
                                  [office]).fetchall()[0][0]
        con.execute("UPDATE alerts SET locked_by = NULL, locked_until = NULL "
                    "WHERE locked_by IS NOT NULL")  # leftovers of an interrupted run
    officer = Principal("bench-officer", "officer", offices=frozenset({office}))
    # served: the server holds one connection (cursors on it), as `clearlane serve` does
    with workspace.hold("benchmark"):
        first_ms, per, rows, nexts = measure(workspace, officer, args.rounds, args.next_calls)
    every = [t for times in per.values() for t in times]
    p50, p95 = percentile(every, 0.50), percentile(every, 0.95)
    n50, n95 = percentile(nexts, 0.50), percentile(nexts, 0.95)
    met = p95 < TARGET_P95_MS

    table = "\n".join(
        f"| {sort} | {lane or 'any'} | {status} | {rows[(sort, lane, status)]} | "
        f"{statistics.median(per[(sort, lane, status)]):.1f} | "
        f"{percentile(per[(sort, lane, status)], 0.95):.1f} |"
        for sort, lane, status in COMBOS)
    goal = f"p95 < {TARGET_P95_MS:.0f} ms: " + ("**met**" if met else "**not met**")
    built = (f"built in {build_s:,.0f} s (synth, ingest, selection)" if build_s
             else "reused from the cache folder")
    body = f"""
Workspace: {stored[0]:,} declaration items ({stored[1]:,} declarations) over 30 days, one
selection over every day opening {alerts:,} alerts (lanes: {lanes}); {built}. The officer's
office {office} holds {office_decl:,} items and {office_items:,} alerts. Wall clock in one warm
process calling the service (no HTTP) on the workspace held as `clearlane serve` holds it (one
connection, a cursor per call), {args.rounds} rounds of every combination, limit 100.
The machine is shared with other work, so the numbers are pessimistic.

| measure | p50 | p95 | target |
|---|---|---|---|
| `queue`, every combination below ({len(every):,} calls) | {p50:.1f} ms | {p95:.1f} ms | {goal} |
| `next_alert` (locks one alert; {len(nexts)} calls) | {n50:.1f} ms | {n95:.1f} ms | |
| first `queue` call of the process (checks every stored lane for new alerts once) | {first_ms:,.0f} ms | | |

| sort | lane | status | rows | p50 ms | p95 ms |
|---|---|---|---|---|---|
{table}
"""
    if args.no_report:
        print(body)
    else:
        print("wrote", write_section("queue", "Officer queue", command.strip(), body))
    print(f"queue p50 {p50:.1f} ms, p95 {p95:.1f} ms ({'met' if met else 'not met'}); "
          f"next p50 {n50:.1f} ms, p95 {n95:.1f} ms; first call {first_ms:.0f} ms; "
          f"run at {datetime.now():%H:%M}")


if __name__ == "__main__":
    main()
