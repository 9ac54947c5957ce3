"""A :class:`~clearlane.features.FeaturePipeline` fitted one time partition at a time.

``FeaturePipeline.fit(frame).transform(frame)`` needs the whole training frame in memory. Here
the same pipeline, and the same in-sample features, come from the frame's months read one at
a time, so a history larger than memory can be fitted on one machine:

1. :meth:`IncrementalFit.count` sees every month's category columns (a few columns) and
   learns what ``fit`` learns from the whole frame: the ``extra`` keys (from the first 1000
   non-null ``extra`` texts, in time order) and the category counts (summed over months, so
   the vocabularies are the same, ties included).
2. :meth:`IncrementalFit.add` then takes the months in time order. Each month's per-key daily
   sums (with outcomes) continue the cumulative state (:func:`extend_state`: bit for bit the
   state ``fit`` builds from every day), and the month's in-sample features are looked up in
   it. A row dated ``d`` reads only days before ``d``, all of them already added, so its
   features are those of ``fit(frame).transform(frame)``.
3. :meth:`IncrementalFit.pipeline` returns the fitted pipeline.

Memory: the history (daily sums and state) plus one month, not the whole frame.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from clearlane.errors import ValidationError
from clearlane.features.batch import BatchFeatures
from clearlane.features.history import (
    ALL_GROUP,
    asof_sums,
    cumulative_state,
    daily_sums,
    extend_state,
)
from clearlane.features.pipeline import (
    CATEGORY_COLUMNS,
    FeaturePipeline,
    category_columns,
    numeric_columns,
    vocabulary,
)
from clearlane.features.prepare import EXTRA_COLUMN, EXTRA_SAMPLE, keys_of_texts, prepare

COUNT_COLUMNS: tuple[str, ...] = ("declared_at", *CATEGORY_COLUMNS, EXTRA_COLUMN)
"""The columns :meth:`IncrementalFit.count` reads."""


class IncrementalFit:
    """Fits ``pipeline`` (an unfitted :class:`FeaturePipeline`) from months given in time order:
    :meth:`count` each month, then :meth:`add` each month, then :meth:`pipeline`."""

    def __init__(self, pipeline: FeaturePipeline) -> None:
        if hasattr(pipeline, "feature_names_"):
            raise ValidationError("IncrementalFit needs an unfitted FeaturePipeline")
        if pipeline.window_days is not None and pipeline.window_days < 1:
            raise ValidationError(f"window_days must be ≥ 1 or None; got {pipeline.window_days}")
        self._pipeline = pipeline
        self._groups = (ALL_GROUP, *pipeline._groups())
        self._texts: list[str] = []
        self._columns: list[str] | None = None
        self._counts: dict[str, list[pl.DataFrame]] = {}
        self._daily: dict[str, list[pl.DataFrame]] = {g.name: [] for g in self._groups}
        self._state: dict[str, pl.DataFrame] = {}
        self._counted = 0
        self._added = 0
        self._start: date | None = None
        self._end: date | None = None

    # -- first pass ---------------------------------------------------------------------------
    def count(self, month: pl.DataFrame) -> None:
        """Learn the ``extra`` keys and category counts from one month (in time order; at
        least :data:`COUNT_COLUMNS` that the data has)."""
        if self._added:
            raise ValidationError("count every month before adding the first")
        if self._columns is None:
            self._columns = list(month.columns)
        if EXTRA_COLUMN in month.columns and len(self._texts) < EXTRA_SAMPLE:
            needed = EXTRA_SAMPLE - len(self._texts)
            self._texts += month[EXTRA_COLUMN].drop_nulls().head(needed).to_list()
        self._counted += month.height
        if month.height == 0:
            return
        prep = prepare(month, self._extras())
        for column in self._category_columns():
            self._counts.setdefault(column, []).append(prep.group_by(column).len())

    def _extras(self) -> list[str]:
        if self._pipeline.extra_columns is not None:
            return list(self._pipeline.extra_columns)
        return keys_of_texts(self._texts)  # the whole frame's first texts, as fit reads them

    def _category_columns(self) -> list[str]:
        return category_columns(self._columns or [], self._extras())

    def _begin(self) -> None:
        """After counting: the vocabularies and feature names, as ``fit`` sets them."""
        if self._counted == 0:
            raise ValidationError("cannot fit features on zero declarations; ingest data first")
        pipeline = self._pipeline
        pipeline.extra_columns_ = self._extras()
        pipeline.category_columns_ = self._category_columns()
        pipeline.vocab_ = {
            column: vocabulary(pl.concat(self._counts[column]).group_by(column)
                               .agg(pl.col("len").sum()), column, pipeline.max_categories)
            if self._counts.get(column) else {}
            for column in pipeline.category_columns_}
        pipeline._name_features([g.name for g in self._groups[1:]])
        self._counts.clear()

    # -- second pass --------------------------------------------------------------------------
    def add(self, month: pl.DataFrame) -> BatchFeatures:
        """Add one month (dated after every month added before) to the history; return the
        in-sample features of its rows, in their order."""
        if self._added == 0:
            self._begin()
        pipeline = self._pipeline
        prep = prepare(month, pipeline.extra_columns_)
        self._added += prep.height
        if prep.height == 0:
            return BatchFeatures(pipeline.derivation(), {}, {}, {}, 0)
        first: date = prep["day"].min()  # type: ignore[assignment]
        last: date = prep["day"].max()  # type: ignore[assignment]
        if self._end is not None and first <= self._end:
            raise ValidationError(f"months must be added in time order: a row dated {first} "
                                  f"follows rows up to {self._end}")
        self._start = self._start or first
        self._end = last
        indexed = prep.with_row_index("_row")
        raw = {}
        for group in self._groups:
            daily = daily_sums(prep, group, labels=True)
            self._daily[group.name].append(daily)
            known = self._state.get(group.name)
            state = cumulative_state(daily) if known is None else extend_state(known, daily)
            self._state[group.name] = state
            raw[group.name] = asof_sums(indexed, group, state, pipeline.window_days)
        return BatchFeatures(pipeline.derivation(), numeric_columns(prep), raw,
                             pipeline._encode_categories(prep), prep.height)

    def pipeline(self) -> FeaturePipeline:
        """The fitted pipeline: the same as ``fit`` on every row added."""
        if self._added == 0 or self._start is None or self._end is None:
            raise ValidationError("cannot fit features on zero declarations; ingest data first")
        pipeline = self._pipeline
        pipeline.history_start_ = self._start
        pipeline.history_end_ = self._end
        pipeline.history_rows_ = self._added
        pipeline.daily_ = {name: pl.concat(parts, how="vertical", rechunk=True)
                           for name, parts in self._daily.items()}
        self._daily = {}
        pipeline.state_ = self._state
        return pipeline
