"""One declaration's features (the API fast path) come from the integer-keyed history shared
with batch scoring: the same values as the batch path, without per-key-and-day tables."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from clearlane.features import FeaturePipeline


def _frame(n: int, days: int, seed: int, start: date = date(2024, 1, 1)) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({
        "declaration_id": [f"D{seed}-{i:05d}" for i in range(n)],
        "item_no": [1] * n,
        "declared_at": [start + timedelta(days=int(d))
                        for d in np.sort(rng.integers(0, days, n))],
        "importer_id": rng.choice(["I1", "I2", "I3", "I4", "I5"], n).tolist(),
        "declarant_id": rng.choice(["B1", "B2", None], n).tolist(),
        "exporter_id": rng.choice(["S1", "S2", None], n).tolist(),
        "hs_code": rng.choice(["690722", "690721", "850152", "030617"], n).tolist(),
        "origin_country": rng.choice(["CN", "VN", "IN"], n).tolist(),
        "office_id": rng.choice(["O1", "O2"], n).tolist(),
        "customs_value": rng.uniform(0, 1e5, n).round(2).tolist(),
        "net_mass_kg": rng.choice([0.0, 10.0, 100.0], n).tolist(),
        "tax_rate": rng.choice([5.0, 10.0, None], n).tolist(),
        "inspected": rng.random(n) < 0.4,
        "fraud": rng.random(n) < 0.1,
        "revenue_recovered": rng.uniform(0, 500, n).round(2).tolist(),
    })


@pytest.mark.parametrize("window", [None, 7, 365])
def test_one_record_equals_the_batch_of_that_row(window: int | None) -> None:
    history = _frame(600, 40, seed=1)
    pipeline = FeaturePipeline(window_days=window).fit(history)
    later = _frame(60, 30, seed=2, start=date(2024, 2, 15)).drop(
        "inspected", "fraud", "revenue_recovered")
    rows = later.to_dicts()
    # unseen and missing keys, and a day far after the history
    rows[0] |= {"importer_id": "NEW", "hs_code": "999999"}
    rows[1] |= {"importer_id": None, "origin_country": None}
    rows[2] |= {"declared_at": date(2025, 6, 1)}
    for row in rows:
        one = pipeline.transform_vector(row)
        batch = pipeline.transform_matrix(pl.DataFrame([row], schema=later.schema))
        np.testing.assert_allclose(one, batch, equal_nan=True, rtol=1e-12, atol=1e-9)


def test_the_record_path_keeps_one_entry_per_key_value() -> None:
    history = _frame(600, 40, seed=3)
    pipeline = FeaturePipeline().fit(history)
    record = history.row(5, named=True) | {"declared_at": date(2024, 3, 1)}
    pipeline.transform_vector(record)
    keyed = pipeline._keyed()
    assert sum(len(codes) for codes in keyed._codes.values()) == sum(keyed.sizes.values())
    assert not hasattr(pipeline, "_lookup")
