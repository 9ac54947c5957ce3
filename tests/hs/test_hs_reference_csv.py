from __future__ import annotations

from pathlib import Path

import pytest

from clearlane.errors import NotFoundError, ValidationError
from clearlane.hs.reference_csv import read_reference_csv


def test_columns_found_by_alias_with_bom_case_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeff HTS Number ,Description\n8517.13,Smartphones\n".encode())
    rows, columns = read_reference_csv(
        path, "national tariff", {"code": ("hts number", "code")}, {"rate": ("duty_rate",)}
    )
    assert columns == {"code": " HTS Number ", "rate": None}
    assert rows == [{" HTS Number ": "8517.13", "Description": "Smartphones"}]


def test_missing_required_column_names_file_columns_and_aliases(tmp_path: Path) -> None:
    path = tmp_path / "conc.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"cannot read conc\.csv as a concordance") as info:
        read_reference_csv(path, "concordance", {"source": ("hs2017", "old")})
    problem = info.value.problems[0]
    assert problem.value == "a, b" and "hs2017, old" in problem.reason


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="examples file"):
        read_reference_csv(tmp_path / "none.csv", "examples", {"code": ("code",)})
