"""The overall data-quality score: a weighted mean of five shares, higher = better data.

=============  ======  ==========================================================================
component      weight  value in [0, 1]
=============  ======  ==========================================================================
completeness   0.30    mean completeness of the provided, non-outcome fields (required ones
                       count twice); fields no row provides are left out (not mapped)
validity       0.30    1 − (rejected rows + ½ × warned rows) / rows read (for the whole
                       workspace: of what is stored, see ``RowCounts``)
ranges         0.20    1 − accepted rows failing any out-of-range check / accepted rows
duplicates     0.10    1 − (conflicts + repeated keys + suspected double submissions) / rows
                       read
unit values    0.10    1 − unit-value outliers / items tested
=============  ======  ==========================================================================

Grades: A ≥ 95, B ≥ 90, C ≥ 80, D ≥ 70, E below.
"""

from __future__ import annotations

from collections.abc import Sequence

from clearlane.quality.report import (
    DuplicateSummary,
    FieldQuality,
    QualityScore,
    RowCounts,
    ScoreComponent,
    UnitValueSummary,
)

WEIGHTS: dict[str, float] = {
    "completeness": 0.30,
    "validity": 0.30,
    "ranges": 0.20,
    "duplicates": 0.10,
    "unit values": 0.10,
}
GRADES: tuple[tuple[float, str], ...] = ((95.0, "A"), (90.0, "B"), (80.0, "C"), (70.0, "D"))


def grade(overall: float) -> str:
    """The letter grade of an overall score in [0, 100]."""
    return next((letter for bound, letter in GRADES if overall >= bound), "E")


def _share(part: float, whole: float) -> float:
    return min(1.0, max(0.0, part / whole)) if whole > 0 else 0.0


def score_report(
    rows: RowCounts,
    fields: Sequence[FieldQuality],
    rows_out_of_range: int,
    duplicates: DuplicateSummary,
    unit_values: UnitValueSummary,
) -> QualityScore:
    """Combine the metrics into the overall score (see the module docstring)."""
    weighted = [
        (f.completeness, 2.0 if f.required else 1.0)
        for f in fields
        if f.provided and not f.outcome
    ]
    total_weight = sum(w for _, w in weighted)
    completeness = sum(v * w for v, w in weighted) / total_weight if total_weight else 0.0
    values = {
        "completeness": (
            completeness,
            f"mean completeness of {len(weighted)} provided fields (required fields count twice)",
        ),
        "validity": (
            1.0 - _share(rows.rejected + 0.5 * rows.warned, rows.read),
            f"{rows.rejected:,} rejected and {rows.warned:,} warned of {rows.read:,} rows read",
        ),
        "ranges": (
            1.0 - _share(rows_out_of_range, rows.accepted),
            f"{rows_out_of_range:,} of {rows.accepted:,} accepted rows fail a range check",
        ),
        "duplicates": (
            1.0 - _share(
                duplicates.conflicts + duplicates.key_repeated + duplicates.suspected_rows,
                rows.read,
            ),
            f"{duplicates.conflicts:,} conflicts, {duplicates.key_repeated:,} repeated keys, "
            f"{duplicates.suspected_rows:,} suspected double submissions",
        ),
        "unit values": (
            1.0 - _share(unit_values.outliers, unit_values.rows_tested),
            f"{unit_values.outliers:,} outliers of {unit_values.rows_tested:,} items tested",
        ),
    }
    components = tuple(
        ScoreComponent(name, value, WEIGHTS[name], explanation)
        for name, (value, explanation) in values.items()
    )
    if rows.read == 0 and rows.accepted == 0:
        return QualityScore(overall=0.0, grade="-", components=components)
    overall = 100.0 * sum(c.value * c.weight for c in components) / sum(WEIGHTS.values())
    return QualityScore(overall=round(overall, 1), grade=grade(overall), components=components)
