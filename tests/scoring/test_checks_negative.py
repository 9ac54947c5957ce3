"""Every check of :mod:`clearlane.scoring.checks` can fail: one deliberately broken toy scorer
per check (it mutates its input, depends on column or row order, crashes on a new importer,
scores backwards, gives malformed reasons, ignores its seed, forgets its state, swallows a
corrupt file), each caught by its check; the worked example passes them all."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import example_scorer
import numpy as np
import polars as pl
import pytest
from example_scorer import HeadingUnitValueScorer

from clearlane.artifacts.allowlist import allow
from clearlane.errors import ValidationError
from clearlane.schema.reasons import Reason
from clearlane.scoring import ScoreFrame, row_keys
from clearlane.scoring.checks import (
    CHECKS,
    CheckCase,
    CheckFailed,
    CheckSkipped,
    check_names,
    frame_difference,
    get_check,
    run_check,
    run_checks,
)


def _declarations(n: int = 400, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    headings = np.array(["0901", "2203", "6109", "8471", "8703"])
    heading = headings[rng.integers(0, len(headings), n)]
    mass = np.round(rng.lognormal(3.0, 0.5, n), 1) + 0.1
    price = np.array([5.0, 2.0, 12.0, 80.0, 9.0])[np.searchsorted(np.sort(headings), heading)]
    return pl.DataFrame({
        "declaration_id": [f"D{i:05d}" for i in range(n)],
        "item_no": np.ones(n, dtype=np.int64),
        "declared_at": [date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 60, n)],
        "importer_id": [f"I{k}" for k in rng.integers(0, 20, n)],
        "origin_country": rng.choice(["CN", "FR", "IN"], n).tolist(),
        "hs_code": [f"{h}{rng.integers(10, 99)}00" for h in heading],
        "net_mass_kg": mass,
        "customs_value": np.round(mass * price * np.exp(rng.normal(0, 0.2, n)), 2),
    })


TRAIN, DATA = _declarations(600, 1), _declarations(200, 2)


def _case(factory: Any = HeadingUnitValueScorer, **kwargs: Any) -> CheckCase:
    params: dict[str, Any] = {
        "planted": example_scorer.undervalued,
        "save": lambda s, p: s.save(p),
        "load": lambda p: type_of(factory).load(p, trust=True),
        "seeded": lambda s: factory(random_state=s, max_rows=300),
    }
    params.update(kwargs)
    return CheckCase("toy", factory, TRAIN.clone(), DATA.clone(), **params)


def type_of(factory: Any) -> Any:
    return factory if isinstance(factory, type) else HeadingUnitValueScorer


# --- broken toys, one flaw each -----------------------------------------------------------------


class Mutates(HeadingUnitValueScorer):
    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        result = super().score(frame)
        frame.drop_in_place("customs_value")  # in place: the caller's frame loses a column
        return result


class ColumnOrder(HeadingUnitValueScorer):
    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        first = frame.select(pl.col(pl.Float64)).to_series(0).to_numpy()  # by position
        return ScoreFrame.build(self.name, self.version, row_keys(frame), first)


class RowOrder(HeadingUnitValueScorer):
    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        return ScoreFrame.build(self.name, self.version, row_keys(frame),
                                np.arange(frame.height, dtype=float))  # the row's position


class CrashesOnNewImporter(HeadingUnitValueScorer):
    def fit(self, frame: pl.DataFrame) -> CrashesOnNewImporter:
        super().fit(frame)
        self.importers_ = {i: 1.0 for i in frame["importer_id"].unique().to_list()}
        return self

    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        weights = [self.importers_[i] for i in frame["importer_id"].to_list()]  # KeyError
        return ScoreFrame.build(self.name, self.version, row_keys(frame), weights)


class Backwards(HeadingUnitValueScorer):
    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        result = super().score(frame)
        return ScoreFrame.build(self.name, self.version, result.keys, -result.scores,
                                result.reasons)


def _bad_reasons(reason: Reason) -> type[HeadingUnitValueScorer]:
    class BadReasons(HeadingUnitValueScorer):
        def score(self, frame: pl.DataFrame) -> ScoreFrame:
            result = super().score(frame)
            return ScoreFrame.build(self.name, self.version, result.keys, result.scores,
                                    [(reason,) if r else () for r in result.reasons])
    return BadReasons


class Silent(HeadingUnitValueScorer):
    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        result = super().score(frame)
        return ScoreFrame.build(self.name, self.version, result.keys, result.scores)


class IgnoresSeed(HeadingUnitValueScorer):
    def fit(self, frame: pl.DataFrame) -> IgnoresSeed:
        rng = np.random.default_rng()  # not seeded from random_state
        return super().fit(frame.sample(frame.height // 2, seed=int(rng.integers(1 << 30))))


class Forgets(HeadingUnitValueScorer):
    @classmethod
    def load(cls, path: Path, *, trusted_dir: Path | None = None,
             trust: bool = False) -> HeadingUnitValueScorer:
        HeadingUnitValueScorer.load(path, trust=True)
        return HeadingUnitValueScorer().fit(TRAIN.head(50))  # state not restored


class Swallows(HeadingUnitValueScorer):
    @classmethod
    def load(cls, path: Path, *, trusted_dir: Path | None = None,
             trust: bool = False) -> HeadingUnitValueScorer:
        try:
            return HeadingUnitValueScorer.load(path, trust=True)
        except Exception:
            return HeadingUnitValueScorer()  # a corrupt file silently becomes an empty model


class RawError(HeadingUnitValueScorer):
    @classmethod
    def load(cls, path: Path, *, trusted_dir: Path | None = None,
             trust: bool = False) -> HeadingUnitValueScorer:
        json.loads(path.read_bytes()[:10])  # a ValueError, not a ClearlaneError
        return HeadingUnitValueScorer()


allow([Forgets, Swallows, RawError])

BROKEN: list[tuple[str, Any, dict[str, Any], str]] = [
    ("input_not_mutated", Mutates, {}, "score\\(\\) changed its input"),
    ("column_order_irrelevant", ColumnOrder, {}, "reordering the columns"),
    ("row_order_irrelevant", RowOrder, {}, "shuffling the rows changed the scores"),
    ("unseen_categories", CrashesOnNewImporter, {}, "raised KeyError"),
    ("score_direction", Backwards, {}, "higher must mean riskier"),
    ("reasons_well_formed", _bad_reasons(Reason("low_case", "t", 1.0, {})), {},
     "not a non-empty UPPER_CASE"),
    ("reasons_well_formed", _bad_reasons(Reason("CODE", " ", 1.0, {})), {}, "has no text"),
    ("reasons_well_formed", _bad_reasons(Reason("CODE", "t", math.nan, {})), {},
     "not a finite number"),
    ("reasons_well_formed", _bad_reasons(Reason("CODE", "t", 1.0, {"x": math.inf})), {},
     "not JSON"),
    ("reasons_well_formed", _bad_reasons(Reason("CODE", "t", 1.0, {"x": object()})), {},
     "not JSON"),
    ("reasons_well_formed", _bad_reasons(Reason("CODE", "t", 1.0, ["x"])),  # type: ignore[arg-type]
     {}, "not a dict"),
    ("reasons_well_formed", Silent, {}, "gave no reason"),
    ("same_seed_same_result", IgnoresSeed, {}, "two fits with the same seed differ"),
    ("persistence_round_trip", Forgets, {"load": lambda p: Forgets.load(p)},
     "the loaded scorer differs"),
    ("corrupt_artifact_refused", Swallows, {"load": lambda p: Swallows.load(p)},
     "was loaded without an error"),
    ("corrupt_artifact_refused", RawError, {"load": lambda p: RawError.load(p)},
     "raised JSONDecodeError"),
]


@pytest.mark.parametrize(("check", "toy", "overrides", "message"), BROKEN,
                         ids=[f"{c}-{t.__name__}" for c, t, _, _ in BROKEN])
def test_each_check_catches_its_broken_toy(check: str, toy: Any, overrides: dict[str, Any],
                                           message: str) -> None:
    case = _case(toy, **overrides)
    with pytest.raises(CheckFailed, match=message):
        get_check(check)(case)
    outcome = run_check(check, _case(toy, **overrides))
    assert outcome.status == "failed" and outcome.message.startswith(f"{check}: ")


def test_every_check_has_a_broken_toy() -> None:
    assert {c for c, _, _, _ in BROKEN} == set(check_names())


def test_the_worked_example_passes_every_check() -> None:
    outcomes = run_checks(_case())
    assert [(o.check, o.status) for o in outcomes] == [(c.name, "passed") for c in CHECKS]


def test_a_check_that_does_not_apply_is_skipped_with_its_reason() -> None:
    case = _case(learns=False, save=None, load=None, seeded=None, planted=None,
                 skip={"unseen_categories": "toy reason"})
    outcomes = {o.check: o for o in run_checks(case)}
    assert outcomes["persistence_round_trip"].status == "skipped"
    assert outcomes["persistence_round_trip"].message == (
        "persistence_round_trip: toy does not learn: nothing to persist")
    assert outcomes["same_seed_same_result"].message.endswith("toy does not learn: no random state")
    assert outcomes["score_direction"].message == (
        "score_direction: the case gives no planted")
    assert outcomes["unseen_categories"].message == "unseen_categories: toy reason"
    with pytest.raises(CheckSkipped, match="toy reason"):
        get_check("unseen_categories")(case)


def test_checks_have_unique_names_and_descriptions() -> None:
    assert len(set(check_names())) == len(CHECKS) == 9
    assert all(c.description and "\n" not in c.description for c in CHECKS)
    with pytest.raises(ValidationError, match="unknown check 'nope'; valid: input_not_mutated"):
        get_check("nope")


def test_frame_difference_names_what_differs() -> None:
    scorer = HeadingUnitValueScorer().fit(TRAIN)
    a = scorer.score(DATA)
    assert frame_difference(a, scorer.score(DATA)) is None
    b = ScoreFrame.build(a.scorer, a.version, a.keys, a.scores * 1.01, a.reasons)
    assert (frame_difference(a, b) or "").startswith("scores differ")
    c = ScoreFrame.build(a.scorer, "other", a.keys, a.scores, a.reasons)
    assert "version" in (frame_difference(a, c) or "")
