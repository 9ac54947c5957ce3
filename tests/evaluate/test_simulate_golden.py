"""``simulate`` is pinned: small runs give exactly the weekly tables, summaries and notes in
``golden/`` (regenerate with ``golden/regenerate_simulate_golden.py`` only after a deliberate
change of the simulator or the selector)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent


def _regenerate_module() -> ModuleType:
    # loaded by path: the golden folder is not a package
    path = HERE / "golden" / "regenerate_simulate_golden.py"
    spec = importlib.util.spec_from_file_location("regenerate_simulate_golden", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REGENERATE = _regenerate_module()


@pytest.mark.parametrize("name", sorted(REGENERATE.CASES))
def test_simulate_matches_its_golden_tables(name: str) -> None:
    for file, text in REGENERATE.run(name).items():
        golden = (HERE / "golden" / f"{name}.{file}").read_text(encoding="utf-8")
        assert text == golden, f"{name}.{file} differs from the golden file"
