"""Every shipped scorer returns a well-formed ScoreFrame: one row per input row, keys in input
order, higher = riskier on planted data, typed reasons with codes and structured evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.models import registry
from clearlane.rules import load_rules
from clearlane.schema.reasons import Reason
from clearlane.scoring import (
    AnomalyScorer,
    FraudScorer,
    HSCheckScorer,
    PriceCheckScorer,
    RuleScorer,
    ScoreFrame,
    Scorer,
    ScorerSpec,
    get_scorer,
    make_scorer,
    register_scorer,
    scorer_names,
)
from clearlane.scoring.registry import _SCORERS
from clearlane.services.hs import load_workspace_classifier
from clearlane.store.workspace import Workspace
from clearlane.valuation.registry import BandRegistry

EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "src/clearlane/rules/examples/basic.yaml"


def _shuffled(frame: pl.DataFrame, seed: int = 0) -> pl.DataFrame:
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


def assert_well_formed(result: ScoreFrame, frame: pl.DataFrame, scorer: Any) -> None:
    assert isinstance(scorer, Scorer)
    assert result.scorer == scorer.name and result.version == scorer.version
    assert result.available and result.status == "ok"
    assert len(result) == frame.height == len(result.scores) == len(result.reasons)
    assert result.keys["declaration_id"].to_list() == frame["declaration_id"].cast(
        pl.String).to_list()
    assert result.keys["item_no"].to_list() == frame["item_no"].cast(pl.Int64).to_list()
    assert result.scores.dtype == np.float64
    assert np.array_equal(np.isnan(result.scores), ~result.scored)
    for reasons in result.reasons:
        for reason in reasons:
            assert isinstance(reason, Reason) and reason.code and reason.text
            assert isinstance(reason.evidence, dict)
            assert all(isinstance(v, (int, float, str, bool, type(None), list))
                       for v in reason.evidence.values()), reason.evidence
    table = result.to_frame()
    assert table.columns == ["declaration_id", "item_no", "score", "status", "reasons"]


def _fraud(ws: Workspace) -> FraudScorer:
    record = registry.get_model(ws, None, kind="fraud")
    return FraudScorer(registry.load_model(ws, record), record.version, explain_share=0.2)


def _anomaly(ws: Workspace) -> AnomalyScorer:
    record = registry.get_model(ws, None, kind="anomaly")
    return AnomalyScorer(registry.load_model(ws, record), record.version, explain_share=0.2)


def test_fraud_scorer_ranks_frauds_higher(trained_workspace: Workspace,
                                          declarations: pl.DataFrame) -> None:
    frame = _shuffled(declarations)
    scorer = _fraud(trained_workspace)
    result = scorer.score(frame)
    assert_well_formed(result, frame, scorer)
    assert result.scored.all() and ((result.scores >= 0) & (result.scores <= 1)).all()
    assert result.extra is not None and "expected_revenue" in result.extra.columns
    labelled = frame["fraud"].is_not_null().to_numpy()
    fraud = frame["fraud"].fill_null(False).to_numpy()[labelled]
    scores = result.scores[labelled]
    # the model was trained on these rows: frauds must rank well above the others
    assert scores[fraud].mean() > scores[~fraud].mean()
    explained = [r for r in result.reasons if r]
    assert explained and all(r.evidence for rs in explained for r in rs[:1])


def _undervalued(frame: pl.DataFrame, n: int = 200) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The first ``n`` rows as declared and the same rows declared at a tenth of their value."""
    honest = frame.head(n)
    cut = honest.with_columns(pl.col("customs_value") / 10.0)
    return honest, cut


def test_anomaly_scorer_scores_undervaluation_higher_with_real_reasons(
        trained_workspace: Workspace, declarations: pl.DataFrame) -> None:
    scorer = _anomaly(trained_workspace)
    honest, cut = _undervalued(declarations.tail(1000))
    both = pl.concat([honest, cut])
    result = scorer.score(both)
    assert_well_formed(result, both, scorer)
    n = honest.height
    assert result.scores[n:].mean() > result.scores[:n].mean() + 1.0
    assert (result.scores[n:] >= result.scores[:n] - 1e-9).mean() > 0.95
    top = int(np.argmax(result.scores))
    codes = [r.code for r in result.reasons[top]]
    assert "UNIT_VALUE" in codes
    assert np.allclose(result.scores, scorer.detector.score_samples(both))


