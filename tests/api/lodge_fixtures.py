"""Shared by the lodgement tests: a workspace with synthetic history (and trained models), and
canonical rows as the JSON a clearance system lodges."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from clearlane.schema.fields import OUTCOME_FIELDS
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
