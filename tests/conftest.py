"""Shared fixtures: a fresh workspace per test and the shared benchmark data folder; the
Hypothesis profile every property test runs under."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import settings

from clearlane.store.workspace import Workspace

# No per-example deadline: speed is measured in benchmarks, never in tests, and a deadline
# fails a correct example on a loaded CI machine.
settings.register_profile("clearlane", deadline=None)
settings.load_profile("clearlane")

REPO = Path(__file__).resolve().parents[1]

# --store=duckdb|postgresql: the store the workspaces live in (see tests/postgres_store.py)
pytest_plugins = ["tests.postgres_store"]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Docstring examples are collected from src/ (``--doctest-modules``); the tests' own
    conftest files are fixtures, not doctest modules: collecting them as modules imports a
    second ``conftest`` beside the one pytest loaded, and pytest refuses the mismatch."""
    return True if collection_path.name == "conftest.py" else None


def shared_data_dir() -> Path:
    return Path(os.environ.get("CLEARLANE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "ws")


@pytest.fixture
def kcs_dir() -> Path:
    folder = shared_data_dir() / "kcs"
    if not (folder / "df_syn_train_eng.csv").exists():
        pytest.skip(f"KCS benchmark data not found in {folder}")
    return folder


def _controlled_declarations(n: int = 5_000, seed: int = 3) -> pl.DataFrame:
    """One HS6 × origin, 80 importers at persistent price tiers; 4 % cut by 30 %; 30 % inspected
    (a cut found with its recovered revenue), the inspection two days after the declaration."""
    rng = np.random.default_rng(seed)
    importer = rng.integers(0, 80, n)
    kg = np.round(rng.lognormal(3.0, 0.5, n), 1) + 0.1
    cut = rng.random(n) < 0.04
    true = kg * 10.0 * np.exp(rng.normal(0.0, 0.3, 80)[importer] + rng.normal(0.0, 0.1, n))
    declared = np.round(np.where(cut, true * 0.7, true), 2)
    inspected = rng.random(n) < 0.3
    days = [date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 360, n)]
    return pl.DataFrame({
        "declaration_id": [f"S{i:05d}" for i in range(n)], "item_no": [1] * n, "declared_at": days,
        "importer_id": [f"I{i:03d}" for i in importer], "exporter_id": [f"E{i:03d}" for i in importer],
        "hs_code": ["61046200"] * n, "origin_country": ["CN"] * n, "quantity": kg, "quantity_unit": ["KGM"] * n,
        "net_mass_kg": kg, "customs_value": declared, "currency": ["XOF"] * n, "tax_rate": [20.0] * n,
        "inspected": inspected,
        "fraud": pl.Series([bool(c) if i else None for c, i in zip(cut, inspected, strict=True)], dtype=pl.Boolean),
        "revenue_recovered": pl.Series([round(float(x), 2) if i else None for x, i in
                                        zip((true - declared) * 0.2, inspected, strict=True)], dtype=pl.Float64),
        "finding": [("Under-valuation: invoice value below the transaction value" if c else "No irregularity found")
                    if i else None for c, i in zip(cut, inspected, strict=True)],
        "inspected_at": [d + timedelta(days=2) if i else None for d, i in zip(days, inspected, strict=True)],
        "batch_id": ["b1"] * n, "source_row": list(range(n)),
    })


@pytest.fixture
def controlled_declarations() -> Callable[..., pl.DataFrame]:
    """Factory of declarations for valuation tests with known under-valuation and controls."""
    return _controlled_declarations
