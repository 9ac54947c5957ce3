"""Store benchmark: the same run on the embedded DuckDB store and on PostgreSQL, beside a plain
``COPY`` of the same CSV into an unindexed PostgreSQL table (the physical baseline).

    python -m benchmarks.store [--rows 1000000] [--postgres-url URL] [--stores duckdb,postgresql]
                               [--queue-rounds 20] [--seed 7] [--no-report]

(``python benchmarks/store.py`` works too.)

Data: ``--rows`` synthetic declaration items (``clearlane.synth``, canonical layout, with their
inspection outcomes) written to one CSV file. Baseline: a new database holding one table of
the CSV's columns (their types from the generated frame, no key, no index), filled by one
psycopg ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` streaming the file. Then, on each store in
turn, into a new workspace: ingest that CSV (canonical profile), train (fraud model with its
default parameters, no search, and the anomaly detector; promoted), batch assess every
declaration, the selection of the last day, and the officer queue of the office with the most
alerts (``--queue-rounds`` calls, p50 and p95). Wall clock, in this process, one store after the
other, after an untimed run of every step on every store (``--warmup-rows``), so that neither
store pays the process's imports and compiled code. Writes the ``store`` section of
docs/benchmarks.md.

Server: ``--postgres-url`` is an administrator's URL on which the benchmark may
``CREATE DATABASE`` (its databases are dropped at the end); without it, a throwaway server is
started with ``scripts/postgres_server.sh`` (fsync off: its times are a lower bound for a
server that syncs; the report says which server ran) and stopped at the end.

Targets (issue 23): PostgreSQL ingest >= 100,000 rows/s and within 3x of plain COPY; every
other step within 1.5x of the DuckDB store.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

# Run as a script, this folder comes first on the path, and its queue.py hides the standard
# library's queue module (which polars needs): put the repository there instead.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import polars as pl
import psycopg

from benchmarks._report import write_section
from clearlane.accounts.roles import Principal
from clearlane.services import cases
from clearlane.services.ingest import ingest_file
from clearlane.services.risk import assess_declarations, train_models
from clearlane.services.selection import select_for_inspection
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = REPO / "scripts" / "postgres_server.sh"
STORES = ("duckdb", "postgresql")
INGEST_TARGET = 100_000
"""rows/s the PostgreSQL store must ingest at least."""
COPY_FACTOR = 3.0
"""PostgreSQL ingest time at most this many times the plain COPY's."""
STEP_FACTOR = 1.5
"""Every other PostgreSQL step at most this many times the DuckDB store's time."""

# -- the data ---------------------------------------------------------------------------------

def generate_csv(rows: int, seed: int, path: Path) -> pl.Schema:
    """Write ``rows`` synthetic declaration items to ``path`` (CSV); returns their schema."""
    data = generate(SynthConfig(n_items=rows, seed=seed)).declarations
    data.write_csv(path)
    return data.schema


PG_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "text", pl.Int64: "bigint", pl.Int32: "integer", pl.Float64: "double precision",
    pl.Float32: "real", pl.Boolean: "boolean", pl.Date: "date", pl.Datetime: "timestamp",
}


def pg_type(dtype: pl.DataType) -> str:
    """The PostgreSQL column type ``COPY`` parses a polars column of ``dtype`` into."""
    for polars_type, name in PG_TYPES.items():
        if isinstance(dtype, polars_type):
            return name
    raise ValueError(f"no PostgreSQL type for the column type {dtype}")


# -- the server -------------------------------------------------------------------------------

@contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    """``url``, or a throwaway server started with scripts/postgres_server.sh (stopped after)."""
    if url:
        yield url
        return
    folder = tempfile.mkdtemp(prefix="clearlane-bench-pg.")
    try:
        # (its messages, an install or a failure, go to this process's stderr)
        started = subprocess.run(["sh", str(SERVER_SCRIPT), "start", folder], check=True,
                                 stdout=subprocess.PIPE, text=True)
        yield started.stdout.strip()
    finally:
        subprocess.run(["sh", str(SERVER_SCRIPT), "stop", folder], check=False)


