"""Artifact sizes and save/load times on a small synthetic workspace: the data-only envelope
against what each kind was saved as before it (reproduced here for comparison, only written,
never loaded): fraud model and anomaly detector a pickle compressed with zstd behind a JSON
header line, the HS classifier an uncompressed pickle behind one, value bands a Parquet file,
the quantile model a JSON file.

    PYTHONPATH=src python scripts/artifact_sizes.py [--items 20000] [--seed 7]
"""

from __future__ import annotations

import argparse
import io
import json
import pickle  # the old format's size only: dumps, never loads
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from clearlane.artifacts.envelope import dumps, loads
from clearlane.hs.classifier import HSClassifier
from clearlane.models.anomaly import AnomalyDetector
from clearlane.models.fraud import DEFAULT_GRID, FraudModel
from clearlane.synth import SynthConfig, generate
from clearlane.valuation.bands import build_bands
from clearlane.valuation.quantile_model import UnitValueQuantileModel


def old_bytes(kind: str, model: Any) -> int:
    """Size of ``model`` in the format its kind was saved in before the envelope."""
    if kind == "bands":
        buffer = io.BytesIO()
        model.table.write_parquet(buffer, metadata={"clearlane-value-bands": model.meta.to_json()})
        return len(buffer.getvalue())
    if kind == "quantile":
        return len(json.dumps({"params": model.get_params(), "currency": model.currency_,
                               "national_currency": model.national_currency_,
                               "categories": model.categories_, "boosters": model.boosters_,
                               "n_train": model.n_train_}).encode())
    pickled = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    payload = pickled if kind == "hs" else pa.compress(pickled, codec="zstd", asbytes=True)
    header = {"format": "clearlane-model", "envelope_version": 2, "payload_sha256": "0" * 64,
              "payload_bytes": len(payload), "uncompressed_bytes": len(pickled)}
    return len(json.dumps(header).encode()) + 1 + len(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data = generate(SynthConfig(n_items=args.items, days=180, seed=args.seed)).declarations
    cut = data["declared_at"].max() - pl.duration(days=30)  # type: ignore[operator]
    train, test = data.filter(pl.col("declared_at") < cut), data.filter(pl.col("declared_at") >= cut)
    texts = [str(t) for t in train["goods_description"]]
    codes = [str(c) for c in train["hs_code"]]
    fitted: list[tuple[str, Any, Callable[[Any], Any]]] = [
        ("fraud", FraudModel(grid=DEFAULT_GRID[:1], n_jobs=2).fit(train),
         lambda m: m.predict_proba(test)),
        ("anomaly", AnomalyDetector(n_jobs=2).fit(train), lambda m: m.score_samples(test)),
        ("hs", HSClassifier(random_state=0).fit(texts, codes),
         lambda m: m.predict_proba([str(t) for t in test["goods_description"].head(500)])),
        ("bands", build_bands(train), lambda b: b.table),
        ("quantile", UnitValueQuantileModel().fit(train), lambda m: m.predict_band(test)),
    ]
    print(f"synthetic workspace: {args.items:,} items (seed {args.seed}), {train.height:,} training rows")
    print(f"{'kind':<9} {'old format':>16} {'new envelope':>13} {'new/old':>8} "
          f"{'save s':>7} {'load s':>7}  same output")
    for kind, model, output in fitted:
        start = time.perf_counter()
        payload, _ = dumps(model, kind=kind, version="size")
        saved = time.perf_counter() - start
        start = time.perf_counter()
        back, _ = loads(payload, kind=kind)
        loaded = time.perf_counter() - start
        a, b = output(model), output(back)
        same = a.equals(b) if isinstance(a, pl.DataFrame) else bool(np.array_equal(a, b))
        old = old_bytes(kind, model)
        print(f"{kind:<9} {old:>16,} {len(payload):>13,} {len(payload) / old:>8.2f} "
              f"{saved:>7.2f} {loaded:>7.2f}  {same}")


if __name__ == "__main__":
    main()
