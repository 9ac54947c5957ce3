"""The scorer check suite: what every :class:`~clearlane.scoring.protocol.Scorer` must pass.

In the spirit of scikit-learn's ``estimator_checks`` and River's ``checks``: each check is a
small named :class:`Check` in one registry (:data:`CHECKS`), run on a :class:`CheckCase` that
says how to build, fit, save and load the scorer and gives it a little data. A check raises
:class:`CheckFailed` (an ``AssertionError``) when the scorer breaks the contract, and
:class:`CheckSkipped` with a reason when the check does not apply (the rule set does not learn,
so it has nothing to persist): a skipped check is always named with its reason, never a silent
pass.

The checks: input not mutated, column order irrelevant, row order irrelevant, unseen
categories handled, score direction (higher = riskier on planted data), reasons well-formed,
persistence round trip through the artifact envelope, same seed same result, corrupt artifact
refused with a :class:`~clearlane.errors.ClearlaneError`.

Run them on your own scorer without pytest:

>>> import numpy as np, polars as pl
>>> from clearlane.scoring import ScoreFrame, row_keys
>>> class Value:
...     name, version = "value", "1"
...     def fit(self, frame): return self
...     def score(self, frame):
...         return ScoreFrame.build(self.name, self.version, row_keys(frame),
...                                 frame["customs_value"].cast(pl.Float64).to_numpy())
>>> data = pl.DataFrame({"declaration_id": ["a", "b", "c"], "item_no": [1, 1, 1],
...                      "customs_value": [1.0, 2.0, 3.0], "importer_id": ["i", "j", "k"]})
>>> case = CheckCase("value", Value, data, data, learns=False,
...                  planted=lambda f: (f.head(1), f.tail(1)),
...                  skip={"reasons_well_formed": "gives no reasons"})
>>> [(o.check, o.status) for o in run_checks(case)][:3]
[('input_not_mutated', 'passed'), ('column_order_irrelevant', 'passed'), ('row_order_irrelevant', 'passed')]
>>> print(run_checks(case, ["persistence_round_trip"])[0].message)
persistence_round_trip: value does not learn: nothing to persist
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ClearlaneError, ValidationError
from clearlane.schema.reasons import Reason
from clearlane.scoring.frame import ScoreFrame, row_keys
from clearlane.scoring.protocol import Scorer

UNSEEN_COLUMNS = ("importer_id", "hs_code", "origin_country")
"""Categorical columns whose values the unseen-categories check replaces."""
REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
TOLERANCE = 1e-12
"""Relative tolerance when two score frames must be the same (float summation order only)."""


class CheckFailed(AssertionError):
    """A scorer broke the contract a check verifies (the message says how)."""


class CheckSkipped(Exception):
    """A check does not apply to the scorer; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckCase:
    """How to run the checks on one scorer.

    ``make()`` builds a fresh scorer; with ``learns`` it is fitted on ``train`` before
    scoring, otherwise it must be ready to score (e.g. loaded from a workspace). ``data`` is
    scored by most checks (a few hundred rows is plenty).

    Optional parts, each enabling checks (a check whose part is missing is skipped, with the
    reason given in ``skip`` or a default one):

    * ``fitted()``: a ready scorer to use instead of ``make()`` + fit (a trained model
      loaded from a workspace is faster than a fit per check);
    * ``planted(data) -> (normal, risky)``: two frames where the second is known riskier
      (score direction, and reasons on risky rows);
    * ``save(scorer, path)`` and ``load(path) -> scorer``: persistence through the artifact
      envelope (round trip, corrupt file refused);
    * ``seeded(seed) -> scorer``: an unfitted scorer with that random state (same seed, same
      result; fitted on ``train``).
    """

    name: str
    make: Callable[[], Scorer]
    train: pl.DataFrame
    data: pl.DataFrame
    learns: bool = True
    fitted: Callable[[], Scorer] | None = None
    planted: Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]] | None = None
    save: Callable[[Scorer, Path], Any] | None = None
    load: Callable[[Path], Scorer] | None = None
    seeded: Callable[[int], Scorer] | None = None
    unseen_columns: tuple[str, ...] = UNSEEN_COLUMNS
    skip: Mapping[str, str] = field(default_factory=dict)
    """Why a check does not apply, by check name (the check is skipped with this reason)."""

    def ready(self) -> Scorer:
        """A scorer ready to score: ``fitted()``, else ``make()`` fitted on ``train`` when it
        learns."""
        if self.fitted is not None:
            return self.fitted()
        scorer = self.make()
        return scorer.fit(self.train) if self.learns else scorer


CheckFunction = Callable[[CheckCase], None]