def test_hs_check_scorer_flags_a_wrong_heading(trained_workspace: Workspace,
                                               declarations: pl.DataFrame) -> None:
    classifier = load_workspace_classifier(trained_workspace)
    scorer = HSCheckScorer(classifier, "hs-test")
    rows = declarations.filter(pl.col("goods_description").is_not_null()).head(300)
    # plant: declare every description under a heading of another chapter
    wrong = rows.with_columns(pl.when(pl.col("hs_code").str.starts_with("27"))
                              .then(pl.lit("61046200")).otherwise(pl.lit("27101900"))
                              .alias("hs_code"))
    both = pl.concat([rows, wrong]).with_row_index("_i").with_columns(
        pl.when(pl.col("_i") == 0).then(None).otherwise(pl.col("goods_description"))
        .alias("goods_description")).drop("_i")
    result = scorer.score(both)
    assert_well_formed(result, both, scorer)
    assert not result.scored[0] and np.isnan(result.scores[0])  # no description: not scored
    n = rows.height
    assert np.nanmean(result.scores[n:]) > np.nanmean(result.scores[:n]) + 0.3
    flagged = [r for rs in result.reasons[n:] for r in rs]
    assert flagged and all(r.code == "HS_MISCLASSIFICATION" for r in flagged)
    assert {"declared_code", "suggested_code", "p_wrong"} <= set(flagged[0].evidence)


def test_price_check_scorer_flags_undervaluation(trained_workspace: Workspace,
                                                  declarations: pl.DataFrame) -> None:
    bands = BandRegistry(trained_workspace.artifacts_dir).load(None)
    scorer = PriceCheckScorer(bands)
    honest, cut = _undervalued(declarations.tail(1000))
    both = pl.concat([honest, cut])
    result = scorer.score(both)
    assert_well_formed(result, both, scorer)
    assert result.version == bands.meta.version
    n = honest.height
    planted = np.nan_to_num(result.scores[n:])
    assert planted.mean() > np.nan_to_num(result.scores[:n]).mean() + 0.2
    below = [r for rs in result.reasons[n:] for r in rs if r.code == "PRICE_BELOW_BAND"]
    assert below
    assert {"declared_unit_value", "band_low", "band_median", "reference"} <= set(
        below[0].evidence)
    assert below[0].evidence["declared_unit_value"] < below[0].evidence["band_low"]


def test_rule_scorer_matches_the_rule_hits(declarations: pl.DataFrame) -> None:
    from clearlane.rules import evaluate_rules

    rules = load_rules(EXAMPLE_RULES)
    scorer = RuleScorer(rules)
    frame = _shuffled(declarations, seed=2)
    result = scorer.score(frame)
    assert_well_formed(result, frame, scorer)
    hits = evaluate_rules(rules, frame)
    hit_keys = set(hits.select("declaration_id", "item_no").iter_rows())
    for key, score, reasons in zip(result.keys.iter_rows(), result.scores, result.reasons,
                                   strict=True):
        assert (score > 0) == (key in hit_keys) == bool(reasons)
        for reason in reasons:
            assert reason.code == "RULE_HIT" and reason.evidence["rule_id"]
            assert reason.weight <= score
    assert hit_keys


def test_score_frame_refuses_inconsistent_rows() -> None:
    keys = pl.DataFrame({"declaration_id": ["a", "b"], "item_no": [1, 1]})
    with pytest.raises(ValidationError, match="NaN"):
        ScoreFrame("x", "1", keys, np.array([0.1, np.nan]), ((), ()), np.array([True, True]))
    with pytest.raises(ValidationError, match="2 rows"):
        ScoreFrame.build("x", "1", keys, [0.1])
    with pytest.raises(ValidationError, match="must say why"):
        ScoreFrame("x", None, keys, np.full(2, np.nan), ((), ()), np.zeros(2, bool),
                   "unavailable")
    off = ScoreFrame.unavailable("x", keys, "no model")
    assert not off.available and off.row_status().to_list() == ["not_scored"] * 2


class _ConstantScorer:
    """A contributor's scorer: every row gets the same score."""

    name = "constant"
    version = "1"

    def __init__(self, value: float = 0.5) -> None:
        self.value = value

    def fit(self, frame: pl.DataFrame) -> _ConstantScorer:
        return self

    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        from clearlane.scoring import row_keys

        return ScoreFrame.build(self.name, self.version, row_keys(frame),
                                np.full(frame.height, self.value))


def test_registry_names_every_scorer_and_takes_a_new_one() -> None:
    assert scorer_names()[:5] == ("fraud", "anomaly", "hs_check", "price_check", "rules")
    with pytest.raises(ValidationError, match="unknown scorer 'nope'; valid: fraud, anomaly"):
        get_scorer("nope")
    spec = ScorerSpec("constant", "the same score for every row", _ConstantScorer)
    try:
        register_scorer(spec)
        with pytest.raises(ValidationError, match="already registered"):
            register_scorer(spec)
        scorer = make_scorer("constant", value=0.25)
        assert isinstance(scorer, Scorer)
        frame = pl.DataFrame({"declaration_id": ["a", "b"]})
        assert scorer.fit(frame).score(frame).scores.tolist() == [0.25, 0.25]
        assert get_scorer(spec) is spec
    finally:
        _SCORERS.pop("constant", None)
    assert isinstance(make_scorer("anomaly"), AnomalyScorer)
