"""Batch scoring of a month-partitioned dataset, partition by partition, in time order.

The unit of work is one month: read its rows, score them with the models whose history holds
every earlier month (:mod:`clearlane.scale.carry`), write the month's assessments to its own
Parquet file. The models for month ``k + 1`` are the models for month ``k`` carried forward by
month ``k``'s rows. :func:`run_local` does this one month at a time in this process (memory:
one month and the history); :func:`clearlane.scale.cluster.run_on_cluster` submits the same
two task functions (:func:`score_partition_task`, :func:`carry_partition_task`) to a Dask
cluster, where the chain of carried models runs in order and the months are scored side by
side as soon as their models are ready.

Reasons go to the riskiest ``explain_share`` of each month (single-machine ``assess`` picks
them over the whole batch); scores do not depend on the partitioning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from clearlane.features.prepare import SCORING_COLUMNS
from clearlane.scale.carry import advance_models
from clearlane.scale.dataset import (
    Manifest,
    Partition,
    describe_partition,
    partition_path,
    read_partition,
)
from clearlane.scoring import AnomalyScorer, FraudScorer, ScoreFrame, row_keys
from clearlane.scoring.assessments import assessment_frame

Progress = Callable[[float, float | None], None]
PartitionHook = Callable[[str], None]
"""Called with a month's ``YYYY-MM`` on the worker before the month is scored."""


@dataclass(frozen=True)
class ScoringModels:
    """The fitted models a partition is scored with (``fraud`` and, when registered,
    ``anomaly``), their registry versions, and what to say when the detector is missing.

    ``shared_history``: the detector's pipeline shares the fraud model's history
    (:meth:`~clearlane.features.FeaturePipeline.shares_history_of`, as ``clearlane train``
    makes them). Then its features come from the fraud model's batch, and only the fraud
    model's history is carried forward: one history in memory and one set of look-ups per
    month, not two.
    """

    models: dict[str, Any]
    versions: dict[str, str]
    explain_share: float = 0.1
    anomaly_unavailable: str | None = None
    hook: PartitionHook | None = field(default=None, compare=False)
    shared_history: bool = False


def score_frame(models: ScoringModels, data: pl.DataFrame, assessed_at: datetime) -> pl.DataFrame:
    """The assessment table of one partition (columns of
    :data:`~clearlane.scoring.assessments.ASSESSMENT_SCHEMA`)."""
    share = models.explain_share
    model = models.models["fraud"]
    detector = models.models.get("anomaly")
    batch = (model.pipeline_.batch(data, n_jobs=model.n_jobs)
             if models.shared_history and detector is not None else None)
    fraud = FraudScorer(model, models.versions["fraud"], explain_share=share).score(
        data, batch=batch)
    if detector is not None:
        anomaly = AnomalyScorer(detector, models.versions["anomaly"], explain_share=share).score(
            data, batch=None if batch is None else detector.pipeline_.unlabelled_batch(batch))
    else:
        anomaly = ScoreFrame.unavailable("anomaly", row_keys(data),
                                         models.anomaly_unavailable or "no anomaly detector")
    return assessment_frame([fraud, anomaly], assessed_at)


def carry(models: ScoringModels, data: pl.DataFrame) -> ScoringModels:
    """The models for the next partition: their history also holds ``data`` (a detector that
    shares the fraud model's history keeps its own, unused, as it is)."""
    if models.shared_history and "anomaly" in models.models:
        moved = advance_models({"fraud": models.models["fraud"]}, data)
        return replace(models, models={**models.models, **moved})
    return replace(models, models=advance_models(models.models, data))


def hold_models(models: ScoringModels) -> ScoringModels:
    """The models themselves: the first link of the chain of carried models on a cluster."""
    return models


def score_partition_task(models: ScoringModels, source: str, partition: Partition,
                         target: str, assessed_at: datetime) -> Partition:
    """Score one month of the dataset in ``source`` and write its assessments under
    ``target``; returns the written partition (rows, SHA-256)."""
    if models.hook is not None:
        models.hook(partition.year_month)
    data = read_partition(Path(source), partition, SCORING_COLUMNS)
    return _write(score_frame(models, data, assessed_at), Path(target), partition.year_month)


def carry_partition_task(models: ScoringModels, source: str, partition: Partition) -> ScoringModels:
    """The models carried forward by one month of the dataset in ``source``."""
    return carry(models, read_partition(Path(source), partition, SCORING_COLUMNS))


def _write(table: pl.DataFrame, target: Path, year_month: str) -> Partition:
    path = target / partition_path(year_month)
    # never parents=True: a task left running after its job failed finds the job's folder
    # gone and writes nothing
    path.parent.mkdir(exist_ok=True)
    table.write_parquet(path, compression="zstd")
    return describe_partition(target, year_month, table.height)


def run_local(models: ScoringModels, source: Path, manifest: Manifest, target: Path,
              assessed_at: datetime, progress: Progress | None = None) -> list[Partition]:
    """Score every partition in this process, one month at a time, in time order."""
    report = progress or (lambda done, total: None)
    total = len(manifest.partitions)
    report(0, total)
    written = []
    current = models
    for i, partition in enumerate(manifest.partitions):
        if current.hook is not None:
            current.hook(partition.year_month)
        data = read_partition(source, partition, SCORING_COLUMNS)
        written.append(_write(score_frame(current, data, assessed_at), target,
                              partition.year_month))
        if i + 1 < total:
            current = carry(current, data)
        report(i + 1, total)
    return written
