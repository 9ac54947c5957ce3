"""The targeting benchmark's --keep-speed mode keeps section 3 with where it came from."""

from __future__ import annotations

from pathlib import Path

import benchmarks._report as report
import pytest
from benchmarks.targeting import _earlier_speed_part

SECTION = """<!-- bench:targeting -->
## Targeting

Command: `python -m benchmarks.targeting --seeds 5`
Machine: test
Run: 2026-11-23 16:00 UTC

### 1. KCS

quality numbers

### 3. Speed (synthetic)

| measure | value |
|---|---|
| batch | 212,056 rows/s |
<!-- /bench:targeting -->
"""


def test_kept_speed_section_names_its_run_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "benchmarks.md"
    path.write_text(SECTION, encoding="utf-8")
    monkeypatch.setattr(report, "REPORT", path)
    kept = _earlier_speed_part()
    assert kept.startswith("### 3. Speed (synthetic)")
    assert "Section 3 comes from the run `python -m benchmarks.targeting --seeds 5` of " in kept
    assert "2026-11-23 16:00 UTC" in kept and "212,056 rows/s" in kept
    assert "quality numbers" not in kept
    # Kept again (a second --keep-speed run): the provenance is not stacked.
    path.write_text(
        SECTION.replace(SECTION[SECTION.index("### 3.") :], kept + "\n<!-- /bench:targeting -->\n")
    )
    again = _earlier_speed_part()
    assert again.count("Section 3 comes from") == 1
    assert "2026-11-23 16:00 UTC" in again


def test_keep_speed_without_an_earlier_run_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "REPORT", tmp_path / "missing.md")
    with pytest.raises(SystemExit, match="--keep-speed"):
        _earlier_speed_part()
