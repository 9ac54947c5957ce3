"""The data-quality report: immutable results, no computation.

Every percentage is a share in ``[0, 1]`` (multiply by 100 to display). The overall score is a
*quality* score: **higher means better data** (it is not a risk score).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class RowCounts:
    """Row counts for the scope of the report (one batch or the whole workspace).

    ``accepted`` counts the declaration items held in the store for the scope.

    For one batch, ``read`` counts the source rows its ingest read (from ``ingest_batches``;
    when no batch is recorded, ``accepted + rejected``), ``rejected`` its quarantined rows
    and ``warned`` its rows with warnings.

    For the whole workspace the counts are of what is stored: ``rejected`` counts the
    quarantined rows still outstanding (a row whose key was stored later, from a fixed file,
    is not counted, and a key rejected by several files counts once: ``resolved`` says how
    many quarantined rows were left out), ``read`` = ``accepted + rejected``, and ``warned``
    counts stored rows with a warning. ``read_by_ingest`` is the sum of the rows every
    ingest read (re-reads included).
    """

    read: int
    accepted: int
    rejected: int
    warned: int
    duplicate_skipped: int
    conflicts: int
    read_by_ingest: int = 0
    resolved: int = 0


@dataclass(frozen=True)
class BatchSummary:
    """One ingest batch as recorded by ingest."""

    batch_id: str
    source_file: str
    profile_name: str | None
    finished_at: datetime | None
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_duplicate: int
    rows_conflict: int
    rows_warned: int


@dataclass(frozen=True)
class FieldQuality:
    """Completeness and validity of one canonical field.

    ``completeness`` = present / accepted rows (an empty or blank string counts as missing).
    ``validity`` = 1 - (rows with an ingest issue on this field) / rows read.
    ``provided`` is false when no accepted row has the field (it is not mapped in the source);
    such fields are listed but left out of the overall score.
    """

    name: str
    kind: str
    required: bool
    outcome: bool
    present: int
    completeness: float
    rejected: int
    warned: int
    validity: float
    normalised: int

    @property
    def provided(self) -> bool:
        return self.present > 0


@dataclass(frozen=True)
class IssueExample:
    """One concrete occurrence of an issue, enough to find the row again."""

    batch_id: str | None
    source_file: str | None
    row: int | None
    field: str | None
    value: str | None
    reason: str
    declaration_id: str | None = None
    item_no: int | None = None


@dataclass(frozen=True)
class DuplicateSummary:
    """Duplicates seen at ingest and suspected in the store.

    ``exact_skipped``: source rows identical to a row already stored, skipped by ingest
    (idempotency). ``conflicts``: a (declaration_id, item_no) seen again with different content,
    reported and never overwritten. ``suspected_rows``: stored items under a *different*
    declaration id that repeat importer, HS code, date, origin, value and net mass of another
    item (possible double submission); counts every declaration beyond the first of each group.
    ``key_repeated``: stored items whose (declaration_id, item_no) is stored more than once,
    beyond the first (the store has no key index; ingest must keep this at 0).
    """

    exact_skipped: int
    conflicts: int
    key_repeated: int
    suspected_rows: int
    suspected_groups: int
    conflict_examples: tuple[IssueExample, ...]
    suspected_examples: tuple[IssueExample, ...]


@dataclass(frozen=True)
class RangeCheckResult:
    """One out-of-range check on the accepted rows.

    ``applicable`` counts rows where the fields involved are present; ``share`` = violations /
    applicable (0 when nothing is applicable).
    """

    code: str
    field: str
    description: str
    severity: Severity
    applicable: int
    violations: int
    share: float
    examples: tuple[IssueExample, ...]


@dataclass(frozen=True)
class UnitValueCell:
    """Unit-value distribution of one HS6 subheading (national currency per kg)."""

    hs6: str
    rows: int
    median_unit_value: float
    mad_log: float
    outliers_low: int
    outliers_high: int


@dataclass(frozen=True)
class UnitValueOutlier:
    """One item whose unit value is far from its HS6 median.

    ``robust_z`` = 0.6745 × (ln uv − median ln uv) / MAD(ln uv) within the HS6; negative means
    cheaper than usual (possible under-valuation), positive dearer.
    """

    declaration_id: str
    item_no: int
    batch_id: str | None
    source_row: int | None
    hs6: str
    unit_value: float
    median_unit_value: float
    robust_z: float


@dataclass(frozen=True)
class UnitValueSummary:
    """Unit-value outliers per HS6 (customs_value / net_mass_kg, robust z on the log scale).

    ``rows_tested`` counts in-scope items with value > 0 and net mass > 0 in an HS6 with at
    least ``min_cell_size`` such items in the whole workspace (the reference distribution).
    ``top_outliers`` holds the most extreme low and the most extreme high items, by |z|.
    """

    threshold: float
    min_cell_size: int
    cells_tested: int
    cells_too_small: int
    rows_tested: int
    rows_untestable: int
    outliers: int
    outliers_low: int
    outliers_high: int
    share: float
    top_cells: tuple[UnitValueCell, ...]
    top_outliers: tuple[UnitValueOutlier, ...]


@dataclass(frozen=True)
class MonthlyVolume:
    """Accepted items declared in one calendar month (``month`` is its first day).

    ``sparse`` marks a month, strictly between the first and the last, holding fewer than a
    quarter of the median month's items: a likely gap in the extract rather than in trade.
    """

    month: date
    rows: int
    sparse: bool


@dataclass(frozen=True)
class IssueSummary:
    """One kind of issue (same source, field and reason), with its count and examples."""

    source: Literal["ingest", "range", "duplicate", "unit_value"]
    severity: Severity
    field: str | None
    reason: str
    count: int
    examples: tuple[IssueExample, ...]


@dataclass(frozen=True)
class ScoreComponent:
    """One component of the overall score: a value in [0, 1] (higher = better) and its weight."""

    name: str
    value: float
    weight: float
    explanation: str


@dataclass(frozen=True)
class QualityScore:
    """Overall data-quality score in [0, 100], higher = better, with its letter grade."""

    overall: float
    grade: str
    components: tuple[ScoreComponent, ...]


@dataclass(frozen=True)
class QualityReport:
    """The data-quality report of a workspace, or of one ingest batch (``batch_id``)."""

    generated_at: datetime
    as_of: date
    batch_id: str | None
    rows: RowCounts
    batches: tuple[BatchSummary, ...]
    fields: tuple[FieldQuality, ...]
    duplicates: DuplicateSummary
    ranges: tuple[RangeCheckResult, ...]
    unit_values: UnitValueSummary
    top_issues: tuple[IssueSummary, ...]
    score: QualityScore
    first_date: date | None = None
    last_date: date | None = None
    months: tuple[MonthlyVolume, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def scope(self) -> str:
        return f"batch {self.batch_id}" if self.batch_id else "whole workspace"

    def field_quality(self, name: str) -> FieldQuality:
        """The quality of one canonical field by name."""
        for item in self.fields:
            if item.name == name:
                return item
        raise KeyError(name)

    def range_check(self, code: str) -> RangeCheckResult:
        """One out-of-range check by code."""
        for item in self.ranges:
            if item.code == code:
                return item
        raise KeyError(code)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
