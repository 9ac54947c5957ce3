"""Regenerate the generator's golden fingerprints:
`PYTHONPATH=src .venv/bin/python tests/synth/golden/regenerate_synth_golden.py`.

The fingerprints pin ``generate`` byte for byte (same config and seed, same frames), so a
refactoring that changes a single draw fails ``tests/synth/test_synth_golden.py``. Regenerate
only after a deliberate change of the generator, and say so in the commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from clearlane.synth import SynthConfig, generate

GOLDEN = Path(__file__).resolve().parent / "generate.json"

CASES: dict[str, SynthConfig] = {
    # the defaults at a small size: every mechanism, bursts, a risky network
    "small_default": SynthConfig(n_items=3_000, days=120, seed=5),
    # another seed, start and shape: few importers, no bursts, more items per declaration
    "few_importers_no_bursts": SynthConfig(
        n_items=1_500, days=45, seed=2024, start=date(2023, 3, 1), n_importers=20,
        n_bursts=0, items_per_declaration=4.0,
    ),
}


def frame_digest(frame: pl.DataFrame) -> str:
    """SHA-256 of the frame's schema and its CSV text (every value, in row order)."""
    digest = hashlib.sha256(repr(frame.schema).encode())
    digest.update(frame.write_csv().encode())
    return digest.hexdigest()


def fingerprint(config: SynthConfig) -> dict[str, Any]:
    steps: list[tuple[float, float | None]] = []
    result = generate(config, progress=lambda done, total: steps.append((done, total)))
    return {
        "declarations_rows": result.declarations.height,
        "declarations_sha256": frame_digest(result.declarations),
        "truth_rows": result.truth.height,
        "truth_sha256": frame_digest(result.truth),
        "progress": " ".join(f"{done:g}/{total}" for done, total in steps),
    }


def main() -> None:
    golden = {name: fingerprint(config) for name, config in CASES.items()}
    GOLDEN.write_text(json.dumps(golden, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
