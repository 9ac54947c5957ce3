"""History carried forward from one time partition to the next.

:meth:`FeaturePipeline.transform` of a batch dated after the fitted history gives each row the
fitted history plus the batch's own rows on earlier days (their counts and values, never their
outcomes). Scoring a batch month by month must give the same features, so the history that
scores partition ``k`` is the fitted history *advanced* by the rows of partitions ``0 … k−1``:
their per-key daily sums (without labels) are added to the pipeline's daily sums and its
cumulative state rebuilt, exactly as the pipeline's general path does for a batch's later rows.
Rows dated on or before the end of the history add nothing (the history already holds them).

The advanced pipeline is a copy; the fitted one is never changed. It uses only the fitted
attributes every :class:`~clearlane.features.FeaturePipeline` has (``daily_``, ``state_``,
``history_end_``, ``extra_columns_``) and the history functions of
:mod:`clearlane.features.history`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import polars as pl

from clearlane.errors import ValidationError
from clearlane.features.catalog import GROUPS_BY_NAME
from clearlane.features.history import (
    ALL_GROUP,
    SENTINEL_DAY,
    SUMS,
    daily_sums,
    extend_state,
)
from clearlane.features.pipeline import FeaturePipeline
from clearlane.features.prepare import prepare

_CACHES = ("_keyed_history", "_lookup")
"""Look-up structures a pipeline builds from its state on first use: stale once advanced."""

M = TypeVar("M")


def advance_pipeline(pipeline: FeaturePipeline, rows: pl.DataFrame) -> FeaturePipeline:
    """A copy of ``pipeline`` whose history also holds ``rows`` dated after its history's end
    (counts and values only: outcome columns are ignored). ``rows`` must all be dated after
    the rows added before (partitions in time order); earlier rows are ignored."""
    if not hasattr(pipeline, "state_"):
        raise ValidationError("cannot carry the history of an unfitted FeaturePipeline")
    prep = prepare(rows, pipeline.extra_columns_).filter(pl.col("day") > pipeline.history_end_)
    advanced = copy.copy(pipeline)
    for cache in _CACHES:
        advanced.__dict__.pop(cache, None)
    if prep.height == 0:
        return advanced
    last: date = prep["day"].max()  # type: ignore[assignment]
    window = getattr(pipeline, "window_days", None)
    # every later row is dated after ``last``: its look-ups start at ``last + 1 − window``
    cutoff = last + timedelta(days=1 - window) if window is not None else None
    daily: dict[str, pl.DataFrame] = {}
    state: dict[str, pl.DataFrame] = {}
    for name, history in pipeline.daily_.items():
        group = GROUPS_BY_NAME.get(name, ALL_GROUP)
        added = daily_sums(prep, group, labels=False)
        # the added days all follow the history's, so no (key, day) is in both: the pipeline's
        # general path sums such pairs again (group_by), which leaves every value as it is
        daily[name] = pl.concat([history, added], how="vertical")
        state[name] = extend_state(pipeline.state_[name], added)
        if cutoff is not None:
            daily[name], state[name] = fold_history(daily[name], state[name], cutoff)
    advanced.daily_ = daily
    advanced.state_ = state
    advanced.history_end_ = last
    return advanced


def fold_history(daily: pl.DataFrame, state: pl.DataFrame, cutoff: date
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``daily`` (per key and day sums) and its cumulative ``state`` with each key's days before
    ``cutoff`` folded into one row dated on the key's first day.

    A row dated on or after ``cutoff + window`` looks the history up on its own day and on the
    first day of its window, never before ``cutoff``: there it needs a key's sums through the
    last day before ``cutoff`` and its first day, nothing else. The folded row holds those
    running sums, taken from the state's last row before ``cutoff``, so the daily sums and the
    state stay each other's (``cumulative_state(daily)`` is the state, bit for bit) and the
    carried history grows with the keys and the window, not with every day since the first.
    """
    sentinel = pl.col("day") == SENTINEL_DAY
    folded = (state.filter((pl.col("day") < cutoff) & ~sentinel)
              .group_by("key").agg(pl.all().last())
              .with_columns(pl.col("t_first_day").alias("day")).select(state.columns)
              .sort("day"))
    if folded.height == 0:
        return daily, state
    kept = pl.col("day") >= cutoff
    # still sorted by day without sorting it all: sentinels, folded rows, then the window
    state = pl.concat([state.filter(sentinel), folded, state.filter(kept)], how="vertical")
    sums = folded.select("key", "day", *[pl.col(f"c_{c}").alias(c) for c in SUMS])
    daily = pl.concat([sums.select(daily.columns), daily.filter(kept)], how="vertical")
    return daily, state


def advance_models(models: dict[str, Any], rows: pl.DataFrame) -> dict[str, Any]:
    """Copies of fitted models (each with a ``pipeline_``) whose pipelines hold ``rows`` too.

    Models that share one pipeline object still share one advanced copy.
    """
    advanced: dict[int, FeaturePipeline] = {}
    out: dict[str, Any] = {}
    for name, model in models.items():
        pipeline = model.pipeline_
        if id(pipeline) not in advanced:
            advanced[id(pipeline)] = advance_pipeline(pipeline, rows)
        out[name] = _with_pipeline(model, advanced[id(pipeline)])
    return out


def _with_pipeline(model: M, pipeline: FeaturePipeline) -> M:
    clone = copy.copy(model)
    clone.pipeline_ = pipeline  # type: ignore[attr-defined]
    return clone


def carried_features(pipeline: FeaturePipeline, partitions: list[pl.DataFrame],
                     transform: Callable[[FeaturePipeline, pl.DataFrame], Any] | None = None
                     ) -> list[Any]:
    """Features of each partition (in time order) with the history carried forward; one
    partition in memory at a time besides the history. ``transform`` defaults to
    :meth:`FeaturePipeline.transform`."""
    apply = transform or (lambda p, frame: p.transform(frame))
    out = []
    current = pipeline
    for part in partitions:
        out.append(apply(current, part))
        current = advance_pipeline(current, part)
    return out
