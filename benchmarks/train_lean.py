"""Lean training: `clearlane train --no-search` against bare LightGBM on the same feature matrix.

    python -m benchmarks.train_lean [--items 100000 200000 ...] [--days 365] [--seed 7]

(run as a module: it imports the benchmarks package)

For each size, synthetic declarations (``SynthConfig(n_items=N, days=365, seed=7)``) are
ingested into a fresh workspace. Then, each in its own process (peak memory = that process's
maximum resident set size, interpreter and libraries included):

* **train**: the real command ``clearlane train --no-search --seed 1`` (fraud model and
  anomaly detector, registered with their artifacts), with its time split into boosting
  (every ``lightgbm.train`` call), the shared feature pipeline (fit and transform), the anomaly
  detector, saving the artifacts, the data fingerprint and the rest (loading, calibration, ...);
* **first call**: the promoted models loaded from the registry, one declaration scored in
  process with reasons (the API path): the first call and the memory it adds, then p50/p99;
* **bare**: the labelled rows' feature matrix of that training (float64, saved as ``.npy`` by
  a helper process) loaded and given to ``lightgbm.train`` with the model's chosen parameters:
  the final fit alone (the rounds the registered model has), and all the boosting the command
  does (the early-stopped run on the time-ordered split, the rounds it ran, plus the final fit).

Targets (issue 24): train within 2x of bare LightGBM; peak memory within 3x of the matrix.
Writes the ``train-lean`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import write_section
from clearlane.synth import SynthConfig, generate

SRC = Path(__file__).resolve().parent.parent / "src"
RESULT = "RESULT "
MIB = 1_048_576

INGEST = """
import sys
from clearlane.services.ingest import ingest_file
from clearlane.store.workspace import Workspace
ingest_file(Workspace.create(sys.argv[1]), sys.argv[2], "canonical")
"""

TRAIN = """
import json, resource, sys, time
from collections import defaultdict
import lightgbm
from clearlane.cli.main import app
from clearlane.features.pipeline import FittedFeatures
from clearlane.models import registry
from clearlane.models.anomaly import AnomalyDetector
from clearlane.store.workspace import Workspace
spent = defaultdict(float)
def timed(owner, name, key, static=False):
    original = getattr(owner, name)
    func = original.__func__ if static else original
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start
    setattr(owner, name, classmethod(wrapper) if static else wrapper)
timed(lightgbm, "train", "boosting")
timed(FittedFeatures, "fit", "features", static=True)
timed(AnomalyDetector, "fit", "anomaly")
timed(registry, "write_artifact", "save")
timed(registry, "data_fingerprint", "fingerprint")
before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
app(["train", "-w", sys.argv[1], "--no-search", "--seed", "1"], standalone_mode=False)
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ws = Workspace.open(sys.argv[1])
models = {m.kind: m for m in registry.list_models(ws)}
sizes = {k: registry.artifact_file(ws, m).stat().st_size for k, m in models.items()}
sizes["history"] = sum(p.stat().st_size for p in (ws.artifacts_dir / "history").rglob("*")
                      if p.is_file())
print("RESULT " + json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024,
      "start_mb": before_kb / 1024, "spent": dict(spent), "artifact_bytes": sizes,
      "params": models["fraud"].params, "rows": models["fraud"].n_rows}))
"""

MATRIX = """
import json, sys
import numpy as np, polars as pl
from clearlane.features.pipeline import FittedFeatures
from clearlane.models.fraud import DEFAULT_GRID, FraudModel, _inspected_mask
from clearlane.services.risk import load_for_training
from clearlane.store.workspace import Workspace
data = load_for_training(Workspace.open(sys.argv[1]))
shared = FittedFeatures.fit(data)
mask = _inspected_mask(data) & ~data["fraud"].is_null().to_numpy()
X = shared.frame.filter(pl.Series(mask)).to_numpy()
y = data["fraud"].cast(pl.Boolean).fill_null(False).to_numpy()[mask].astype(int)
days = data["declared_at"].cast(pl.Date).to_numpy()[mask].astype("datetime64[D]").astype(np.int64)
names = shared.pipeline.feature_names_
cats = [names.index(c) for c in shared.pipeline.categorical_features_]
out = sys.argv[2]
np.save(out + "/X.npy", X, allow_pickle=False)
np.save(out + "/y.npy", y, allow_pickle=False)
np.save(out + "/days.npy", days, allow_pickle=False)
params = FraudModel(random_state=1)._params(DEFAULT_GRID[0], y)
print("RESULT " + json.dumps({"cats": cats, "params": params, "rows": int(len(y)),
      "features": len(names), "all_rows": data.height, "matrix_bytes": X.nbytes,
      "all_rows_bytes": data.height * len(names) * 8}))
