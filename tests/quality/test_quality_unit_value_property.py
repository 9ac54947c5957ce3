"""Property: an item 1000 times cheaper than a tight HS6 cell is always flagged low."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.quality.unit_values import unit_value_summary
from clearlane.store.migrations import MIGRATIONS


def _database() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for migration in MIGRATIONS:
        for statement in migration.statements:
            con.execute(statement)
    return con


@settings(max_examples=25, deadline=None)
@given(
    background=st.lists(st.floats(1.0, 2.0), min_size=20, max_size=60),
    price=st.floats(0.01, 1e6),
    mass=st.floats(0.1, 1e4),
)
def test_planted_cheap_item_is_flagged_whatever_the_cell(
    background: list[float], price: float, mass: float
) -> None:
    """Background unit values lie within a factor 2 of ``price``; the planted one is 1000×
    lower. The robust z (MAD, or mean deviation when MAD is 0) must flag it, and it alone on
    the low side is certain only for the planted item."""
    con = _database()
    rows = [
        (f"D{i}", price * factor * mass, mass) for i, factor in enumerate(background)
    ] + [("PLANTED", price / 1000 * mass, mass)]
    con.executemany(
        "INSERT INTO declarations (declaration_id, item_no, declared_at, hs_code, customs_value, "
        "net_mass_kg, batch_id) VALUES (?, 1, DATE '2026-01-01', '01012100', ?, ?, 'b')",
        [list(r) for r in rows],
    )
    summary = unit_value_summary(con, None, min_cell_size=20)
    flagged_low = [o for o in summary.top_outliers if o.robust_z < 0]
    assert "PLANTED" in {o.declaration_id for o in flagged_low}
    assert flagged_low[0].declaration_id == "PLANTED"
    assert summary.rows_tested == len(rows)
