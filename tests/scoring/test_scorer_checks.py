"""The scorer check suite (:mod:`clearlane.scoring.checks`) on every scorer shipped and the
worked example: one test per (scorer, check).

The scorers come from the scorer registry, so a newly registered scorer is picked up here
automatically: it fails until it has a case in :func:`_cases`. A check that does not apply is
skipped with its name and the reason (``pytest -ra`` lists them), never passed silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import example_scorer
import polars as pl
import pytest
from example_scorer import HeadingUnitValueScorer

from clearlane.artifacts import read_artifact, write_artifact
from clearlane.hs.classifier import HSClassifier
from clearlane.models import registry
from clearlane.models.anomaly import AnomalyDetector
from clearlane.models.fraud import FraudModel
from clearlane.rules import evaluate_rules, load_rules
from clearlane.scoring import (
    AnomalyScorer,
    FraudScorer,
    HSCheckScorer,
    PriceCheckScorer,
    RuleScorer,
    Scorer,
    make_scorer,
    scorer_names,
)
from clearlane.scoring.checks import CHECKS, Check, CheckCase, CheckSkipped
from clearlane.services.hs import load_workspace_classifier
from clearlane.store.workspace import Workspace
from clearlane.valuation.registry import BandRegistry

EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "src/clearlane/rules/examples/basic.yaml"
SCORERS = (*scorer_names(), example_scorer.NAME)
"""Every registered scorer (read at collection) and the worked example."""


@pytest.fixture(scope="module")
def registered_example() -> Iterator[None]:
    example_scorer.register()
    yield
    example_scorer.unregister()


def _envelope(kind: str, obj: Callable[[Scorer], object], version: Callable[[Scorer], str],
              wrap: Callable[[object, str], Scorer]
              ) -> tuple[Callable[[Scorer, Path], object], Callable[[Path], Scorer]]:
    """save/load through the artifact envelope (trusted folder: the file's own)."""
    def save(scorer: Scorer, path: Path) -> object:
        return write_artifact(obj(scorer), path, kind=kind, version=version(scorer))

    def load(path: Path) -> Scorer:
        loaded, manifest = read_artifact(path, kind=kind, trusted_dir=path.parent)
        return wrap(loaded, str(manifest["version"]))
    return save, load


def _undervalued(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return frame, frame.with_columns(pl.col("customs_value") / 10.0)


def _wrong_heading(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.filter(pl.col("goods_description").is_not_null())
    wrong = rows.with_columns(pl.when(pl.col("hs_code").str.starts_with("27"))
                              .then(pl.lit("61046200")).otherwise(pl.lit("27101900"))
                              .alias("hs_code"))
    return rows, wrong


def _cases(ws: Workspace, declarations: pl.DataFrame) -> dict[str, CheckCase]:
    history = declarations.sort("declared_at", "declaration_id", "item_no")
    train, data = history.head(1800), history.tail(300)
    described = train.filter(pl.col("goods_description").is_not_null()).head(400)

    fraud_record = registry.get_model(ws, None, kind="fraud")
    anomaly_record = registry.get_model(ws, None, kind="anomaly")

    def fraud_model(seed: int) -> FraudScorer:
        return FraudScorer(FraudModel(random_state=seed, max_rounds=80,
                                      early_stopping_rounds=20), explain_share=0.2)

    fraud_save, fraud_load = _envelope(
        "fraud", lambda s: s.model, lambda s: s.version,  # type: ignore[attr-defined]
        lambda m, v: FraudScorer(m, v, explain_share=0.2))
    labelled = history.filter(pl.col("fraud").is_not_null())

    anomaly_save, anomaly_load = _envelope(
        "anomaly", lambda s: s.detector, lambda s: s.version,  # type: ignore[attr-defined]
        lambda m, v: AnomalyScorer(m, v, explain_share=0.2))

    hs_save, hs_load = _envelope(
        "hs", lambda s: s.classifier, lambda s: s.version,  # type: ignore[attr-defined]
        lambda m, v: HSCheckScorer(m, v))

    bands = BandRegistry(ws.artifacts_dir).load(None)
    price_save, price_load = _envelope(
        "bands", lambda s: s.bands, lambda s: s.version,  # type: ignore[attr-defined]
        lambda m, v: PriceCheckScorer(m))

    rules = load_rules(EXAMPLE_RULES)
    hit_keys = evaluate_rules(rules, history).select("declaration_id", "item_no").unique()

    def rule_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        hit = history.join(hit_keys, on=["declaration_id", "item_no"], how="semi")
        return history.join(hit_keys, on=["declaration_id", "item_no"], how="anti"), hit

    return {
        "fraud": CheckCase(
            "fraud", lambda: fraud_model(0), train, data,
            fitted=cache(lambda: FraudScorer(registry.load_model(ws, fraud_record),
                                             fraud_record.version, explain_share=0.2)),
            # frauds vs clean rows among the labelled ones the model was trained on
            planted=lambda _: (labelled.filter(~pl.col("fraud")), labelled.filter("fraud")),
            save=fraud_save, load=fraud_load, seeded=fraud_model),
        "anomaly": CheckCase(
            "anomaly", lambda: AnomalyScorer(AnomalyDetector(random_state=0)), train, data,
            fitted=cache(lambda: AnomalyScorer(registry.load_model(ws, anomaly_record),
                                               anomaly_record.version, explain_share=0.2)),
            planted=_undervalued, save=anomaly_save, load=anomaly_load,
            seeded=lambda s: AnomalyScorer(AnomalyDetector(random_state=s), explain_share=0.2)),
        "hs_check": CheckCase(
            "hs_check", lambda: HSCheckScorer(HSClassifier(random_state=0, max_iter=3),
                                              "hs-test"), described, data,
            fitted=cache(lambda: HSCheckScorer(load_workspace_classifier(ws), "hs-workspace")),
            planted=_wrong_heading, save=hs_save, load=hs_load,
            seeded=lambda s: HSCheckScorer(HSClassifier(random_state=s, max_iter=3), "hs-seed")),
        "price_check": CheckCase(
            "price_check", lambda: PriceCheckScorer(bands), train, data, learns=False,
            planted=_undervalued, save=price_save, load=price_load,
            skip={"same_seed_same_result": "the price check does not learn in fit: its value "
                  "bands are built by `clearlane valuation build`, with no random state"}),
        "rules": CheckCase(
            "rules", lambda: RuleScorer(rules), train, data, learns=False,
            planted=rule_rows,
            skip={"persistence_round_trip": "rules are written by people (YAML), not learnt: "
                  "no artifact", "corrupt_artifact_refused": "rules keep no artifact",
                  "same_seed_same_result": "rules are not fitted: no random state"}),
        example_scorer.NAME: CheckCase(
            example_scorer.NAME, lambda: make_scorer(example_scorer.NAME), train, data,
            planted=example_scorer.undervalued,
            save=lambda s, p: s.save(p),  # type: ignore[attr-defined]
            load=lambda p: HeadingUnitValueScorer.load(p, trusted_dir=p.parent),
            seeded=lambda s: make_scorer(example_scorer.NAME, random_state=s, max_rows=1000)),
    }


@pytest.fixture(scope="module")
def cases(trained_workspace: Workspace, declarations: pl.DataFrame,
          registered_example: None) -> dict[str, CheckCase]:
    return _cases(trained_workspace, declarations)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
@pytest.mark.parametrize("name", SCORERS)
def test_scorer_passes_check(name: str, check: Check, cases: dict[str, CheckCase]) -> None:
    if name not in cases:
        pytest.fail(f"scorer {name!r} is registered but has no check case: add one to "
                    "_cases() in tests/scoring/test_scorer_checks.py")
    try:
        check(cases[name])
    except CheckSkipped as skip:
        pytest.skip(f"{name}: {check.name}: {skip.reason}")


def test_every_shipped_scorer_is_checked() -> None:
    assert {"fraud", "anomaly", "hs_check", "price_check", "rules"} <= set(SCORERS)
    assert example_scorer.NAME in SCORERS


def test_the_guide_quotes_the_worked_example_as_it_is() -> None:
    """docs/extending.md's code excerpts are copied from these files (all but the sketch of a
    contributor's own scorer)."""
    here = Path(__file__).resolve().parent
    guide = (here.parents[1] / "docs" / "extending.md").read_text(encoding="utf-8")
    sources = "".join((here / f).read_text(encoding="utf-8")
                      for f in ("example_scorer.py", "test_scorer_checks.py"))
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)
    quoted = [b for b in blocks if "MyScorer" not in b]
    assert len(quoted) >= 5
    for block in quoted:
        assert block in sources, block[:200]
