"""The quality report of a file that went through the real ingest pipeline."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clearlane.services.ingest import ingest_file
from clearlane.services.quality import quality_report
from clearlane.store.workspace import Workspace

TODAY = date(2026, 11, 23)
HEADER = (
    "declaration_id,item_no,declared_at,hs_code,origin_country,net_mass_kg,customs_value,"
    "tax_rate,exporter_id\n"
)


def _csv(path: Path) -> Path:
    lines = [HEADER]
    for i in range(30):  # one tight HS6 cell: 10 per kg, give or take 5 %
        value = 1000 * (1 + 0.01 * (i % 10 - 5))
        exporter = "" if i < 6 else "EXP1"
        lines.append(f"D{i:03d},1,2026-03-{1 + i % 28:02d},0101.21,France,100,{value},5,{exporter}\n")
    lines.append("CHEAP,1,2026-03-02,010121,FR,100,5,5,EXP1\n")  # 0.05 per kg
    lines.append("RATE,1,2026-03-02,010121,FR,100,1000,250,EXP1\n")  # tax rate 250 %
    lines.append("NEG,1,2026-03-02,010121,FR,-3,1000,5,EXP1\n")  # negative mass: rejected
    lines.append("ZZZ,1,2026-03-02,010121,Atlantis,100,1000,5,EXP1\n")  # unknown country
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_quality_of_an_ingested_file(workspace: Workspace, tmp_path: Path) -> None:
    source = _csv(tmp_path / "declarations.csv")
    ingested = ingest_file(workspace, source, "canonical", today=TODAY)
    report = quality_report(workspace, ingested.batch_id, as_of=TODAY)

    assert report.rows.read == 34
    assert report.rows.rejected == 2  # negative mass and unknown country
    assert report.rows.accepted == 32
    assert report.field_quality("exporter_id").completeness == 26 / 32
    assert report.field_quality("net_mass_kg").rejected == 1
    assert report.field_quality("origin_country").rejected == 1
    assert report.field_quality("origin_country").normalised >= 30  # France → FR
    assert report.field_quality("hs_code").normalised >= 30  # 0101.21 → 010121
    assert report.range_check("TAX_RATE_ABOVE_100").violations == 1
    assert [o.declaration_id for o in report.unit_values.top_outliers] == ["CHEAP"]
    reasons = {(i.field, i.count) for i in report.top_issues if i.severity == "error"}
    assert ("net_mass_kg", 1) in reasons and ("origin_country", 1) in reasons
    negative = next(i for i in report.top_issues if i.field == "net_mass_kg")
    assert negative.examples[0].value == "-3"
    assert negative.examples[0].source_file == "declarations.csv"
