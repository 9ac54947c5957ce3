"""Regenerate the valuation golden files: `.venv/bin/python tests/valuation/regenerate_golden.py`.

Review the diff before committing: a change in these numbers is a change in method.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import importlib.util  # noqa: E402

from clearlane.valuation import BandConfig, build_bands, check_prices  # noqa: E402

# load this folder's conftest by path: a bare `import conftest` may find another test folder's
_spec = importlib.util.spec_from_file_location("valuation_conftest", HERE / "conftest.py")
assert _spec is not None and _spec.loader is not None
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
make_declarations = _conftest.make_declarations

GOLDEN_BANDS = HERE / "golden" / "bands.csv"
GOLDEN_CHECK = HERE / "golden" / "check.csv"
CHECK_COLUMNS = ["declaration_id", "kg_level", "kg_n", "kg_band_low", "kg_band_median", "price_score",
                 "price_flag", "estimated_undervalue", "revenue_at_risk"]


def golden_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    data = make_declarations(seed=0, n=600)
    bands = build_bands(data, config=BandConfig(period="quarter", min_count=20))
    probe = data.head(12).with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.col("customs_value") * 0.4)
        .otherwise(pl.col("customs_value")).alias("customs_value")
    )
    check = check_prices(probe, bands, vat_rate=18.0).frame.select(CHECK_COLUMNS)
    floats = [c for c, t in bands.table.schema.items() if t == pl.Float64]
    table = bands.table.with_columns(pl.col(floats).round_sig_figs(8))
    cfloats = [c for c, t in check.schema.items() if t == pl.Float64]
    return table, check.with_columns(pl.col(cfloats).round_sig_figs(8))


if __name__ == "__main__":
    bands_table, check_table = golden_frames()
    GOLDEN_BANDS.parent.mkdir(exist_ok=True)
    bands_table.write_csv(GOLDEN_BANDS)
    check_table.write_csv(GOLDEN_CHECK)
    print(f"wrote {GOLDEN_BANDS} ({bands_table.height} rows) and {GOLDEN_CHECK}")