"""

FIRST_CALL = """
import json, resource, sys, time
from clearlane.models import registry
from clearlane.store.workspace import Workspace
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1048576
ws = Workspace.open(sys.argv[1])
record = ws.query("SELECT * FROM declarations ORDER BY declared_at DESC LIMIT 1").to_dicts()[0]
import datetime as dt
record["declared_at"] = record["declared_at"] + dt.timedelta(days=1)
fraud = registry.load_model(ws, registry.get_model(ws, kind="fraud"))
anomaly = registry.load_model(ws, registry.get_model(ws, kind="anomaly"))
loaded = rss_mb()
start = time.perf_counter()
fraud.score_record(record, reasons=3)
anomaly.score_record(record, top=3)
first = time.perf_counter() - start
after = rss_mb()
times = []
for _ in range(200):
    start = time.perf_counter()
    fraud.score_record(record, reasons=3)
    anomaly.score_record(record, top=3)
    times.append(time.perf_counter() - start)
times.sort()
print("RESULT " + json.dumps({"first": first, "added_mb": after - loaded,
      "p50_ms": times[100] * 1000, "p99_ms": times[197] * 1000}))
"""

BARE = """
import json, resource, sys, time
import lightgbm as lgb, numpy as np
from clearlane.models.fraud import time_split
folder, spec = sys.argv[1], json.loads(sys.argv[2])
X = np.load(folder + "/X.npy", allow_pickle=False)
y = np.load(folder + "/y.npy", allow_pickle=False)
days = np.load(folder + "/days.npy", allow_pickle=False)
params, cats = spec["params"], spec["cats"]
start = time.perf_counter()
lgb.train(params, lgb.Dataset(X, y, categorical_feature=cats), num_boost_round=spec["final"])
final = time.perf_counter() - start
fit_idx, val_idx = time_split(days, 0.2)
start = time.perf_counter()
lgb.train(params, lgb.Dataset(X[fit_idx], y[fit_idx], categorical_feature=cats),
          num_boost_round=spec["search"])
search = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("RESULT " + json.dumps({"final": final, "all": final + search, "peak_mb": peak_kb / 1024}))
"""


def _child(script: str, *args: str, src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, check=True,
                          capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    return json.loads(lines[-1][len(RESULT):]) if lines else {}


def measure(items: int, days: int, seed: int, src: Path) -> dict:
    """One size: ingest, train (own process), matrix (own process), bare LightGBM."""
    folder = Path(tempfile.mkdtemp(prefix="clearlane-train-lean-"))
    generate(SynthConfig(n_items=items, days=days, seed=seed)).declarations.write_parquet(
        folder / "declarations.parquet")
    ws = folder / "ws"
    _child(INGEST, str(ws), str(folder / "declarations.parquet"), src=src)
    train = _child(TRAIN, str(ws), src=src)
    matrix = _child(MATRIX, str(ws), str(folder), src=src)
    chosen = train["params"]
    search_rounds = min(chosen["trials"][0]["rounds"] + 100, 1500)  # early stopping patience
    bare = _child(BARE, str(folder), json.dumps({
        "params": matrix["params"], "cats": matrix["cats"], "final": chosen["n_rounds"],
        "search": search_rounds}), src=src)
    first = _child(FIRST_CALL, str(ws), src=src)
    return {"items": items, "train": train, "matrix": matrix, "bare": bare,
            "search_rounds": search_rounds, "first": first}


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def report(results: list[dict], command: str) -> str:
    rows = []
    parts = []
    for r in results:
        t, m, b = r["train"], r["matrix"], r["bare"]
        added = t["peak_mb"] - t["start_mb"]
        rows.append(
            f"| {r['items']:,} | {m['all_rows']:,} | {m['rows']:,} × {m['features']} | "
            f"{_mb(m['matrix_bytes'])} | {_mb(m['all_rows_bytes'])} | "
            f"{t['params']['n_rounds']} + {r['search_rounds']} | {t['seconds']:.1f} s | "
            f"{b['final']:.1f} s ({t['seconds'] / b['final']:.1f}×) | "
            f"{b['all']:.1f} s ({t['seconds'] / b['all']:.1f}×) | {t['peak_mb']:,.0f} MB "
            f"({t['peak_mb'] * MIB / m['matrix_bytes']:.1f}× matrix) | "
            f"{added:,.0f} MB ({added * MIB / m['matrix_bytes']:.1f}× matrix) | "
            f"{b['peak_mb']:,.0f} MB |")
        spent = t["spent"]
        named = sum(spent.values())
        parts.append(
            f"| {r['items']:,} | {spent.get('boosting', 0):.1f} s | "
            f"{spent.get('features', 0):.1f} s | {spent.get('anomaly', 0):.1f} s | "
            f"{spent.get('save', 0):.1f} s | {spent.get('fingerprint', 0):.2f} s | "
            f"{t['seconds'] - named:.1f} s | "
            f"{t['artifact_bytes'].get('fraud', 0) / 1e6:.2f} MB + "
            f"{t['artifact_bytes'].get('anomaly', 0) / 1e6:.2f} MB "
            f"(+ history {_mb(t['artifact_bytes'].get('history', 0))}) |")
    calls = [
        f"| {r['items']:,} | {r['first']['first']:.2f} s | {r['first']['added_mb']:,.0f} MB | "
        f"{r['first']['p50_ms']:.2f} ms | {r['first']['p99_ms']:.2f} ms |" for r in results]
    verdicts = []
    for r in results:
        t, m, b = r["train"], r["matrix"], r["bare"]
        time_ok = t["seconds"] <= 2 * b["all"]
        time_final_ok = t["seconds"] <= 2 * b["final"]
        memory_ok = t["peak_mb"] * MIB <= 3 * m["matrix_bytes"]
        added_ok = (t["peak_mb"] - t["start_mb"]) * MIB <= 3 * m["matrix_bytes"]
        verdicts.append(
            f"{r['items']:,} items: time within 2× of all the bare boosting — "
            f"**{'met' if time_ok else 'not met'}**; within 2× of the bare final fit alone — "
            f"**{'met' if time_final_ok else 'not met'}**; peak memory within 3× of the "
            f"matrix — **{'met' if memory_ok else 'not met'}** (memory added by training "
            f"within 3× — **{'met' if added_ok else 'not met'}**).")
    return (
        "Synthetic declarations (`SynthConfig(n_items=N, days=365, seed=7)`) ingested into a "
        "fresh workspace; each step in its own process. *train* is the real command "
        "`clearlane train --no-search --seed 1` (fraud model and anomaly detector, one shared "
        "feature pipeline, artifacts saved); *bare* is `lightgbm.train` with the chosen "
        "parameters on the labelled rows' float64 feature matrix loaded from `.npy` — the final "
        "fit alone, and all the boosting train does (the early-stopped run on the time-ordered "
        "split, the rounds it ran, then the final fit). *matrix* is that labelled matrix; "
        "*all-rows features* the features of every training row (both models read them). "
        "Peak memory is the process's maximum RSS, interpreter and libraries included; "
        "*added* is the train process's peak minus its RSS before training (after imports). "
        "The machine is shared: wall times are pessimistic when others are busy.\n\n"
        "| items | training rows | labelled matrix | matrix | all-rows features | rounds "
        "(final + split run) | train | bare final fit | bare all boosting | train peak RSS | "
        "added by training | bare peak RSS |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "Where the train time goes (every `lightgbm.train` call; the shared feature pipeline "
        "fit and transform; the anomaly detector's fit; writing the artifacts; the data "
        "fingerprint; the rest: reading the store, calibration, registry), and the artifact "
        "sizes (fraud model + anomaly detector, and their shared history dataset beside "
        "them):\n\n"
        "| items | boosting | features | anomaly | save artifacts | fingerprint | rest | "
        "artifacts |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(parts) + "\n\n"
        "One declaration scored in process after loading the promoted models (fraud model "
        "and anomaly detector, three reasons each; the API's single-declaration path): the "
        "first call, which builds the integer-keyed history look-ups, the resident memory it "
        "adds, and the next 200 calls:\n\n"
        "| items | first call | memory added | then p50 | then p99 |\n|---|---|---|---|---|\n"
        + "\n".join(calls) + "\n\n"
        "Targets (issue 24): " + " ".join(verdicts) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 200_000],
                        help="Declaration items per run (several: one run each).")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true",
                        help="Print the section without writing docs/benchmarks.md.")
    args = parser.parse_args()
    results = [measure(n, args.days, args.seed, SRC) for n in args.items]
    command = "python -m benchmarks.train_lean" + (
        "" if args.items == [100_000, 200_000] else " --items " + " ".join(map(str, args.items)))
    body = report(results, command)
    print(body)
    if not args.no_write:
        write_section("train-lean", "Lean training: `train --no-search` against bare LightGBM",
                      command, body)


if __name__ == "__main__":
    main()
