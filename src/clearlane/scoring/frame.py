"""``ScoreFrame``: what every scorer returns for a batch of declaration items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.schema.reasons import (
    ROW_NOT_SCORED,
    ROW_SCORED,
    SCORER_OK,
    SCORER_UNAVAILABLE,
    Reason,
    ScorerScore,
    reasons_to_json,
)

KEYS = ("declaration_id", "item_no")
"""The row key of every score frame: declaration id (string) and item number (int)."""


def row_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """``declaration_id`` (String) and ``item_no`` (Int64, 1 when absent) of ``frame``, in order."""
    if "declaration_id" not in frame.columns:
        raise ValidationError("scoring needs a 'declaration_id' column; got "
                              + ", ".join(frame.columns))
    return frame.select(
        pl.col("declaration_id").cast(pl.String),
        (pl.col("item_no").cast(pl.Int64) if "item_no" in frame.columns
         else pl.lit(1, pl.Int64).alias("item_no")),
    )


@dataclass(frozen=True, eq=False)
class ScoreFrame:
    """One scorer's scores of a batch, one row per input row, in input order.

    Attributes
    ----------
    scorer, version:
        The scorer's name and the version of what produced the scores (model version, bands
        version, rule-set fingerprint); None only when unavailable.
    keys:
        ``declaration_id`` and ``item_no`` of each row, in input order.
    scores:
        float64, **higher = riskier**, on the scorer's own scale. NaN exactly where ``scored``
        is false (and everywhere when the scorer is unavailable).
    reasons:
        Typed :class:`~clearlane.schema.reasons.Reason` tuples per row (empty when none); their
        ``evidence`` is structured (numbers and short strings), so programs never parse text.
    scored:
        Per-row status: true = scored, false = not scored (e.g. no reference for the row).
    status, message:
        ``ok``, or ``unavailable`` with a message saying why (e.g. no model registered).
    """

    scorer: str
    version: str | None
    keys: pl.DataFrame
    scores: np.ndarray
    reasons: tuple[tuple[Reason, ...], ...]
    scored: np.ndarray
    status: str = SCORER_OK
    message: str | None = None
    extra: pl.DataFrame | None = None
    """Scorer-specific per-row columns, same rows (e.g. the fraud model's expected revenue)."""

    def __post_init__(self) -> None:
        n = self.keys.height
        if self.extra is not None and self.extra.height != n:
            raise ValidationError(f"scorer {self.scorer!r}: extra columns have "
                                  f"{self.extra.height} rows for {n}")
        if self.keys.columns != list(KEYS):
            raise ValidationError(f"score frame keys must be {list(KEYS)}; got {self.keys.columns}")
        if len(self.scores) != n or len(self.reasons) != n or len(self.scored) != n:
            raise ValidationError(
                f"scorer {self.scorer!r} returned {len(self.scores)} scores, "
                f"{len(self.reasons)} reason tuples and {len(self.scored)} statuses for {n} rows")
        if self.status not in (SCORER_OK, SCORER_UNAVAILABLE):
            raise ValidationError(f"scorer status must be {SCORER_OK!r} or "
                                  f"{SCORER_UNAVAILABLE!r}; got {self.status!r}")
        if self.status == SCORER_UNAVAILABLE and not self.message:
            raise ValidationError(f"unavailable scorer {self.scorer!r} must say why (message)")
        if bool(np.any(np.isnan(self.scores) & self.scored)):
            raise ValidationError(f"scorer {self.scorer!r} gave NaN scores to rows marked scored")

    @classmethod
    def build(cls, scorer: str, version: str | None, keys: pl.DataFrame,
              scores: np.ndarray | Sequence[float],
              reasons: Sequence[tuple[Reason, ...]] | None = None,
              extra: pl.DataFrame | None = None) -> ScoreFrame:
        """A frame with ``ok`` status; rows whose score is NaN are marked not scored."""
        values = np.asarray(scores, dtype=np.float64)
        return cls(scorer, version, keys, values,
                   tuple(reasons) if reasons is not None else ((),) * keys.height,
                   ~np.isnan(values), extra=extra)

    @classmethod
    def unavailable(cls, scorer: str, keys: pl.DataFrame, message: str,
                    version: str | None = None) -> ScoreFrame:
        """The frame of a scorer that could not run: every row NaN and not scored."""
        n = keys.height
        return cls(scorer, version, keys, np.full(n, np.nan), ((),) * n,
                   np.zeros(n, dtype=bool), SCORER_UNAVAILABLE, message)

    @property
    def available(self) -> bool:
        return self.status == SCORER_OK

    def __len__(self) -> int:
        return self.keys.height

    def verdict(self, i: int) -> ScorerScore:
        """Row ``i``'s verdict, as a :class:`RiskAssessment` holds it (no score when the scorer
        was unavailable or the row not scored)."""
        if not self.available:
            return ScorerScore(self.scorer, self.version, SCORER_UNAVAILABLE, None, (),
                               self.message)
        scored = bool(self.scored[i])
        return ScorerScore(self.scorer, self.version, SCORER_OK if scored else ROW_NOT_SCORED,
                           float(self.scores[i]) if scored else None, self.reasons[i])

    def row_status(self) -> pl.Series:
        """``scored`` / ``not_scored`` per row (all ``not_scored`` when unavailable)."""
        return pl.Series("status", np.where(self.scored, ROW_SCORED, ROW_NOT_SCORED),
                         dtype=pl.String)

    @cached_property
    def _reasons_json(self) -> pl.Series:
        return pl.Series("reasons", [reasons_to_json(r) if r else "[]" for r in self.reasons],
                         dtype=pl.String)

    def reasons_json(self) -> pl.Series:
        """The reasons of each row as a JSON list (``[]`` when none)."""
        return self._reasons_json

    def to_frame(self) -> pl.DataFrame:
        """Keys, ``score`` (null where not scored), row ``status`` and ``reasons`` (JSON)."""
        return self.keys.with_columns(
            pl.Series("score", self.scores, dtype=pl.Float64).fill_nan(None),
            self.row_status(), self.reasons_json())
