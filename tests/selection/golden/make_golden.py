"""Regenerate ``lanes.json``: ``PYTHONPATH=src python
tests/selection/golden/make_golden.py``. Only when a lane change is intended: the file pins
the selector's lanes, bases and check reasons on a fixed synthetic workspace."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from golden_workspace import GOLDEN, build, select, summary  # type: ignore[import-not-found]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = build(Path(tmp))
        golden = {"declarations": summary(select(ws)),
                  "items": summary(select(ws, per_declaration=False))}
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"written {GOLDEN}")


if __name__ == "__main__":
    main()
