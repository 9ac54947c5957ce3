"""Training data gathered out of core: the fitted feature pipeline, the fraud model's labelled
rows and the anomaly detector's signals, from a month-partitioned dataset read one month at a
time (:class:`~clearlane.features.incremental.IncrementalFit`).

``clearlane train`` holds the whole training window in memory, then its features. Here only
the history (per-key daily sums and state), one month, and what the models learn from are
held: the features of the labelled rows (inspected, outcome known; a small share of all rows)
and the few signal columns of every row. The pipeline, the features and so the models are
those ``clearlane train`` fits on the same rows (tests compare them).

Two passes over the months: the first reads the category columns and the outcome flags
(vocabularies, ``extra`` keys, how many rows are labelled); the second every training column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.features.batch import BatchFeatures
from clearlane.features.incremental import COUNT_COLUMNS, IncrementalFit
from clearlane.features.pipeline import FeaturePipeline
from clearlane.models.fraud import labelled_mask
from clearlane.models.registry import DataFingerprint
from clearlane.scale.dataset import Manifest, Partition, read_partition

Progress = Callable[[float, float | None], None]

_OUTCOMES = ("inspected", "fraud")


@dataclass(frozen=True)
class TrainingData:
    """What the models of a training window learn from (see the module docstring).

    ``X`` (labelled rows × ``pipeline.feature_names_``), ``y`` (fraud found), ``days``
    (their dates) and ``revenue`` (recovered, national currency; ``None`` without the column)
    are the labelled rows in dataset order; ``signals`` holds the ``signal_names`` columns of
    every row. ``inspected`` counts the inspected rows, ``rows`` all rows of the window.
    """

    pipeline: FeaturePipeline
    X: np.ndarray
    y: np.ndarray
    days: np.ndarray
    revenue: np.ndarray | None
    signals: pl.DataFrame
    rows: int
    inspected: int
    first: date
    last: date
    fingerprint: str


def window_months(manifest: Manifest, date_from: date | None,
                  date_to: date | None) -> list[Partition]:
    """The months of ``manifest`` that overlap the inclusive window (no bound when ``None``)."""
    def overlaps(year_month: str) -> bool:
        first = date.fromisoformat(f"{year_month}-01")
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return ((date_to is None or first <= date_to)
                and (date_from is None or after > date_from))

    return [p for p in manifest.partitions if overlaps(p.year_month)]


def in_window(frame: pl.DataFrame, date_from: date | None, date_to: date | None) -> pl.DataFrame:
    """The rows of ``frame`` declared inside the window, as the store's date window selects
    them (``declared_at >= from AND declared_at <= to``)."""
    condition = pl.lit(True)
    if date_from is not None:
        condition &= pl.col("declared_at") >= pl.lit(date_from)
    if date_to is not None:
        condition &= pl.col("declared_at") <= pl.lit(date_to)
    return frame.filter(condition)


def gather_training_data(source: Path, manifest: Manifest, columns: Sequence[str], *,
                         date_from: date | None = None, date_to: date | None = None,
                         feature_params: dict[str, Any] | None = None,
                         signal_names: Sequence[str] = (),
                         progress: Progress | None = None) -> TrainingData:
    """Read the window's months of the dataset in ``source`` twice, in time order, and return
    the fitted pipeline (parameters ``feature_params``) with the training rows' features.

    ``columns`` are those training reads (those the dataset lacks are left out, as the store
    leaves them out); ``signal_names`` the feature columns kept for every row."""
    months = window_months(manifest, date_from, date_to)
    report = progress or (lambda done, total: None)
    total = 2 * len(months)
    fit = IncrementalFit(FeaturePipeline(**(feature_params or {})))
    labelled = inspected = rows = 0
    for k, part in enumerate(months):
        frame = in_window(read_partition(source, part, [*COUNT_COLUMNS, *_OUTCOMES]),
                          date_from, date_to)
        fit.count(frame)
        rows += frame.height
        if "fraud" in frame.columns:
            labelled += int(labelled_mask(frame).sum())
        if "inspected" in frame.columns:
            inspected += int(frame["inspected"].cast(pl.Boolean).fill_null(False).sum())
        report(k + 1, total)
    if rows == 0:
        raise ValidationError(f"no declarations in {str(source)!r} between "
                              f"{date_from or 'the start'} and {date_to or 'the end'}")
    fingerprint = DataFingerprint()
    X: np.ndarray | None = None
    y = np.zeros(labelled, dtype=bool)
    days = np.empty(labelled, dtype="datetime64[D]")
    revenue: np.ndarray | None = None
    signals: list[pl.DataFrame] = []
    at = 0
    for k, part in enumerate(months):
        frame = in_window(read_partition(source, part, columns), date_from, date_to)
        fingerprint.add(frame)
        batch = fit.add(frame)
        names = batch.derivation.feature_names
        if X is None:
            X = np.empty((labelled, len(names)))
        if batch.height:
            signals.append(_columns_of(batch, [n for n in signal_names if n in names]))
        if "fraud" in frame.columns and labelled:
            mask = labelled_mask(frame)
            count = int(mask.sum())
            if count:
                batch.matrix(np.flatnonzero(mask), buffer=X[at:at + count])
                y[at:at + count] = frame["fraud"].cast(pl.Boolean).to_numpy()[mask]
                days[at:at + count] = frame["declared_at"].cast(pl.Date).to_numpy()[mask]
                if "revenue_recovered" in frame.columns:
                    if revenue is None:
                        revenue = np.full(labelled, np.nan)
                    revenue[at:at + count] = (
                        frame["revenue_recovered"].cast(pl.Float64).to_numpy()[mask])
                at += count
        report(len(months) + k + 1, total)
    pipeline = fit.pipeline()
    return TrainingData(
        pipeline=pipeline, X=X if X is not None else np.empty((0, 0)), y=y, days=days,
        revenue=revenue, signals=pl.concat(signals, how="vertical"), rows=rows,
        inspected=inspected, first=pipeline.history_start_, last=pipeline.history_end_,
        fingerprint=fingerprint.hexdigest())


def _columns_of(batch: BatchFeatures, names: list[str], block: int = 65_536) -> pl.DataFrame:
    """Feature columns ``names`` of every row of ``batch``, derived a block of rows at a time
    (all features of a whole month at once would take rows × features × 8 bytes)."""
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, batch.height, block):
        arrays = batch.arrays(slice(start, min(batch.height, start + block)))
        for n in names:
            parts[n].append(arrays[n])
    return pl.DataFrame({n: np.concatenate(v) for n, v in parts.items()})
