"""The selector's lanes, bases and reasons on a fixed synthetic workspace match the golden file
computed before the selector read structured evidence instead of reason text
(regenerate with ``tests/selection/golden/make_golden.py`` only for an intended change)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))

from golden_workspace import GOLDEN, build, select, summary  # type: ignore[import-not-found]


@pytest.fixture(scope="module")
def golden_workspace(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return build(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("unit", ["declarations", "items"])
def test_lanes_match_the_golden_file(golden_workspace, unit: str) -> None:  # type: ignore[no-untyped-def]
    expected = json.loads(GOLDEN.read_text())[unit]
    got = json.loads(json.dumps(summary(select(golden_workspace,
                                               per_declaration=unit == "declarations"))))
    assert got["per_office"] == expected["per_office"]
    assert got["reason_codes"] == expected["reason_codes"]
    assert got["check_texts"] == expected["check_texts"]
    assert got["model_rank_texts"] == expected["model_rank_texts"]
    assert got["notes"] == expected["notes"]
    assert got["lanes_and_reasons_sha256"] == expected["lanes_and_reasons_sha256"]
