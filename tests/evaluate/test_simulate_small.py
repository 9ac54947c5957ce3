"""The online simulator on a small synthetic set: protocol invariants, metrics, pattern recall."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.evaluate.simulate import (
    SimulationConfig,
    pattern_detection,
    plant_new_pattern,
    simulate,
)
from clearlane.evaluate.simulate_chart import png_chart, simulation_html
from clearlane.models.simulation_scorers import FastScorer
from clearlane.synth import SynthConfig, SynthResult, generate


@pytest.fixture(scope="module")
def synth() -> SynthResult:
    return generate(SynthConfig(n_items=3000, days=70, seed=3))


def _truth(synth: SynthResult) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    data = synth.declarations
    joined = data.select("declaration_id", "item_no").join(
        synth.truth, on=["declaration_id", "item_no"], how="left", maintain_order="left")
    return (data, joined["mechanism"].is_not_null().to_numpy(),
            joined["evaded_revenue"].fill_null(0.0).to_numpy())


class ImporterRateScorer:
    """A cheap scorer: smoothed fraud rate of the importer among revealed history. It records
    what it was trained on so the test can check no hidden label leaked."""

    def __init__(self) -> None:
        self.seen: list[pl.DataFrame] = []

    def fit(self, history: pl.DataFrame) -> Any:
        self.seen.append(history.select("declaration_id", "item_no", "inspected", "fraud"))
        labelled = history.filter(pl.col("inspected"))
        return labelled.group_by("importer_id").agg(
            ((pl.col("fraud").cast(pl.Float64).sum() + 0.1) / (pl.len() + 1)).alias("p"))

    def score(self, model: Any, declarations: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        assert "fraud" not in declarations.columns and "inspected" not in declarations.columns
        p = declarations.join(model, on="importer_id", how="left", maintain_order="left")["p"]
        p = p.fill_null(0.1).to_numpy()
        return p, p * np.nan_to_num(declarations["customs_value"].to_numpy())


def test_protocol_rates_metrics_and_no_leak(synth: SynthResult) -> None:
    data, fraud, revenue = _truth(synth)
    scorer = ImporterRateScorer()
    config = SimulationConfig(initial_weeks=2, ramp_weeks=3, start_rate=0.6, final_rate=0.1,
                              seed=1)
    result = simulate(data, fraud, revenue, config=config, scorer=scorer)
    weekly = result.weekly
    assert set(weekly["strategy"]) == set(config.strategies)
    # inspected = floor(rate × n) each week, never more
    expected = (weekly["rate"] * weekly["declarations"] + 1e-9).floor().clip(1)
    assert (weekly["inspected"] == expected.cast(pl.Int64)).all()
    assert ((weekly["precision"] >= 0) & (weekly["precision"] <= 1)).all()
    assert (weekly["norm_precision"].drop_nulls() <= 1 + 1e-9).all()
    assert (weekly["caught"] <= weekly["frauds"]).all()
    assert weekly.filter(pl.col("week") == 2)["rate"].unique().to_list() == [0.6]
    assert weekly.filter(pl.col("week") >= 5)["rate"].unique().to_list() == [0.1]
    # the model never sees a label it did not reveal: labelled rows before week w are the
    # initial period plus earlier selections, so labelled counts grow by the week's inspections
    exploit = weekly.filter(pl.col("strategy") == "exploit").sort("week")
    models = sum(s.startswith("exploit") for s in config.strategies)
    fits = [s["inspected"].sum() for s in scorer.seen[0::models]]  # exploit is fitted first
    initial = int(fits[0])
    assert fits == [initial + int(exploit["inspected"][:i].sum()) for i in range(len(fits))]
    # random is unbiased; a model that learns beats it
    summary = {r["strategy"]: r for r in result.summary.iter_rows(named=True)}
    assert summary["exploit"]["mean_precision"] > summary["random"]["mean_precision"]
    assert "ci_coverage" in result.summary.columns


def test_same_seed_same_result(synth: SynthResult) -> None:
    data, fraud, revenue = _truth(synth)
    config = SimulationConfig(initial_weeks=2, weeks=3, strategies=("random", "exploit+random"),
                              seed=4)
    a = simulate(data, fraud, revenue, config=config, scorer=ImporterRateScorer())
    b = simulate(data, fraud, revenue, config=config, scorer=ImporterRateScorer())
    assert a.weekly.equals(b.weekly)


def test_fast_scorer_and_planted_pattern(synth: SynthResult, tmp_path: Any) -> None:
    data, fraud, revenue = _truth(synth)
    appears = data["declared_at"].min() + timedelta(days=28)  # type: ignore[operator]
    prefix = data["hs_code"].str.slice(0, 2).mode()[0]
    fraud2, revenue2, pattern = plant_new_pattern(data, fraud, revenue, appears=appears,
                                                  hs_prefix=prefix, fraud_rate=0.8)
    assert pattern.sum() > 0 and fraud2.sum() > fraud.sum()
    assert not pattern[data["declared_at"].to_numpy() < np.datetime64(appears)].any()
    config = SimulationConfig(initial_weeks=3, weeks=4, ramp_weeks=2, start_rate=0.5,
                              final_rate=0.2, strategies=("random", "exploit"), retrain_every=2)
    result = simulate(data, fraud2, revenue2, config=config, scorer=FastScorer(rounds=20),
                      pattern=pattern)
    detection = pattern_detection(result.weekly, appears=4, threshold=0.05, within=4)
    assert set(detection["strategy"]) == {"random", "exploit"}
    assert detection["recall_all_weeks"].is_between(0, 1).all()
    html = simulation_html(result.weekly, result.summary)
    assert "<svg" in html and "exploit" in html
    png = png_chart(result.weekly, "precision_ma13", "Precision", tmp_path / "p.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_errors() -> None:
    with pytest.raises(ValidationError, match="unknown strategy"):
        SimulationConfig(strategies=("greedy",)).validate()
    with pytest.raises(ValidationError, match="explore"):
        SimulationConfig(explore=1.5).validate()
    assert SimulationConfig(start_rate=1.0, final_rate=0.1, ramp_weeks=10).rate(5) == \
        pytest.approx(0.55)


def test_model_strategies_need_a_scorer(synth: SynthResult) -> None:
    data, fraud, revenue = _truth(synth)
    with pytest.raises(ValidationError, match="exploit need a scorer"):
        simulate(data, fraud, revenue,
                 config=SimulationConfig(initial_weeks=2, weeks=1, strategies=("exploit",)))
    result = simulate(data, fraud, revenue, config=SimulationConfig(
        initial_weeks=2, weeks=2, strategies=("random", "rules")))
    assert set(result.weekly["strategy"]) == {"random", "rules"}
