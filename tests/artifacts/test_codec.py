"""The codec: plain values and model parts round-trip; unknown classes are refused both ways."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from clearlane.artifacts.codec import decode, encode
from clearlane.errors import ArtifactError, ValidationError


def _round_trip(value: Any) -> Any:
    tree, members = encode(value)
    return decode(tree, lambda name: members[name])


def _same(a: Any, b: Any) -> bool:
    """Equality that also compares types (a tuple is not a list) and NaN with NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


keys = st.one_of(st.text(max_size=8), st.integers(), st.just("$"),
                 st.tuples(st.integers(), st.text(max_size=3)))
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
                   st.binary(max_size=16), st.dates())
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=4),
        st.frozensets(st.integers(), max_size=4),
    ),
    max_leaves=20,
)


@given(values)
def test_plain_nested_values_round_trip(value: Any) -> None:
    assert _same(_round_trip(value), value)


def test_model_parts_round_trip() -> None:
    frame = pl.DataFrame({"a": [1, None, 3], "b": ["x", "y", None],
                          "d": [date(2024, 1, 1)] * 3})
    matrix = sp.random(20, 30, density=0.1, format="csr", dtype=np.float32, random_state=0)
    value = {
        "ints": np.arange(10, dtype=np.int32), "floats": np.array([[1.5, np.nan]]),
        "text": np.array(["ab", "c"]), "objects": np.array(["x", "yz"], dtype=object),
        "nested": np.array([None, None], dtype=object),
        "scalar": np.float32(0.25), "count": np.int64(7), "dtype": np.dtype("float16"),
        "type": np.float32, "frame": frame, "series": frame["b"], "sparse": matrix,
        "coo": matrix.tocoo(), "csc": matrix.tocsc(), "when": datetime(2024, 5, 1, 12, 30),
        "delta": timedelta(days=3), "nan": float("nan"), 7: "int key",
    }
    back = _round_trip(value)
    for name in ("ints", "floats", "text", "objects"):
        np.testing.assert_array_equal(back[name], value[name])
        assert back[name].dtype == value[name].dtype
    value["nested"][:] = [[1, 2], (3,)]
    assert _round_trip(value["nested"]).tolist() == [[1, 2], (3,)]
    assert back["scalar"] == value["scalar"] and back["scalar"].dtype == np.float32
    assert back["count"] == 7 and back["dtype"] == np.float16 and back["type"] is np.float32
    assert back["frame"].equals(frame) and back["series"].equals(frame["b"])
    for name in ("sparse", "coo", "csc"):
        assert type(back[name]) is type(value[name])
        assert (back[name] != value[name]).nnz == 0
    assert back["when"] == value["when"] and back["delta"] == value["delta"]
    assert math.isnan(back["nan"]) and back[7] == "int key"


class NotListed:
    def __init__(self) -> None:
        self.x = 1


def test_saving_an_unlisted_class_or_function_is_refused() -> None:
    with pytest.raises(ValidationError, match="NotListed"):
        encode({"m": NotListed()})
    with pytest.raises(ValidationError, match="print"):
        encode([print])


@pytest.mark.parametrize("node", [
    {"$": "object", "class": "os.system", "state": {}},
    {"$": "object", "class": "subprocess.Popen", "state": {}},
    {"$": "function", "name": "builtins.eval"},
    {"$": "function", "name": "os.system"},
    {"$": "stateless", "class": "subprocess.Popen"},
    {"$": "nptype", "dtype": "O"},
    {"$": "no-such-tag"},
])
def test_decoding_an_unlisted_name_is_refused(node: dict[str, Any]) -> None:
    with pytest.raises(ArtifactError):
        decode({"model": node}, lambda name: b"")
