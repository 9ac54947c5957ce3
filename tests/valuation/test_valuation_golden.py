"""Golden test: bands and checks on a small fixture equal the committed files.

Regenerate with `.venv/bin/python tests/valuation/regenerate_golden.py` after a deliberate change.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

sys.path.insert(0, str(Path(__file__).resolve().parent))
from regenerate_golden import GOLDEN_BANDS, GOLDEN_CHECK, golden_frames


def test_bands_and_checks_match_golden_files():
    bands_table, check_table = golden_frames()
    expected_bands = pl.read_csv(GOLDEN_BANDS, schema=bands_table.schema)
    expected_check = pl.read_csv(GOLDEN_CHECK, schema=check_table.schema)
    assert_frame_equal(bands_table, expected_bands, rel_tol=1e-7)
    assert_frame_equal(check_table, expected_check, rel_tol=1e-7)