def database_url(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server (its URL), dropped afterwards."""
    name = f"clearlane_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- the physical baseline --------------------------------------------------------------------

def copy_baseline(server_url: str, csv: Path, schema: pl.Schema, rows: int) -> float:
    """Seconds of one ``COPY`` of ``csv`` into an unindexed table of its columns."""
    columns = ", ".join(f'"{name}" {pg_type(dtype)}' for name, dtype in schema.items())
    with fresh_database(server_url) as url, psycopg.connect(url) as con:
        con.execute(f"CREATE TABLE declarations_copy ({columns})")
        con.commit()
        started = time.perf_counter()
        with con.cursor() as cur, open(csv, "rb") as source, \
                cur.copy("COPY declarations_copy FROM STDIN (FORMAT csv, HEADER)") as copy:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        con.commit()
        seconds = time.perf_counter() - started
        row = con.execute("SELECT count(*) FROM declarations_copy").fetchone()
        stored = row[0] if row else 0
    if stored != rows:
        raise RuntimeError(f"COPY stored {stored:,} rows of {rows:,}")
    return seconds


# -- the store steps --------------------------------------------------------------------------
# TO FINISH WITH THE POSTGRESQL STORE: each step runs through the services, on a workspace made
# by ``Workspace.create(path, database_url=...)`` (None: the embedded DuckDB file). They run
# today on the DuckDB store; the PostgreSQL run needs the store layer (issue 23).

@dataclass
class StoreRun:
    """Seconds per step on one store (queue: milliseconds per call), and what each made."""

    store: str
    seconds: dict[str, float] = field(default_factory=dict)
    queue_ms: list[float] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)


def timed(call: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def open_workspace(folder: Path, database_url: str | None) -> Workspace:
    """A new workspace in ``folder``: on the database at ``database_url``, or embedded."""
    if database_url is None:
        return Workspace.create(folder)
    return Workspace.create(folder, database_url=database_url)


def step_ingest(workspace: Workspace, csv: Path, rows: int, run: StoreRun) -> None:
    """Ingest the CSV (canonical profile): every row must be accepted."""
    seconds, report = timed(lambda: ingest_file(workspace, csv, "canonical"))
    accepted = report.counts.rows_accepted
    if accepted != rows:
        raise RuntimeError(f"{run.store}: ingest accepted {accepted:,} rows of {rows:,}")
    run.seconds["ingest"] = seconds


def step_train(workspace: Workspace, seed: int, run: StoreRun) -> None:
    """Train and promote the fraud model (default parameters, no search) and the detector."""
    seconds, result = timed(lambda: train_models(workspace, seed=seed, promote=True,
                                                 search=False))
    if result.fraud is None:
        raise RuntimeError(f"{run.store}: no fraud model trained (too few labelled rows)")
    run.seconds["train"] = seconds


def step_assess(workspace: Workspace, run: StoreRun) -> None:
    """Batch-assess every stored declaration with the promoted models."""
    seconds, result = timed(lambda: assess_declarations(workspace))
    run.seconds["assess"] = seconds
    run.notes["assessed"] = f"{result.rows:,} items"


def step_select(workspace: Workspace, seed: int, run: StoreRun) -> None:
    """The selection of the last day of the data (it opens the officers' alerts)."""
    last = workspace.query("SELECT max(declared_at) AS day FROM declarations").item(0, 0)
    seconds, _ = timed(lambda: select_for_inspection(workspace, date_from=last, date_to=last,
                                                     seed=seed))
    run.seconds["select"] = seconds
    run.notes["selected day"] = str(last)


def step_queue(workspace: Workspace, rounds: int, run: StoreRun) -> None:
    """The officer queue of the office with the most alerts, ``rounds`` calls."""
    busiest = workspace.query(
        "SELECT office_id, count(*) AS n FROM alerts GROUP BY office_id ORDER BY n DESC, office_id "
        "LIMIT 1")
    if busiest.height == 0:
        run.notes["queue"] = "no alerts opened by the selection"
        return
    office = busiest.item(0, 0)
    officer = Principal("bench-officer", "officer", offices=frozenset({office}))
    cases.queue(workspace, officer)  # the first call of a process syncs the alerts once
    for _ in range(rounds):
        seconds, _ = timed(lambda: cases.queue(workspace, officer, limit=100))
        run.queue_ms.append(seconds * 1e3)
    run.notes["queue office"] = f"{office} ({busiest.item(0, 1):,} alerts)"


@contextmanager
def store_database(store: str, server_url: str) -> Iterator[str | None]:
    """None for the embedded store; a fresh database's URL for PostgreSQL (dropped after)."""
    if store == "duckdb":
        yield None
        return
    with fresh_database(server_url) as url:
        yield url


def run_store(store: str, folder: Path, database_url: str | None, csv: Path, rows: int,
              seed: int, queue_rounds: int) -> StoreRun:
    """Every step, in order, on a new workspace of ``store``."""
    run = StoreRun(store)
    workspace = open_workspace(folder / f"ws-{store}", database_url)
    step_ingest(workspace, csv, rows, run)
    step_train(workspace, seed, run)
    step_assess(workspace, run)
    step_select(workspace, seed, run)
    step_queue(workspace, queue_rounds, run)
    print(f"{store}: " + ", ".join(f"{k} {v:.2f} s" for k, v in run.seconds.items()), flush=True)
    return run


# -- the report -------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report_body(rows: int, size_mb: float, copy_s: float, runs: dict[str, StoreRun],
                fixed_server: bool, server_version: str) -> str:
    copy_rate = rows / copy_s
    lines = [
        f"Data: {rows:,} synthetic declaration items in one CSV file of {size_mb:,.0f} MB. "
        "Wall clock in one process, one store after the other, each into a new workspace, after an "
        "untimed run of every step on every store. "
        + (f"PostgreSQL {server_version}: the server given by `--postgres-url`."
           if fixed_server else
           f"PostgreSQL {server_version}: a throwaway local server started by "
           "`scripts/postgres_server.sh` (fsync off, so its times are a lower bound for a server "
           "that syncs)."),
        "",
        f"Physical baseline, one plain `COPY` of the CSV into an unindexed PostgreSQL table of "
        f"its columns: {copy_s:.2f} s ({copy_rate:,.0f} rows/s).",
        "",
        "| step | " + " | ".join(runs) + " | PostgreSQL / DuckDB |",
        "|---|" + "---|" * len(runs) + "---|",
    ]
    steps = ["ingest", "train", "assess", "select"]
    for step in steps:
        cells = []
        for run in runs.values():
            value = run.seconds.get(step)
            text = "" if value is None else f"{value:.2f} s"
            if step == "ingest" and value:
                text += f" ({rows / value:,.0f} rows/s)"
            cells.append(text)
        ratio = _ratio(runs, step)
        lines.append(f"| {step} | " + " | ".join(cells) + f" | {ratio} |")
    queue_cells = [
        f"p50 {percentile(r.queue_ms, 0.5):.1f} ms, p95 {percentile(r.queue_ms, 0.95):.1f} ms"
        if r.queue_ms else r.notes.get("queue", "") for r in runs.values()
    ]
    lines.append("| officer queue (limit 100) | " + " | ".join(queue_cells) + " | |")
    targets = []
    pg = runs.get("postgresql")
    if pg and "ingest" in pg.seconds:
        rate = rows / pg.seconds["ingest"]
        factor = pg.seconds["ingest"] / copy_s
        targets.append(f"PostgreSQL ingest ≥ {INGEST_TARGET:,} rows/s — {verdict(rate >= INGEST_TARGET)} "
                       f"({rate:,.0f}); within {COPY_FACTOR:g}× of plain COPY — "
                       f"{verdict(factor <= COPY_FACTOR)} ({factor:.1f}×)")
    duck = runs.get("duckdb")
    if pg and duck:
        slow = [s for s in steps[1:] if s in pg.seconds and s in duck.seconds
                and pg.seconds[s] > STEP_FACTOR * duck.seconds[s]]
        targets.append(f"every other step within {STEP_FACTOR:g}× of the DuckDB store — "
                       + verdict(not slow) + (f" (not: {', '.join(slow)})" if slow else ""))
    notes = "; ".join(f"{r.store}: " + ", ".join(f"{k} {v}" for k, v in r.notes.items())
                      for r in runs.values() if r.notes)
    return "\n".join(lines) + ("\n\n" + notes + "." if notes else "") + (
        "\n\nTargets: " + "; ".join(targets) + "." if targets else "")


def _ratio(runs: dict[str, StoreRun], step: str) -> str:
    pg, duck = runs.get("postgresql"), runs.get("duckdb")
    if not (pg and duck and step in pg.seconds and step in duck.seconds):
        return ""
    return f"{pg.seconds[step] / duck.seconds[step]:.2f}×"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-url", default=None,
                        help="administrator's URL of a server where databases may be created "
                        "(default: start a throwaway one)")
    parser.add_argument("--stores", default=",".join(STORES),
                        help="stores to run the steps on, comma-separated (the COPY baseline "
                        "always runs)")
    parser.add_argument("--queue-rounds", type=int, default=20)
    parser.add_argument("--warmup-rows", type=int, default=5_000,
                        help="rows of an untimed run on every store first (0: none)")
    parser.add_argument("--no-report", action="store_true", help="print, do not write docs")
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if unknown := [s for s in stores if s not in STORES]:
        parser.error(f"unknown store(s) {', '.join(unknown)}; valid: {', '.join(STORES)}")
    command = "python -m benchmarks.store " + " ".join(argv if argv is not None else sys.argv[1:])

    with tempfile.TemporaryDirectory(prefix="clearlane-bench-store.") as tmp, \
            postgres_server(args.postgres_url) as server:
        folder = Path(tmp)
        csv = folder / f"declarations-{args.rows}.csv"
        started = time.perf_counter()
        schema = generate_csv(args.rows, args.seed, csv)
        size_mb = csv.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:,.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        copy_s = copy_baseline(server, csv, schema, args.rows)
        with psycopg.connect(server) as con:
            row = con.execute("SHOW server_version").fetchone()
            server_version = str(row[0]).split()[0] if row else "?"
        print(f"COPY baseline: {copy_s:.2f} s ({args.rows / copy_s:,.0f} rows/s)", flush=True)
        if args.warmup_rows:
            # Imports, compiled code and caches of the process are paid here, on every store,
            # not by whichever store is timed first.
            warm = folder / "warm-up"
            warm.mkdir()
            warm_csv = warm / "declarations.csv"
            generate_csv(args.warmup_rows, args.seed + 1, warm_csv)
            for store in stores:
                with store_database(store, server) as url:
                    run_store(store, warm, url, warm_csv, args.warmup_rows, args.seed, 2)
            print("warm-up done", flush=True)
        runs: dict[str, StoreRun] = {}
        for store in stores:
            with store_database(store, server) as url:
                runs[store] = run_store(store, folder, url, csv, args.rows, args.seed,
                                        args.queue_rounds)
    body = report_body(args.rows, size_mb, copy_s, runs, fixed_server=bool(args.postgres_url),
                       server_version=server_version)
    if args.no_report:
        print(body)
    else:
        print("wrote", write_section("store", "Stores: DuckDB and PostgreSQL", command.strip(),
                                     body))


if __name__ == "__main__":
    main()
