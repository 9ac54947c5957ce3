"""A worked example of a contributor's scorer (quoted in docs/extending.md).

"Declared unit value vs. the median of its HS heading": ``fit`` learns the median unit value
(customs value per kg) of every 4-digit heading from history; ``score`` gives each item the
log ratio of its heading's median to its declared unit value, so an item declared at a tenth
of its heading's usual price scores log(10) ≈ 2.3 (**higher = riskier**). An item of a heading
never seen in fit, or without a usable value or mass, is not scored (NaN), never guessed.
Items declared below half their heading's median carry a reason with structured evidence.

It is persisted through the artifact envelope (``clearlane.artifacts``) after its class is
added to the allowlist, and registered through the scorer registry by :func:`register`.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import polars as pl

from clearlane.artifacts import read_artifact, write_artifact
from clearlane.artifacts.allowlist import allow
from clearlane.errors import ArtifactError, ValidationError
from clearlane.schema.reasons import Reason
from clearlane.scoring import ScoreFrame, ScorerSpec, register_scorer, row_keys
from clearlane.scoring.registry import _SCORERS

NAME = "unit_value_vs_heading"
KIND = "unit_value_heading"
REASON_CODE = "UNIT_VALUE_BELOW_HEADING_MEDIAN"
FLAG_RATIO = 2.0
"""Items declared below 1/FLAG_RATIO of their heading's median get a reason."""


def _unit_value_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``heading`` (first 4 digits of the HS code) and ``log_unit_value`` (null when the value
    or the net mass is missing or not positive)."""
    return frame.select(
        pl.col("hs_code").cast(pl.String).str.replace_all(r"\D", "").str.slice(0, 4)
        .alias("heading"),
        pl.when((pl.col("customs_value") > 0) & (pl.col("net_mass_kg") > 0))
        .then((pl.col("customs_value") / pl.col("net_mass_kg")).log())
        .alias("log_unit_value"),
    )


class HeadingUnitValueScorer:
    """Declared unit value vs. the median unit value of its HS heading learned in fit."""

    name = NAME

    def __init__(self, *, min_count: int = 5, max_rows: int = 200_000,
                 random_state: int = 0) -> None:
        self.min_count = min_count
        self.max_rows = max_rows
        self.random_state = random_state
        self.version = "unfitted"
        self.medians_: dict[str, float] = {}

    def fit(self, frame: pl.DataFrame) -> HeadingUnitValueScorer:
        """Learn each heading's median log unit value from ``frame`` (history only: rows
        declared before the ones that will be scored), on at most ``max_rows`` rows drawn
        with ``random_state``."""
        if frame.height > self.max_rows:
            frame = frame.sample(self.max_rows, seed=self.random_state)
        medians = (_unit_value_columns(frame).drop_nulls()
                   .group_by("heading").agg(pl.len().alias("n"),
                                            pl.col("log_unit_value").median().alias("median"))
                   .filter(pl.col("n") >= self.min_count).sort("heading"))
        self.medians_ = dict(zip(medians["heading"].to_list(), medians["median"].to_list(),
                                 strict=True))
        learnt = json.dumps(self.medians_, sort_keys=True).encode()
        self.version = f"{NAME}-{hashlib.sha256(learnt).hexdigest()[:12]}"  # what it learnt
        return self

    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        """log(heading median / declared unit value) per item; NaN (not scored) without a
        learnt median or a usable unit value."""
        values = _unit_value_columns(frame)
        headings = values["heading"].to_list()
        medians = np.array([self.medians_.get(h, np.nan) if h else np.nan for h in headings])
        declared = values["log_unit_value"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        scores = medians - declared
        reasons: list[tuple[Reason, ...]] = [()] * frame.height
        for row in np.flatnonzero(np.nan_to_num(scores) > math.log(FLAG_RATIO)).tolist():
            ratio = math.exp(float(scores[row]))
            reasons[row] = (Reason(
                REASON_CODE,
                f"Declared unit value {math.exp(declared[row]):,.2f} per kg is {ratio:.1f} "
                f"times below the median of heading {headings[row]} "
                f"({math.exp(medians[row]):,.2f} per kg)",
                round(float(scores[row]), 4),
                {"heading": headings[row],
                 "declared_unit_value": round(math.exp(declared[row]), 4),
                 "heading_median": round(math.exp(medians[row]), 4),
                 "ratio": round(ratio, 4)}),)
        return ScoreFrame.build(self.name, self.version, row_keys(frame), scores, reasons)

    # persistence through the artifact envelope: data only, read back with every check
    def save(self, path: Path) -> None:
        write_artifact(self, path, kind=KIND, version=self.version)

    @classmethod
    def load(cls, path: Path, *, trusted_dir: Path | None = None,
             trust: bool = False) -> HeadingUnitValueScorer:
        scorer, _ = read_artifact(path, kind=KIND, trusted_dir=trusted_dir, trust=trust)
        if not isinstance(scorer, cls):
            raise ArtifactError(f"{path} holds a {type(scorer).__name__}, not a {cls.__name__}")
        if not all(isinstance(k, str) and isinstance(v, float)
                   for k, v in scorer.medians_.items()):
            raise ArtifactError(f"{path}: the heading medians are not text → number")
        return scorer


allow([HeadingUnitValueScorer])  # the only class this artifact may name

SPEC = ScorerSpec(NAME, "declared unit value vs. the median of its HS heading (log ratio)",
                  HeadingUnitValueScorer)


def register() -> ScorerSpec:
    """Add the example to the scorer registry (idempotent)."""
    return register_scorer(SPEC, replace=True)


def unregister() -> None:
    """Take the example out of the registry again (tests leave the registry as they found it;
    the registry's own doctest lists the shipped scorers)."""
    if _SCORERS.get(NAME) is SPEC:
        _SCORERS.pop(NAME)


def undervalued(frame: pl.DataFrame, factor: float = 10.0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Planted data: the rows as declared and the same rows declared ``factor`` times lower."""
    if factor <= 1:
        raise ValidationError("factor must exceed 1")
    return frame, frame.with_columns(pl.col("customs_value") / factor)
