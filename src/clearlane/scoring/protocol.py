"""The ``Scorer`` protocol: what the selector, ``assess`` and reports need from a scorer."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import polars as pl

from clearlane.scoring.frame import ScoreFrame


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores declaration items: higher = riskier, with typed reasons.

    ``name`` is stable (``fraud``, ``anomaly``, ``hs_check``, ``price_check``, ``rules``) and
    keys the scorer in stored assessments; ``version`` names what produced the scores (a model
    version, a bands version, a rule-set fingerprint) and is stored with every assessment.

    ``fit(frame)`` learns from canonical declarations and returns the scorer (a scorer that
    does not learn returns itself unchanged); ``score(frame)`` changes no state and returns a
    :class:`ScoreFrame` with one row per input row, in input order.
    """

    name: str
    version: str

    def fit(self, frame: pl.DataFrame) -> Scorer: ...

    def score(self, frame: pl.DataFrame) -> ScoreFrame: ...
