"""The HS benchmark's table of accuracy by how much history a test row's code has."""

from __future__ import annotations

import numpy as np
from benchmarks.hs import history_depth_table


def test_history_depth_groups_rows_by_training_count() -> None:
    train = ["010121", "020110", "020110", "030111", "030111", "030111"] + ["040110"] * 5
    test = ["090111", "010121", "020110", "040110"]
    wrong = ["999999"] * 5
    ranked = {6: np.array([wrong, ["010121", *wrong[:4]], [*wrong[:4], "020110"], wrong])}
    lines = history_depth_table(train, test, {"model": ranked}).splitlines()
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:] for line in lines[2:]}
    assert rows["0"] == ["1", "0.0 %", "0.0 % |"]
    assert rows["1"] == ["1", "100.0 %", "100.0 % |"]
    assert rows["2-4"] == ["1", "0.0 %", "100.0 % |"]
    assert rows["5 or more"] == ["1", "0.0 %", "0.0 % |"]
