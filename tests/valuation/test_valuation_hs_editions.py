"""Value bands are keyed by HS 2022 category: an old code and its successor share one band."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from clearlane.valuation import BandConfig, build_bands, check_prices


def _declarations(code: str, start: date, n: int, value_per_kg: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "declaration_id": [f"{code}-{start}-{i}" for i in range(n)],
            "item_no": [1] * n,
            "declared_at": [start + timedelta(days=i) for i in range(n)],
            "hs_code": [code] * n,
            "origin_country": ["CN"] * n,
            "net_mass_kg": [10.0] * n,
            "customs_value": [10.0 * value_per_kg * (1 + (i % 5) / 100) for i in range(n)],
            "currency": ["XOF"] * n,
        }
    )


def test_old_code_and_its_successor_share_one_band() -> None:
    # HS 2017 3002.20 (2021) and its one HS 2022 successor 3002.41 (2023)
    old = _declarations("30022000", date(2021, 1, 4), 15, 50.0)
    new = _declarations("30024100", date(2023, 1, 4), 15, 50.0)
    bands = build_bands(pl.concat([old, new]), config=BandConfig(period="all", min_count=20))
    hs6 = bands.table.filter((pl.col("level") == "hs6") & (pl.col("basis") == "kg"))
    assert hs6["hs"].to_list() == ["300241"]
    assert hs6["n"].to_list() == [30]  # neither half alone reaches min_count
    checked = check_prices(old.head(1), bands).frame
    assert checked["kg_level"].to_list() == ["hs6_origin"]


def test_split_code_keeps_its_own_band() -> None:
    old = _declarations("854150", date(2021, 1, 4), 25, 50.0)
    new = _declarations("854151", date(2023, 1, 4), 25, 50.0)
    bands = build_bands(pl.concat([old, new]), config=BandConfig(period="all"))
    hs6 = bands.table.filter((pl.col("level") == "hs6") & (pl.col("basis") == "kg"))
    assert sorted(hs6["hs"].to_list()) == ["854150@HS2017", "854151"]
    hs4 = bands.table.filter((pl.col("level") == "hs4") & (pl.col("basis") == "kg"))
    assert hs4["hs"].to_list() == ["8541"] and hs4["n"].to_list() == [50]