@dataclass(frozen=True)
class Check:
    """One named check: ``function(case)`` raises :class:`CheckFailed` or
    :class:`CheckSkipped`, or returns when the scorer passes."""

    name: str
    description: str
    function: CheckFunction

    def __call__(self, case: CheckCase) -> None:
        reason = case.skip.get(self.name)
        if reason is not None:
            raise CheckSkipped(reason)
        self.function(case)


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check on one case: ``passed``, ``failed`` or ``skipped``."""

    check: str
    status: str
    message: str = ""


# --- helpers -------------------------------------------------------------------------------


def _fail(case: CheckCase, text: str) -> CheckFailed:
    return CheckFailed(f"scorer {case.name!r}: {text}")


def _score(case: CheckCase, scorer: Scorer, frame: pl.DataFrame) -> ScoreFrame:
    result = scorer.score(frame)
    if not isinstance(result, ScoreFrame):
        raise _fail(case, f"score() returned a {type(result).__name__}, not a ScoreFrame")
    if len(result) != frame.height:
        raise _fail(case, f"score() returned {len(result)} rows for {frame.height}")
    return result


def _same_scores(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a.shape == b.shape and np.allclose(a, b, rtol=TOLERANCE, atol=0.0,
                                                   equal_nan=True))


def frame_difference(a: ScoreFrame, b: ScoreFrame) -> str | None:
    """What differs between two score frames of the same rows (None when they are the same:
    name, version, status, keys, scores within :data:`TOLERANCE`, row status, reasons,
    ``extra``)."""
    if (a.scorer, a.version, a.status, a.message) != (b.scorer, b.version, b.status, b.message):
        return (f"name/version/status differ: {(a.scorer, a.version, a.status)} vs "
                f"{(b.scorer, b.version, b.status)}")
    if not a.keys.equals(b.keys):
        return "row keys differ"
    if not np.array_equal(a.scored, b.scored):
        return f"row status differs on {int((a.scored != b.scored).sum())} row(s)"
    if not _same_scores(a.scores, b.scores):
        bad = ~np.isclose(a.scores, b.scores, rtol=TOLERANCE, atol=0.0, equal_nan=True)
        return f"scores differ on {int(bad.sum())} row(s), e.g. row {int(np.argmax(bad))}"
    if a.reasons_json().to_list() != b.reasons_json().to_list():
        return "reasons differ"
    if (a.extra is None) != (b.extra is None) or (
            a.extra is not None and b.extra is not None and not a.extra.equals(b.extra)):
        return "extra columns differ"
    return None


def _by_key(result: ScoreFrame) -> dict[tuple[Any, ...], float]:
    scores: dict[tuple[Any, ...], float] = {}
    for key, value in zip(result.keys.iter_rows(), result.scores.tolist(), strict=True):
        if key in scores:
            raise CheckFailed(f"scorer {result.scorer!r}: row key {key} appears twice in the "
                              "check data; give the case unique (declaration_id, item_no)")
        scores[key] = value
    return scores


def _needs(case: CheckCase, check: str, *parts: str) -> None:
    missing = [p for p in parts if getattr(case, p) is None]
    if not missing:
        return
    if not case.learns and check in ("persistence_round_trip", "corrupt_artifact_refused"):
        raise CheckSkipped(f"{case.name} does not learn: nothing to persist")
    if not case.learns and check == "same_seed_same_result":
        raise CheckSkipped(f"{case.name} does not learn: no random state")
    raise CheckSkipped(f"the case gives no {' / '.join(missing)}")


# --- the checks ----------------------------------------------------------------------------


def check_input_not_mutated(case: CheckCase) -> None:
    """``fit`` and ``score`` leave their input frames exactly as they were."""
    train, data = case.train.clone(), case.data.clone()
    scorer = case.make()
    if case.learns:
        scorer = scorer.fit(case.train)
        if not case.train.equals(train) or case.train.schema != train.schema:
            raise _fail(case, "fit() changed its input frame")
    _score(case, scorer, case.data)
    if not case.data.equals(data) or case.data.schema != data.schema:
        raise _fail(case, "score() changed its input frame")


def check_column_order_irrelevant(case: CheckCase) -> None:
    """The same rows with their columns in reverse order give the same score frame."""
    scorer = case.ready()
    reversed_columns = case.data.columns[::-1]  # every pair of columns swaps places
    difference = frame_difference(_score(case, scorer, case.data),
                                  _score(case, scorer, case.data.select(reversed_columns)))
    if difference:
        raise _fail(case, f"reordering the columns changed the result: {difference}")


def check_row_order_irrelevant(case: CheckCase) -> None:
    """Shuffled rows get the same score per row key, and the frame follows the input order."""
    scorer = case.ready()
    shuffled = case.data.sample(fraction=1.0, shuffle=True, seed=1)
    first, second = _score(case, scorer, case.data), _score(case, scorer, shuffled)
    if not second.keys.equals(row_keys(shuffled)):
        raise _fail(case, "the score frame's keys are not in the input's row order")
    a, b = _by_key(first), _by_key(second)
    keys = list(a)
    if not _same_scores(np.array([a[k] for k in keys]), np.array([b[k] for k in keys])):
        changed = [k for k in keys if not (a[k] == b[k] or (math.isnan(a[k])
                                                             and math.isnan(b[k])))]
        raise _fail(case, f"shuffling the rows changed the scores of {len(changed)} item(s), "
                          f"e.g. {changed[0]}: {a[changed[0]]!r} vs {b[changed[0]]!r}")


def _unseen_value(column: str, seen: set[Any]) -> str:
    if column == "hs_code":
        from clearlane.reference.hs_nomenclature import codes_at_level

        width = max((len(str(v)) for v in seen), default=6)
        for code in sorted(codes_at_level(6)):
            value = code.ljust(width, "0")
            if value not in seen and code[:4] not in {str(s)[:4] for s in seen}:
                return value
    return f"UNSEEN-{column.upper()}-0001"


def check_unseen_categories(case: CheckCase) -> None:
    """Importers, HS codes and origins never seen in fit get finite scores or an explicit
    ``not_scored`` status, never a crash."""
    scorer = case.ready()
    columns = [c for c in case.unseen_columns if c in case.data.columns]
    if not columns:
        raise CheckSkipped(f"the data has none of the columns {list(case.unseen_columns)}")
    replaced = case.data.with_columns(
        pl.lit(_unseen_value(c, set(case.train[c].drop_nulls().cast(pl.String).to_list())
                             if c in case.train.columns else set()))
        .cast(case.data.schema[c]).alias(c) for c in columns)
    try:
        result = _score(case, scorer, replaced)
    except CheckFailed:
        raise
    except Exception as exc:
        raise _fail(case, f"unseen values of {columns} raised {type(exc).__name__}: "
                          f"{exc}") from exc
    scored = result.scores[result.scored]
    if not np.isfinite(scored).all():
        raise _fail(case, "unseen categories gave infinite scores to rows marked scored")


def check_score_direction(case: CheckCase) -> None:
    """Higher = riskier: the planted risky rows score above the normal ones on average."""
    _needs(case, "score_direction", "planted")
    assert case.planted is not None
    scorer = case.ready()
    normal, risky = case.planted(case.data)
    low, high = _score(case, scorer, normal), _score(case, scorer, risky)
    if not low.scored.any() or not high.scored.any():
        raise _fail(case, "no planted row was scored: the direction cannot be checked")
    low_mean = float(np.mean(low.scores[low.scored]))
    high_mean = float(np.mean(high.scores[high.scored]))
    if not high_mean > low_mean:
        raise _fail(case, f"planted risky rows score {high_mean:.4g} on average, not above "
                          f"the normal rows' {low_mean:.4g} (higher must mean riskier)")


def _reason_problem(reason: object) -> str | None:
    if not isinstance(reason, Reason):
        return f"{reason!r} is a {type(reason).__name__}, not a Reason"
    if not isinstance(reason.code, str) or not REASON_CODE.match(reason.code):
        return f"code {reason.code!r} is not a non-empty UPPER_CASE identifier"
    if not isinstance(reason.text, str) or not reason.text.strip():
        return f"reason {reason.code} has no text"
    if not isinstance(reason.weight, (int, float)) or not math.isfinite(reason.weight):
        return f"reason {reason.code} has a weight that is not a finite number: {reason.weight!r}"
    if not isinstance(reason.evidence, dict):
        return f"reason {reason.code} has evidence that is not a dict: {reason.evidence!r}"
    try:
        json.dumps(reason.evidence, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return f"reason {reason.code} has evidence that is not JSON: {exc}"
    return None


def check_reasons_well_formed(case: CheckCase) -> None:
    """Every reason: an UPPER_CASE code, a text, a finite weight, a JSON-serialisable dict of
    evidence; and the planted risky rows (else the data) carry at least one reason."""
    scorer = case.ready()
    frames = [case.data]
    if case.planted is not None:
        frames.append(case.planted(case.data)[1])
    reasons = [r for frame in frames for rs in _score(case, scorer, frame).reasons for r in rs]
    if not reasons:
        raise _fail(case, "gave no reason on any row (planted risky rows included): a flagged "
                          "row must say why")
    for reason in reasons:
        problem = _reason_problem(reason)
        if problem:
            raise _fail(case, problem)


def _saved(case: CheckCase, scorer: Scorer, folder: Path) -> Path:
    assert case.save is not None
    path = folder / f"{case.name}.clz"
    case.save(scorer, path)
    if not path.is_file():
        raise _fail(case, f"save() wrote nothing at {path}")
    return path


def check_persistence_round_trip(case: CheckCase) -> None:
    """Saved through the artifact envelope and loaded back, the scorer gives the same score
    frame."""
    _needs(case, "persistence_round_trip", "save", "load")
    assert case.load is not None
    scorer = case.ready()
    before = _score(case, scorer, case.data)
    with tempfile.TemporaryDirectory() as folder:
        path = _saved(case, scorer, Path(folder))
        loaded = case.load(path)
    difference = frame_difference(before, _score(case, loaded, case.data))
    if difference:
        raise _fail(case, f"the loaded scorer differs from the saved one: {difference}")


def check_same_seed_same_result(case: CheckCase) -> None:
    """Two fits with the same random state on the same data give the same score frame."""
    _needs(case, "same_seed_same_result", "seeded")
    assert case.seeded is not None
    first = _score(case, case.seeded(7).fit(case.train), case.data)
    second = _score(case, case.seeded(7).fit(case.train), case.data)
    difference = frame_difference(first, second)
    if difference:
        raise _fail(case, f"two fits with the same seed differ: {difference}")


CORRUPTIONS: tuple[tuple[str, Callable[[bytes], bytes]], ...] = (
    ("truncated to half", lambda b: b[: len(b) // 2]),
    ("emptied", lambda b: b""),
    ("16 bytes flipped in the middle", lambda b: b[: len(b) // 2]
     + bytes(x ^ 0xFF for x in b[len(b) // 2: len(b) // 2 + 16]) + b[len(b) // 2 + 16:]),
    ("16 bytes flipped at three quarters", lambda b: b[: 3 * len(b) // 4]
     + bytes(x ^ 0xFF for x in b[3 * len(b) // 4: 3 * len(b) // 4 + 16])
     + b[3 * len(b) // 4 + 16:]),
    ("replaced by a foreign file", lambda b: b'{"format": "something else"}\n' + b[:64]),
)
"""How the corrupt-artifact check damages a saved file."""


def check_corrupt_artifact_refused(case: CheckCase) -> None:
    """A damaged artifact (truncated, emptied, bytes flipped, a foreign file) is refused with
    a :class:`~clearlane.errors.ClearlaneError`: never loaded, never another exception."""
    _needs(case, "corrupt_artifact_refused", "save", "load")
    assert case.load is not None
    scorer = case.ready()
    with tempfile.TemporaryDirectory() as folder:
        path = _saved(case, scorer, Path(folder))
        original = path.read_bytes()
        for what, damage in CORRUPTIONS:
            path.write_bytes(damage(original))
            try:
                case.load(path)
            except ClearlaneError as exc:
                if not str(exc).strip():
                    raise _fail(case, f"artifact {what}: the error has no message") from exc
                continue
            except Exception as exc:
                raise _fail(case, f"artifact {what}: loading raised {type(exc).__name__} "
                                  f"({exc}), not a ClearlaneError") from exc
            raise _fail(case, f"artifact {what} was loaded without an error")


CHECKS: tuple[Check, ...] = tuple(
    Check(function.__name__.removeprefix("check_"),
          (function.__doc__ or "").strip().split("\n\n")[0].replace("\n   ", ""), function)
    for function in (
        check_input_not_mutated, check_column_order_irrelevant, check_row_order_irrelevant,
        check_unseen_categories, check_score_direction, check_reasons_well_formed,
        check_persistence_round_trip, check_same_seed_same_result,
        check_corrupt_artifact_refused,
    )
)
"""Every check, in the order they run."""


def check_names() -> tuple[str, ...]:
    return tuple(c.name for c in CHECKS)


def get_check(name: str) -> Check:
    """A check by name; an unknown name lists the valid ones."""
    for check in CHECKS:
        if check.name == name:
            return check
    raise ValidationError(f"unknown check {name!r}; valid: {', '.join(check_names())}")


def run_check(check: Check | str, case: CheckCase) -> CheckOutcome:
    """Run one check: a skip is an outcome with its reason, a failure with its message."""
    check = get_check(check) if isinstance(check, str) else check
    try:
        check(case)
    except CheckSkipped as skip:
        return CheckOutcome(check.name, "skipped", f"{check.name}: {skip.reason}")
    except CheckFailed as failure:
        return CheckOutcome(check.name, "failed", f"{check.name}: {failure}")
    return CheckOutcome(check.name, "passed")


def run_checks(case: CheckCase, checks: Iterable[Check | str] | None = None) -> list[CheckOutcome]:
    """Run the checks (all of :data:`CHECKS` by default) on ``case``. An exception other than
    a failure or a skip propagates: a crash is a bug to see with its traceback."""
    return [run_check(c, case) for c in (CHECKS if checks is None else checks)]
