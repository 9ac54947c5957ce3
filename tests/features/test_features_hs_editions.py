"""Features read HS codes as HS 2022 categories: an old code and its successor share one."""

from __future__ import annotations

from datetime import date

import polars as pl

from clearlane.features import FeaturePipeline
from clearlane.features.prepare import prepare, prepare_record


def _rows(*rows: tuple[date, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "declaration_id": [f"D{i}" for i in range(len(rows))],
            "item_no": [1] * len(rows),
            "declared_at": [r[0] for r in rows],
            "hs_code": [r[1] for r in rows],
            "importer_id": ["I1"] * len(rows),
            "origin_country": ["CN"] * len(rows),
            "customs_value": [100.0] * len(rows),
            "net_mass_kg": [10.0] * len(rows),
        }
    )


def test_old_code_and_its_one_to_one_successor_share_every_hs_key() -> None:
    # HS 2017 3002.20 (vaccines for human medicine) became HS 2022 3002.41
    frame = _rows((date(2020, 6, 1), "3002.20.00"), (date(2023, 6, 1), "3002.41.00"))
    out = prepare(frame, [])
    for key in ("hs6", "hs4", "hs2", "hs6_numeric"):
        assert out[key][0] == out[key][1], key
    assert out["hs6"][0] == "300241"
    # the same code declared in 2023 is not an HS 2022 subheading: left as it is
    late = prepare(_rows((date(2023, 6, 1), "300220")), [])
    assert late["hs6"][0] == "300220"


def test_a_split_code_keeps_its_own_category() -> None:
    out = prepare(_rows((date(2020, 6, 1), "854150"), (date(2023, 6, 1), "854151")), [])
    assert out["hs6"].to_list() == ["854150@HS2017", "854151"]
    assert out["hs4"].to_list() == ["8541", "8541"]
    assert out["hs6_numeric"][0] == 854150.0


def test_record_path_maps_like_the_batch() -> None:
    frame = _rows((date(2020, 6, 1), "3002.20"), (date(2020, 6, 1), "854150"),
                  (date(2024, 1, 1), "851713"))
    batch = prepare(frame, [])
    for i, record in enumerate(frame.iter_rows(named=True)):
        row = prepare_record(record, [])
        for key in ("hs6", "hs4", "hs2", "hs6_numeric"):
            assert row[key] == batch[key][i], key


def test_history_of_an_old_code_counts_for_its_successor() -> None:
    history = _rows(*[(date(2021, 12, d), "300220") for d in range(1, 11)])  # HS 2017
    pipeline = FeaturePipeline().fit(history)
    new = _rows((date(2022, 1, 5), "300241"))  # HS 2022, within the one-year window
    other = _rows((date(2022, 1, 5), "300249"))
    assert pipeline.transform(new)["hs6_n"][0] == 10
    assert pipeline.transform(other)["hs6_n"][0] == 0
