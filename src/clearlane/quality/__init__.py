"""Data-quality report of the workspace: completeness, validity, duplicates, out-of-range
values and unit-value outliers per HS6, computed in SQL over the workspace database."""

from __future__ import annotations

from clearlane.quality.compute import compute_quality_report, resolve_batch
from clearlane.quality.range_checks import RANGE_CHECKS, RangeCheck
from clearlane.quality.report import (
    BatchSummary,
    DuplicateSummary,
    FieldQuality,
    IssueExample,
    IssueSummary,
    MonthlyVolume,
    QualityReport,
    QualityScore,
    RangeCheckResult,
    RowCounts,
    ScoreComponent,
    UnitValueCell,
    UnitValueOutlier,
    UnitValueSummary,
)

__all__ = [
    "RANGE_CHECKS",
    "BatchSummary",
    "DuplicateSummary",
    "FieldQuality",
    "IssueExample",
    "IssueSummary",
    "MonthlyVolume",
    "QualityReport",
    "QualityScore",
    "RangeCheck",
    "RangeCheckResult",
    "RowCounts",
    "ScoreComponent",
    "UnitValueCell",
    "UnitValueOutlier",
    "UnitValueSummary",
    "compute_quality_report",
    "resolve_batch",
]
