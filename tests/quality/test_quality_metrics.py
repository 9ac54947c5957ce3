"""Each metric of the data-quality report on crafted data with known answers."""

from __future__ import annotations

import pytest
from quality_fixtures import AS_OF, PLANTED_HIGH, PLANTED_LOW, Crafted

from clearlane.errors import NotFoundError
from clearlane.quality import QualityReport, compute_quality_report
from clearlane.services.quality import quality_report
from clearlane.store.workspace import Workspace


@pytest.fixture
def report(crafted: Crafted) -> QualityReport:
    return quality_report(crafted.workspace, as_of=AS_OF)


def test_row_counts_come_from_batches_quarantine_and_conflicts(report: QualityReport) -> None:
    rows = report.rows
    # the whole workspace is judged on what it holds: 50 stored + 3 outstanding rejected
    assert (rows.read, rows.accepted, rows.rejected, rows.warned) == (53, 50, 3, 3)
    assert (rows.read_by_ingest, rows.resolved) == (56, 0)
    assert (rows.duplicate_skipped, rows.conflicts) == (2, 1)
    assert [b.batch_id for b in report.batches] == ["batch-a", "batch-b"]
    assert str(report.first_date) == "1980-05-01"


def test_completeness_is_exact_and_blank_text_counts_as_missing(report: QualityReport) -> None:
    assert report.field_quality("declaration_id").completeness == 1.0
    assert report.field_quality("exporter_id").present == 40
    assert report.field_quality("exporter_id").completeness == pytest.approx(40 / 50)
    # 5 empty strings and 5 nulls
    assert report.field_quality("goods_description").completeness == pytest.approx(40 / 50)
    assert report.field_quality("fob_value").present == 1
    assert not report.field_quality("finding").provided


def test_validity_counts_issues_per_field(report: QualityReport) -> None:
    hs = report.field_quality("hs_code")
    assert (hs.rejected, hs.warned, hs.normalised) == (2, 0, 2)
    assert hs.validity == pytest.approx(1 - 2 / 53)
    origin = report.field_quality("origin_country")
    assert (origin.rejected, origin.warned, origin.normalised) == (0, 3, 5)
    assert report.field_quality("customs_value").validity == 1.0


def test_range_checks_find_each_planted_violation(report: QualityReport) -> None:
    expected = {
        "NET_MASS_ZERO": "S-0",
        "TAX_RATE_ABOVE_100": "S-1",
        "DATE_FAR_PAST": "S-2",
        "GROSS_BELOW_NET": "S-3",
        "FOB_ABOVE_CIF": "S-4",
    }
    failing = {c.code: c for c in report.ranges if c.violations}
    assert set(failing) == set(expected)
    for code, declaration_id in expected.items():
        check = failing[code]
        assert check.violations == 1
        assert check.examples[0].declaration_id == declaration_id
        assert check.examples[0].source_file == "a.csv"
    # the value as the store renders it as text ("150.0" on DuckDB, "150" on PostgreSQL)
    assert float(report.range_check("TAX_RATE_ABOVE_100").examples[0].value or "nan") == 150.0
    assert report.range_check("TAX_RATE_ABOVE_100").applicable == 50
    assert report.range_check("FOB_ABOVE_CIF").share == 1.0  # the only row with an FOB value


def test_future_dates_are_judged_against_the_report_date(crafted: Crafted) -> None:
    early = quality_report(crafted.workspace, as_of=AS_OF.replace(year=2026, month=3, day=1))
    # Batch a runs from 2026-01-01 to 2026-02-09; three items of batch b are dated 2026-06-01.
    future = early.range_check("DATE_FUTURE")
    assert future.violations == 3
    assert [e.declaration_id for e in future.examples] == ["B-0", "B-1", "B-2"]
    assert quality_report(crafted.workspace, as_of=AS_OF).range_check("DATE_FUTURE").violations == 0


def test_duplicates_conflicts_and_suspected_double_submissions(report: QualityReport) -> None:
    dup = report.duplicates
    assert (dup.exact_skipped, dup.conflicts) == (2, 1)
    assert (dup.suspected_groups, dup.suspected_rows) == (1, 1)
    assert dup.suspected_examples[0].value == "A-000, A-001"
    assert dup.conflict_examples[0].declaration_id == "A-005"


def test_planted_unit_value_outliers_are_flagged_and_small_cells_skipped(
    report: QualityReport,
) -> None:
    uv = report.unit_values
    assert (uv.outliers_low, uv.outliers_high) == (1, 1)
    flagged = {o.declaration_id: o for o in uv.top_outliers}
    assert set(flagged) == {PLANTED_LOW, PLANTED_HIGH}
    assert flagged[PLANTED_LOW].robust_z < -3.5 < 3.5 < flagged[PLANTED_HIGH].robust_z
    assert flagged[PLANTED_LOW].hs6 == "010121"
    assert flagged[PLANTED_LOW].median_unit_value == pytest.approx(10.0, rel=0.05)
    # 45 items in HS6 010121 are tested; the 4 usable items of 020130 are too few.
    assert (uv.rows_tested, uv.cells_tested, uv.cells_too_small) == (45, 1, 1)
    assert uv.rows_untestable == 5
    assert uv.top_cells[0].hs6 == "010121"


def test_batch_scope_restricts_counts_but_keeps_the_workspace_reference(
    crafted: Crafted,
) -> None:
    report = quality_report(crafted.workspace, "batch-b", as_of=AS_OF)
    assert report.batch_id == "batch-b"
    assert (report.rows.read, report.rows.accepted, report.rows.conflicts) == (6, 4, 1)
    assert report.unit_values.rows_tested == 4
    assert [o.declaration_id for o in report.unit_values.top_outliers] == [PLANTED_HIGH]
    assert report.unit_values.top_cells[0].rows == 45  # reference: the whole workspace
    assert report.field_quality("hs_code").rejected == 0


