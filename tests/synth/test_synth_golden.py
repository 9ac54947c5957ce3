"""``generate`` is pinned byte for byte: the same config and seed give the frames fingerprinted
in ``golden/generate.json`` (regenerate with ``golden/regenerate_synth_golden.py`` only after a
deliberate change of the generator)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent


def _regenerate_module() -> ModuleType:
    # loaded by path: the golden folder is not a package
    path = HERE / "golden" / "regenerate_synth_golden.py"
    spec = importlib.util.spec_from_file_location("regenerate_synth_golden", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REGENERATE = _regenerate_module()
GOLDEN: dict[str, dict[str, object]] = json.loads(REGENERATE.GOLDEN.read_text(encoding="utf-8"))


def test_every_case_has_a_golden_fingerprint() -> None:
    assert set(GOLDEN) == set(REGENERATE.CASES)


@pytest.mark.parametrize("name", sorted(REGENERATE.CASES))
def test_generate_matches_its_golden_fingerprint(name: str) -> None:
    assert REGENERATE.fingerprint(REGENERATE.CASES[name]) == GOLDEN[name]
