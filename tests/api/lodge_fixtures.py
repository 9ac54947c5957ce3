"""Shared by the lodgement tests: a workspace with synthetic history (and trained models), and
canonical rows as the JSON a clearance system lodges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from clearlane.schema.fields import OUTCOME_FIELDS
from clearlane.selection import SelectionPolicy
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig, generate

CUT = date(2024, 5, 1)
NOW = datetime(2024, 6, 30, 12, 0)
DROPPED = (*OUTCOME_FIELDS, "batch_id", "source_row")


def lodgement_items(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Canonical rows as the JSON a clearance system sends (no outcome, dates as text)."""
    rows = frame.drop([c for c in DROPPED if c in frame.columns]).to_dicts()
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()
             if v is not None} for row in rows]


def build_workspace(path: Path, *, train: bool) -> tuple[Workspace, pl.DataFrame]:
    """A workspace with synthetic history before CUT (models trained on it when ``train``);
    returns it and the later declarations, to lodge."""
    from clearlane.services.ingest import ingest_file
    from clearlane.services.risk import train_models

    data = generate(SynthConfig(n_items=6_000, days=150, seed=5)).declarations
    workspace = Workspace.create(path / "ws")
    history = path / "history.parquet"
    data.filter(pl.col("declared_at") < CUT).write_parquet(history)
    ingest_file(workspace, history, "canonical", today=NOW.date())
    if train:
        train_models(workspace, search=False, promote=True, seed=1)
    return workspace, data.filter(pl.col("declared_at") >= CUT)


# -- pacing: a workspace whose later days are replayed through the lodgement path -------------
@dataclass(frozen=True)
class PacedWorkspace:
    """A trained workspace with a stored selection whose policy makes the red capacity bind,
    and the later declarations to replay (``later``, in arrival order)."""

    workspace: Workspace
    later: pl.DataFrame
    policy: SelectionPolicy
    first_day: date


PACED_RATES = {"red_rate": 0.3, "yellow_rate": 0.1, "blue_rate": 0.03, "random_share": 0.02,
               "exploration_share": 0.1}
"""A red rate three times the capacity share below: capacity binds on nearly every day."""
CAPACITY_SHARE = 0.1
"""Each office's red capacity: this share of its median daily declarations (at least 1)."""


def arrival_order(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The items day by day, the declarations of a day in a random order, each declaration's
    items together (a clearance system lodges a declaration with its items)."""
    rng = np.random.default_rng(seed)
    ids = frame["declaration_id"].unique().sort().to_list()
    rank = dict(zip(ids, rng.permutation(len(ids)).tolist(), strict=True))
    return (frame.with_columns(pl.col("declaration_id").replace_strict(rank, return_dtype=pl.Int64)
                               .alias("_arrival"))
            .sort("declared_at", "_arrival", "item_no").drop("_arrival"))


def build_paced_workspace(path: Path, *, n_items: int = 20_000, days: int = 120,
                          replay_days: int = 60, n_offices: int = 4,
                          seed: int = 11) -> PacedWorkspace:
    """Synthetic trade: the days before the last ``replay_days`` ingested, the models trained
    on them, their last 56 days assessed (pacing's history) and their last 28 selected under a
    policy with a binding red capacity per office; the later days returned to replay."""
    from clearlane.services.ingest import ingest_file
    from clearlane.services.risk import assess_declarations, train_models
    from clearlane.services.selection import select_for_inspection

    data = generate(SynthConfig(n_items=n_items, days=days, seed=seed,
                                n_offices=n_offices)).declarations
    start = data["declared_at"].cast(pl.Date).min()
    assert isinstance(start, date)
    cut = start + timedelta(days=days - replay_days)
    workspace = Workspace.create(path / "ws")
    history = data.filter(pl.col("declared_at") < cut)
    history.write_parquet(path / "history.parquet")
    ingest_file(workspace, path / "history.parquet", "canonical", today=cut)
    train_models(workspace, search=False, promote=True, seed=1)
    assess_declarations(workspace, date_from=cut - timedelta(days=56))
    recent = (history.filter(pl.col("declared_at") >= cut - timedelta(days=28))
              .group_by("office_id", "declared_at")
              .agg(pl.col("declaration_id").n_unique().alias("n"))
              .group_by("office_id").agg(pl.col("n").median()))
    capacity = {str(o): max(1, int(CAPACITY_SHARE * m)) for o, m in recent.iter_rows()}
    policy = SelectionPolicy(capacity=capacity, **PACED_RATES)
    select_for_inspection(workspace, date_from=cut - timedelta(days=28), policy=policy, seed=1,
                          checks=False, segment_signal=False)
    later = arrival_order(data.filter(pl.col("declared_at") >= cut), seed)
    return PacedWorkspace(workspace, later, policy, cut)
