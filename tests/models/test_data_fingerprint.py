"""The training data fingerprint: order-independent, stable across processes, changed by any
value, and computed without writing the frame as text."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.models.registry import data_fingerprint
from clearlane.synth import SynthConfig, generate


@pytest.fixture(scope="module")
def declarations() -> pl.DataFrame:
    return generate(SynthConfig(n_items=600, days=20, seed=3)).declarations


def test_order_does_not_matter_duplicates_do(declarations: pl.DataFrame) -> None:
    base = data_fingerprint(declarations)
    assert len(base) == 64
    assert data_fingerprint(declarations.reverse()) == base
    assert data_fingerprint(declarations.sample(fraction=1.0, shuffle=True, seed=1)) == base
    assert data_fingerprint(pl.concat([declarations.slice(0, 10), declarations])) != base
    assert data_fingerprint(declarations.head(-1)) != base


def test_names_and_types_count(declarations: pl.DataFrame) -> None:
    base = data_fingerprint(declarations)
    assert data_fingerprint(declarations.rename({"item_no": "item"})) != base
    assert data_fingerprint(declarations.with_columns(pl.col("item_no").cast(pl.Int32))) != base
    assert data_fingerprint(declarations.select(reversed(declarations.columns))) != base


def test_no_text_is_written(declarations: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = data_fingerprint(declarations)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fingerprint serialised the frame")

    for method in ("write_csv", "write_json", "write_ndjson", "write_parquet", "write_ipc"):
        monkeypatch.setattr(pl.DataFrame, method, refuse)
    assert data_fingerprint(declarations) == expected


def test_categoricals_hash_by_value(declarations: pl.DataFrame) -> None:
    as_text = declarations.select("declaration_id", "origin_country")
    categorical = as_text.with_columns(pl.col("origin_country").cast(pl.Categorical))
    assert data_fingerprint(categorical) == data_fingerprint(as_text)


SCRIPT = """
import sys, polars as pl
from clearlane.models.registry import data_fingerprint
print(data_fingerprint(pl.read_parquet(sys.argv[1])))
"""


def test_stable_across_processes(declarations: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    declarations.write_parquet(path)
    src = str(Path(__file__).resolve().parents[2] / "src")
    prints = set()
    for hash_seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], check=True,
                             capture_output=True, text=True,
                             env={"PYTHONPATH": src, "PYTHONHASHSEED": hash_seed})
        prints.add(out.stdout.strip())
    assert prints == {data_fingerprint(declarations)}


values = st.one_of(st.none(), st.integers(-10**6, 10**6))
texts = st.one_of(st.none(), st.text(max_size=6))
floats = st.one_of(st.none(), st.floats(allow_nan=False, width=64))


@st.composite
def frame_and_change(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(1, 25))
    columns = {
        "id": draw(st.lists(texts, min_size=n, max_size=n)),
        "qty": draw(st.lists(values, min_size=n, max_size=n)),
        "value": draw(st.lists(floats, min_size=n, max_size=n)),
        "day": [date(2024, 1, 1 + i % 28) for i in range(n)],
    }
    name = draw(st.sampled_from(["id", "qty", "value", "day"]))
    row = draw(st.integers(0, n - 1))
    strategy = {"id": texts, "qty": values, "value": floats,
                "day": st.dates(date(2020, 1, 1), date(2030, 1, 1))}[name]
    new = draw(strategy.filter(lambda v: v != columns[name][row]))
    changed = {k: list(v) for k, v in columns.items()}
    changed[name][row] = new
    schema = {"id": pl.String, "qty": pl.Int64, "value": pl.Float64, "day": pl.Date}
    return pl.DataFrame(columns, schema=schema), pl.DataFrame(changed, schema=schema)


@settings(max_examples=200, deadline=None)
@given(frame_and_change())
def test_any_changed_value_changes_the_fingerprint(pair: tuple[pl.DataFrame, pl.DataFrame]
                                                   ) -> None:
    before, after = pair
    assert data_fingerprint(before) != data_fingerprint(after)