def test_batch_can_be_named_by_prefix_or_latest(crafted: Crafted) -> None:
    assert quality_report(crafted.workspace, "batch-a", as_of=AS_OF).rows.accepted == 46
    assert quality_report(crafted.workspace, "latest", as_of=AS_OF).batch_id == "batch-b"
    with pytest.raises(NotFoundError, match="several"):
        quality_report(crafted.workspace, "batch")
    with pytest.raises(NotFoundError, match=r"'nope' is not a batch.*batch-a, batch-b"):
        quality_report(crafted.workspace, "nope")


def test_top_issues_put_errors_first_with_examples(report: QualityReport) -> None:
    issues = report.top_issues
    ranks = [{"error": 0, "warning": 1, "info": 2}[i.severity] for i in issues]
    assert ranks == sorted(ranks)
    letters = next(i for i in issues if i.reason == "HS code contains letters")
    assert (letters.severity, letters.field, letters.count) == ("error", "hs_code", 2)
    assert [(e.row, e.value) for e in letters.examples] == [(101, "01A121"), (102, "B10121")]
    # A quarantined row with no itemised issue still shows up.
    orphan = next(i for i in issues if "not a date" in i.reason)
    assert orphan.count == 1 and orphan.examples[0].row == 103
    sources = {i.source for i in issues}
    assert sources == {"ingest", "range", "duplicate", "unit_value"}


def test_issue_reasons_differing_only_in_numbers_are_grouped(crafted: Crafted) -> None:
    with crafted.workspace.transaction() as con:
        con.executemany(
            "INSERT INTO ingest_issues VALUES ('batch-b', 'b.csv', ?, 'hs_code', ?, ?, 'warning')",
            [[r, code, f"heading {code[:4]} does not exist in HS 2022"]
             for r, code in ((2, "990110"), (3, "990110"), (4, "980210"))],
        )
    report = quality_report(crafted.workspace, "batch-b", as_of=AS_OF)
    grouped = next(i for i in report.top_issues if "does not exist" in i.reason)
    assert grouped.count == 3
    assert grouped.reason == "heading 9901 does not exist in HS 2022 (and 1 similar)"
    assert grouped.examples[0].value == "990110"


def test_score_is_a_weighted_mean_of_its_components(report: QualityReport) -> None:
    score = report.score
    expected = 100 * sum(c.value * c.weight for c in score.components)
    assert score.overall == pytest.approx(expected, abs=0.05)
    assert 0 < score.overall < 100
    ranges = next(c for c in score.components if c.name == "ranges")
    assert ranges.value == pytest.approx(1 - 5 / 50)
    validity = next(c for c in score.components if c.name == "validity")
    assert validity.value == pytest.approx(1 - (3 + 1.5) / 53)


def test_a_cleaner_workspace_scores_higher(crafted: Crafted, report: QualityReport) -> None:
    with crafted.workspace.transaction() as con:
        con.execute("DELETE FROM declarations WHERE declaration_id LIKE 'S-%'")
    cleaner = quality_report(crafted.workspace, as_of=AS_OF)
    assert cleaner.score.overall > report.score.overall


def test_empty_workspace_reports_no_rows(workspace: Workspace) -> None:
    report = quality_report(workspace, as_of=AS_OF)
    assert report.rows.read == 0
    assert report.score.grade == "-"
    assert report.notes


def test_progress_reaches_its_total(crafted: Crafted) -> None:
    seen: list[tuple[float, float | None]] = []
    with crafted.workspace.connect() as con:
        compute_quality_report(con, as_of=AS_OF, progress=lambda d, t: seen.append((d, t)))
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1]


def test_report_serialises_to_json(report: QualityReport) -> None:
    import json

    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows"]["accepted"] == 50
    assert data["as_of"] == "2026-11-23"


def test_a_key_stored_twice_is_an_integrity_error(crafted: Crafted) -> None:
    from quality_fixtures import declaration, insert_declarations

    insert_declarations(crafted.workspace, [declaration("A-010", "batch-b", 20)])
    report = quality_report(crafted.workspace, as_of=AS_OF)
    assert report.duplicates.key_repeated == 1
    repeated = next(i for i in report.top_issues if "stored more than once" in i.reason)
    assert (repeated.severity, repeated.count) == ("error", 1)


def test_monthly_volume_fills_empty_months_and_flags_gaps(crafted: Crafted) -> None:
    report = quality_report(crafted.workspace, "batch-a", as_of=AS_OF)
    months = {m.month.isoformat(): m for m in report.months}
    # 1980-05 (the far-past item) to 2026-02: every month listed, empty ones with 0 rows.
    assert len(report.months) == (2026 - 1980) * 12 + 2 - 5 + 1
    assert months["2026-01-01"].rows == 31 + 1 + 4  # A-000..A-030, planted, small cell
    assert months["2026-02-01"].rows == 9
    assert months["1990-01-01"].rows == 0 and not months["1990-01-01"].sparse  # median is 0
    with crafted.workspace.transaction() as con:
        con.execute("DELETE FROM declarations WHERE declared_at < DATE '2000-01-01'")
        con.execute(
            "INSERT INTO declarations (declaration_id, item_no, declared_at, hs_code, batch_id) "
            "SELECT 'X' || i, 1, DATE '2026-04-01', '010121', 'batch-a' FROM range(40) t(i)"
        )
    gaps = quality_report(crafted.workspace, "batch-a", as_of=AS_OF)
    assert [m.month.isoformat() for m in gaps.months if m.sparse] == ["2026-03-01"]
    assert any("2026-03" in note for note in gaps.notes)
