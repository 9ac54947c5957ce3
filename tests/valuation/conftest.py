"""Small deterministic declaration fixtures for the valuation tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest


def make_declarations(seed: int = 0, n: int = 600) -> pl.DataFrame:
    """Two HS6 codes from CN/FR (dense) and one sparse HS6 × origin cell (VN, 3 rows).

    Unit values are log-normal (sigma 0.2) around 10 (610462) and 100 (847130) XOF/kg.
    """
    rng = np.random.default_rng(seed)
    hs = np.where(rng.random(n) < 0.5, "610462", "847130")
    origin = np.where(rng.random(n) < 0.5, "CN", "FR")
    origin[:3] = "VN"
    hs[:3] = "610462"
    kg = np.round(rng.lognormal(3.0, 0.8, n), 1) + 0.1
    centre = np.where(hs == "610462", 10.0, 100.0)
    value = np.round(kg * centre * rng.lognormal(0.0, 0.2, n), 2)
    days = rng.integers(0, 180, n)
    return pl.DataFrame(
        {
            "declaration_id": [f"D{i:05d}" for i in range(n)],
            "item_no": [1] * n,
            "declared_at": [date(2024, 1, 1) + timedelta(days=int(d)) for d in days],
            "hs_code": [h + "00" for h in hs],
            "origin_country": origin,
            "transport_mode": ["1"] * n,
            "quantity": np.round(kg * 2, 1),
            "quantity_unit": ["NAR"] * n,
            "net_mass_kg": kg,
            "customs_value": value,
            "currency": ["XOF"] * n,
            "tax_rate": [20.0] * n,
            "extra": ['{"incoterm": "FOB"}'] * n,
        }
    )


@pytest.fixture
def declarations() -> pl.DataFrame:
    return make_declarations()
