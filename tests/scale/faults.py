"""Faults injected on Dask workers: importable by name on every worker process (the workers
inherit the test process's ``sys.path``), unlike functions of a test module."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KillWorkerOn:
    """Kill the worker process that is about to score ``year_month`` (every time, or only
    the first time when ``once_marker`` is a file path: the marker remembers the kill)."""

    year_month: str
    once_marker: str | None = None

    def __call__(self, year_month: str) -> None:
        if year_month != self.year_month:
            return
        if self.once_marker is not None:
            marker = Path(self.once_marker)
            if marker.exists():
                return
            marker.write_text("killed once\n", encoding="utf-8")
        os._exit(17)
