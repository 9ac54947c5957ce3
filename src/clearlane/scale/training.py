"""The fraud model's trees trained on a Dask cluster (``lightgbm.dask``; extra ``cluster``).

The hyper-parameters and the number of rounds are those a single-machine model chose on its
time-ordered validation window (``clearlane train``); the cluster refits the trees on the
labelled rows of the same training window, read month by month from a partitioned dataset.
Each month's training features come from the reference model's fitted pipeline: every row of
the training window lies inside the fitted history, so its in-sample features depend only on
its own date and keys, never on the other rows of the month, and the months are independent
tasks. The new model keeps the reference's pipeline, calibration and revenue model; only its
trees change.
"""

from __future__ import annotations

import copy
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.models.fraud import labelled_mask
from clearlane.scale.dataset import Manifest, Partition, read_partition

LABEL_COLUMNS = ("declared_at", "inspected", "fraud")


def _window(rows: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    return rows.filter(pl.col("declared_at").is_between(first, last))


def same(value: Any) -> Any:
    """The value itself: puts a fitted model on the cluster as a task."""
    return value


def labelled_rows(source: Path, partition: Partition, first: date, last: date) -> int:
    """Labelled rows of one month inside the training window (reads three columns)."""
    rows = _window(read_partition(source, partition, LABEL_COLUMNS), first, last)
    return int(labelled_mask(rows).sum()) if rows.height else 0


def training_part(model: Any, source: str, partition: Partition, first: date,
                  last: date) -> tuple[np.ndarray, np.ndarray]:
    """Features (rows × the model's features) and labels (0/1) of one month's labelled rows
    inside the training window."""
    rows = _window(read_partition(Path(source), partition), first, last)
    mask = pl.Series(labelled_mask(rows))
    features = model.pipeline_.transform(rows).filter(mask)
    labels = rows["fraud"].filter(mask).cast(pl.Int64).to_numpy()
    return features.to_numpy(), labels


def every_nth(part: tuple[np.ndarray, np.ndarray], which: int, start: int,
              step: int) -> np.ndarray:
    """Rows ``start``, ``start + step``, ... of one month's features (``which`` 0) or labels
    (1)."""
    return part[which][start::step]


def stacked(slices: list[np.ndarray]) -> np.ndarray:
    """One worker's share of every month, one array."""
    return np.concatenate(slices)


def _sliced(rows: int, start: int, step: int) -> int:
    return len(range(start, rows, step))


def train_trees_on_cluster(client: Any, model: Any, source: Path, manifest: Manifest,
                           first: date, last: date) -> Any:
    """A copy of the fitted fraud ``model`` whose trees were refitted on the cluster with the
    model's chosen parameters and rounds (``best_params_``, ``n_rounds_``)."""
    import dask.array as da
    from lightgbm.dask import DaskLGBMClassifier

    counts = {p.year_month: labelled_rows(source, p, first, last) for p in manifest.partitions}
    months = [p for p in manifest.partitions if counts[p.year_month] > 0]
    if not months:
        raise ValidationError(f"no labelled declarations between {first} and {last} in "
                              f"{str(source)!r}; export the workspace again")
    width = len(model.feature_names_)
    with warnings.catch_warnings():  # the model makes the graph large: expected
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        held = client.submit(same, model)
    parts = [client.submit(training_part, held, str(source), p, first, last) for p in months]
    # Distributed LightGBM bins each feature from one worker's local rows and expects those
    # rows to be a random share of the whole. Whole months per worker would give each worker
    # a season of its own (and which months went where would change from run to run), so every
    # worker gets every n-th row of every month instead, pinned by its sorted address.
    workers = sorted(client.scheduler_info()["workers"])
    step = len(workers)
    X_parts: list[tuple[Any, int]] = []
    y_parts: list[tuple[Any, int]] = []
    for k, worker in enumerate(workers):
        rows = sum(_sliced(counts[p.year_month], k, step) for p in months)
        if rows == 0:
            continue
        for which, parts_of_worker in ((0, X_parts), (1, y_parts)):
            slices = [client.submit(every_nth, f, which, k, step) for f in parts]
            # a preference, not a rule: a worker that died is replaced under another address
            parts_of_worker.append((client.submit(stacked, slices, workers=[worker],
                                                  allow_other_workers=True), rows))
    X = da.concatenate([da.from_delayed(f, shape=(n, width), dtype=np.float64)
                        for f, n in X_parts])
    y = da.concatenate([da.from_delayed(f, shape=(n,), dtype=np.int64) for f, n in y_parts])
    labels = y.compute()
    # the reference's own LightGBM settings (objective, sampling, seed, class weights)
    params = dict(model._params(model.best_params_, labels))
    params.pop("num_threads", None)
    classifier = DaskLGBMClassifier(client=client, n_estimators=int(model.n_rounds_),
                                    **params)
    with warnings.catch_warnings():  # its own default n_jobs, replaced by one per worker
        warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored",
                                category=UserWarning)
        classifier.fit(X, y, categorical_feature=list(model.categorical_indices_))
    refitted = copy.copy(model)
    refitted.booster_ = classifier.to_local().booster_
    for cached in ("_compiled", "_compiled_revenue", "_leaf_tables"):
        refitted.__dict__.pop(cached, None)
    return refitted
