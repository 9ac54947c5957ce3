"""The lean-training benchmark's verdicts follow its measurements (2x time, 3x memory)."""

from __future__ import annotations

from typing import Any

from benchmarks.train_lean import MIB, report


def _result(train_s: float, bare_all_s: float, peak_mb: float, matrix_bytes: int) -> dict[str, Any]:
    return {
        "items": 1000, "search_rounds": 50,
        "train": {"seconds": train_s, "peak_mb": peak_mb, "start_mb": 100.0,
                  "spent": {"boosting": 1.0}, "artifact_bytes": {"fraud": 10, "anomaly": 5},
                  "params": {"n_rounds": 40}},
        "matrix": {"all_rows": 1000, "rows": 200, "features": 10, "matrix_bytes": matrix_bytes,
                   "all_rows_bytes": 80_000},
        "bare": {"final": bare_all_s / 2, "all": bare_all_s, "peak_mb": 50.0},
        "first": {"first": 0.1, "added_mb": 1.0, "p50_ms": 1.0, "p99_ms": 2.0},
    }


def test_targets_met_and_not_met() -> None:
    met = report([_result(3.9, 2.0, 290.0, 100 * MIB)], "cmd")
    assert "time within 2× of all the bare boosting — **met**" in met
    assert "peak memory within 3× of the matrix — **met**" in met
    missed = report([_result(4.1, 2.0, 310.0, 100 * MIB)], "cmd")
    assert "time within 2× of all the bare boosting — **not met**" in missed
    assert "peak memory within 3× of the matrix — **not met**" in missed
    assert "| 1,000 | 1,000 | 200 × 10 |" in missed
