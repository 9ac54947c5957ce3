"""Unit-value outliers per HS6 subheading, computed in SQL.

Unit value = customs_value / net_mass_kg (national currency per kg). Within each HS6, on the
log scale, the robust z-score of Iglewicz and Hoaglin (1993) is

    z = 0.6745 × (ln uv − median) / MAD

where MAD is the median absolute deviation from the median. When MAD is 0 (more than half the
items share one unit value) the mean absolute deviation is used instead:
``z = (ln uv − median) / (1.253314 × MeanAD)``. An item is an outlier when ``|z| > threshold``
(3.5 by default). HS6 cells with fewer than ``min_cell_size`` usable items are not tested.

The reference distribution of each HS6 is the whole workspace; when the report is restricted to
one batch, only that batch's items are flagged (against the workspace reference).
"""

from __future__ import annotations

from typing import Any

from clearlane.quality.report import UnitValueCell, UnitValueOutlier, UnitValueSummary
from clearlane.store.connection import Connection

DEFAULT_THRESHOLD = 3.5
DEFAULT_MIN_CELL_SIZE = 20
_TABLE = "_quality_unit_values"


def create_unit_value_table(
    con: Connection,
    batch_id: str | None,
    *,
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE,
    table: str = _TABLE,
) -> str:
    """Create the temporary table ``table`` with one row per tested in-scope item.

    Columns: declaration_id, item_no, batch_id, source_row, hs6, uv (per kg), luv (ln uv),
    in_scope, cell_rows, med (median ln uv of the HS6), mad, z (robust z-score). Returns the
    table name; the caller drops it.
    """
    scope = "batch_id = ?" if batch_id is not None else "TRUE"
    params: list[Any] = [batch_id] if batch_id is not None else []
    con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(
        f"""
        CREATE TEMP TABLE {table} AS
        WITH items AS (
            SELECT declaration_id, item_no, batch_id, source_row, left(hs_code, 6) AS hs6,
                   customs_value / net_mass_kg AS uv, ln(customs_value / net_mass_kg) AS luv,
                   {scope} AS in_scope
            FROM declarations
            WHERE customs_value > 0 AND net_mass_kg > 0 AND length(hs_code) >= 6
        ),
        centre AS (
            SELECT hs6, count(*) AS n, median(luv) AS med, mad(luv) AS mad
            FROM items GROUP BY hs6
        ),
        spread AS (
            SELECT c.hs6, c.n, c.med, c.mad,
                   CASE WHEN c.mad > 0 THEN c.mad / 0.6745
                        ELSE 1.253314 * avg(abs(i.luv - c.med)) END AS scale
            FROM centre c JOIN items i USING (hs6)
            WHERE c.n >= {int(min_cell_size)}
            GROUP BY c.hs6, c.n, c.med, c.mad
        )
        SELECT i.*, s.n AS cell_rows, s.med, s.mad,
               CASE WHEN s.scale > 0 THEN (i.luv - s.med) / s.scale ELSE 0 END AS z
        FROM items i JOIN spread s USING (hs6)
        WHERE i.in_scope
        """,
        params,
    )
    return table


def unit_value_summary(
    con: Connection,
    batch_id: str | None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_cell_size: int = DEFAULT_MIN_CELL_SIZE,
    top: int = 10,
) -> UnitValueSummary:
    """Test every in-scope item with positive value and mass against its HS6 reference.

    ``top`` bounds the HS6 cells listed and the outliers listed on each side (low, high).
    """
    scope = "batch_id = ?" if batch_id is not None else "TRUE"
    params: list[Any] = [batch_id] if batch_id is not None else []
    # One temporary table with the z-score of every usable item; everything else reads it.
    create_unit_value_table(con, batch_id, min_cell_size=min_cell_size)
    t = threshold
    row = con.execute(
        f"""SELECT count(*), count(DISTINCT hs6),
                   count(*) FILTER (WHERE z < -{t}), count(*) FILTER (WHERE z > {t})
            FROM {_TABLE}"""
    ).fetchone()
    assert row is not None
    rows_tested, cells_tested, low, high = (int(v) for v in row)
    in_scope = con.execute(f"SELECT count(*) FROM declarations WHERE {scope}", params).fetchone()
    scope_rows = int(in_scope[0]) if in_scope else 0
    small = con.execute(
        f"""SELECT count(*) FROM (
                SELECT left(hs_code, 6) AS hs6 FROM declarations
                WHERE customs_value > 0 AND net_mass_kg > 0 AND length(hs_code) >= 6
                GROUP BY 1 HAVING count(*) < {int(min_cell_size)})"""
    ).fetchone()
    cells = con.execute(
        f"""SELECT hs6, any_value(cell_rows), exp(any_value(med)), any_value(mad),
                   count(*) FILTER (WHERE z < -{t}) AS lo, count(*) FILTER (WHERE z > {t}) AS hi
            FROM {_TABLE} GROUP BY hs6
            HAVING lo + hi > 0
            ORDER BY lo + hi DESC, hs6 LIMIT {int(top)}"""
    ).fetchall()
    # The most extreme on each side: low unit values matter most (possible under-valuation).
    outliers = con.execute(
        f"""SELECT * FROM (
                (SELECT declaration_id, item_no, batch_id, source_row, hs6, uv, exp(med), z
                 FROM {_TABLE} WHERE z < -{t} ORDER BY z, declaration_id, item_no
                 LIMIT {int(top)})
                UNION ALL
                (SELECT declaration_id, item_no, batch_id, source_row, hs6, uv, exp(med), z
                 FROM {_TABLE} WHERE z > {t} ORDER BY z DESC, declaration_id, item_no
                 LIMIT {int(top)}))
            ORDER BY abs(z) DESC, declaration_id, item_no"""
    ).fetchall()
    con.execute(f"DROP TABLE IF EXISTS {_TABLE}")
    outliers_total = low + high
    return UnitValueSummary(
        threshold=threshold,
        min_cell_size=min_cell_size,
        cells_tested=cells_tested,
        cells_too_small=int(small[0]) if small else 0,
        rows_tested=rows_tested,
        rows_untestable=scope_rows - rows_tested,
        outliers=outliers_total,
        outliers_low=low,
        outliers_high=high,
        share=outliers_total / rows_tested if rows_tested else 0.0,
        top_cells=tuple(
            UnitValueCell(
                hs6=str(c[0]), rows=int(c[1]), median_unit_value=float(c[2]),
                mad_log=float(c[3]), outliers_low=int(c[4]), outliers_high=int(c[5]),
            )
            for c in cells
        ),
        top_outliers=tuple(
            UnitValueOutlier(
                declaration_id=str(o[0]), item_no=int(o[1]), batch_id=o[2],
                source_row=None if o[3] is None else int(o[3]), hs6=str(o[4]),
                unit_value=float(o[5]), median_unit_value=float(o[6]), robust_z=float(o[7]),
            )
            for o in outliers
        ),
    )
