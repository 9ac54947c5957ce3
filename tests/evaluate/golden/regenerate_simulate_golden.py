"""Regenerate the simulator's golden tables:
`PYTHONPATH=src .venv/bin/python tests/evaluate/golden/regenerate_simulate_golden.py`.

Small runs of ``simulate`` with a deterministic scorer (no LightGBM, so the tables depend on
the simulator and the selector only), every strategy, a planted pattern and the segment
machinery. ``tests/evaluate/test_simulate_golden.py`` compares each run's weekly table, summary
and notes with the files written here. Regenerate only after a deliberate change of the
simulator or the selector, and say so in the commit.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.evaluate.simulate import SimulationConfig, plant_new_pattern, simulate
from clearlane.synth import SynthConfig, generate

GOLDEN = Path(__file__).resolve().parent

CASES: dict[str, SimulationConfig] = {
    "all_strategies": SimulationConfig(initial_weeks=2, ramp_weeks=3, start_rate=0.6,
                                       final_rate=0.1, seed=4),
    "revenue_no_signal_retrain_2": SimulationConfig(
        initial_weeks=3, weeks=5, ramp_weeks=2, start_rate=0.5, final_rate=0.15,
        objective="revenue", retrain_every=2, segment_signal=False, explore=0.2, seed=9,
        strategies=("exploit", "exploit+segments", "exploit+random", "rules")),
    "refused_fits": SimulationConfig(
        initial_weeks=2, weeks=6, ramp_weeks=2, start_rate=0.5, final_rate=0.2,
        retrain_every=2, seed=2, strategies=("exploit", "exploit+explore", "exploit+segments")),
}
"""Each case's scorer is ``ImporterRateScorer(refuse_odd=...)``: ``refused_fits`` refuses about
half its fits, so the fallback (selection at random, retrain the next week) is pinned too."""


class ImporterRateScorer:
    """Smoothed fraud rate of the importer among the revealed history (higher = riskier).
    With ``refuse_odd`` it refuses to train on an odd number of revealed rows (a stand-in for
    a model that cannot be trained some weeks)."""

    def __init__(self, refuse_odd: bool = False) -> None:
        self.refuse_odd = refuse_odd

    def fit(self, history: pl.DataFrame) -> Any:
        labelled = history.filter(pl.col("inspected"))
        if self.refuse_odd and labelled.height % 2:
            raise ValidationError(f"odd number of inspected rows ({labelled.height})")
        return labelled.group_by("importer_id").agg(
            ((pl.col("fraud").cast(pl.Float64).sum() + 0.1) / (pl.len() + 1)).alias("p"))

    def score(self, model: Any, declarations: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        joined = declarations.join(model, on="importer_id", how="left", maintain_order="left")
        p = joined["p"].fill_null(0.1).to_numpy()
        return p, p * np.nan_to_num(declarations["customs_value"].to_numpy())


def data() -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """3,000 synthetic items over 10 weeks, a scheme planted from week 4; hidden outcomes."""
    synth = generate(SynthConfig(n_items=3000, days=70, seed=3))
    frame = synth.declarations
    joined = frame.select("declaration_id", "item_no").join(
        synth.truth, on=["declaration_id", "item_no"], how="left", maintain_order="left")
    fraud = joined["mechanism"].is_not_null().to_numpy()
    revenue = joined["evaded_revenue"].fill_null(0.0).to_numpy()
    appears = frame["declared_at"].min() + timedelta(days=28)
    fraud, revenue, pattern = plant_new_pattern(frame, fraud, revenue, appears=appears,
                                                hs_prefix="84", fraud_rate=0.7, seed=1)
    return frame, fraud, revenue, pattern


def run(name: str) -> dict[str, str]:
    """The case's weekly table, summary (CSV text) and notes (one a line)."""
    frame, fraud, revenue, pattern = data()
    scorer = ImporterRateScorer(refuse_odd=name == "refused_fits")
    result = simulate(frame, fraud, revenue, config=CASES[name], scorer=scorer, pattern=pattern)
    return {"weekly.csv": result.weekly.write_csv(), "summary.csv": result.summary.write_csv(),
            "notes.txt": "".join(f"{note}\n" for note in result.notes)}


def main() -> None:
    for name in CASES:
        for file, text in run(name).items():
            path = GOLDEN / f"{name}.{file}"
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
