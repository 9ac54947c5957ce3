"""Turn a fitted model into a JSON tree plus binary members, and back, without pickle.

:func:`encode` walks an object's state (``__getstate__()``) and returns a JSON-able tree and
a dict of binary members; :func:`decode` rebuilds the object. What each value becomes:

============================  ================================================================
value                         encoded as
============================  ================================================================
None, bool, int, str          itself; a finite float itself, NaN/±inf tagged
list                          a JSON array
dict with str keys            a JSON object (tagged pairs when a key is not a str or is ``$``)
tuple, set, frozenset, bytes  tagged (``{"$": "tuple", "items": [...]}``...)
date, datetime, timedelta     tagged ISO text / seconds
NumPy array                   a ``.npy`` member, read back with ``allow_pickle=False``
                              (an array of Python objects: its items, one by one)
NumPy scalar, dtype, type     tagged dtype text and value
SciPy sparse matrix           its component arrays as ``.npy`` members
LightGBM booster              LightGBM's own model text (a ``.txt`` member)
polars DataFrame / Series     an Arrow IPC member (zstd)
other object                  ``{"$": "object", "class": "module.Name", "state": ...}``
function                      ``{"$": "function", "name": "module.name"}``
============================  ================================================================

Decoding builds objects only of the classes in :mod:`clearlane.artifacts.allowlist`
(``cls.__new__(cls)``, then ``__setstate__(state)`` if the class defines it, else
``__dict__.update(state)``); an unknown name is an :class:`~clearlane.errors.ArtifactError`.
Nothing is evaluated or imported by name from the file beyond that list.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import types
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from clearlane.artifacts.allowlist import (
    FUNCTIONS,
    STATELESS,
    is_allowed_class,
    qualified_name,
    resolve,
)
from clearlane.errors import ArtifactError, ValidationError

TAG = "$"
EXTERNAL_STATE = "EXTERNAL_STATE"
"""Class attribute: names of the attributes whose tables may be stored outside the artifact."""
DERIVED_STATE = "DERIVED_STATE"
"""Class attribute: names of the attributes not saved (``__setstate__`` rebuilds them)."""
EXTERNAL_FOLDER = "history"
"""Member-name prefix of the tables stored outside the artifact (its history dataset)."""
_DTYPE_KINDS = frozenset("biufcmMUS")
_SPARSE_CLASSES = {
    "csr_matrix": ("data", "indices", "indptr"),
    "csc_matrix": ("data", "indices", "indptr"),
    "coo_matrix": ("data", "row", "col"),
    "csr_array": ("data", "indices", "indptr"),
    "csc_array": ("data", "indices", "indptr"),
    "coo_array": ("data", "row", "col"),
}
MAX_DEPTH = 200


# -- encoding --------------------------------------------------------------------------------
class _Encoder:
    def __init__(self, external: bool = False) -> None:
        self.members: dict[str, bytes] = {}
        self.external: dict[str, bytes] = {}
        self._external = external
        self._outside = 0  # > 0 while encoding an attribute listed in EXTERNAL_STATE
        self._memo: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._active: set[int] = set()

    def member(self, folder: str, suffix: str, payload: bytes) -> str:
        if folder == "frames" and self._outside:
            # named by content: equal tables of two models are one file of a shared dataset
            name = f"{EXTERNAL_FOLDER}/{hashlib.sha256(payload).hexdigest()[:32]}{suffix}"
            self.external[name] = payload
            return name
        name = f"{folder}/{len(self.members)}{suffix}"
        self.members[name] = payload
        return name

    def array(self, value: np.ndarray) -> dict[str, Any]:
        cached = self._memo.get(id(value))
        if cached is not None and cached[0] is value:
            return cached[1]
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(value) if value.ndim else value, allow_pickle=False)
        node = {TAG: "ndarray", "member": self.member("arrays", ".npy", buffer.getvalue())}
        self._memo[id(value)] = (value, node)
        return node

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ValidationError(f"cannot save: the model's state is nested over {MAX_DEPTH} deep")
        if value is None or type(value) in (bool, str, int):  # subclasses (enums) are not plain
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}
        if isinstance(value, np.generic):
            return self.scalar(value)
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                return {TAG: "objarray", "shape": list(value.shape),
                        "items": [self.encode(v, depth + 1) for v in value.ravel(order="C")]}
            return self.array(value)
        if isinstance(value, np.dtype):
            return {TAG: "dtype", "dtype": _dtype_text(value)}
        if isinstance(value, type) and issubclass(value, np.generic):
            return {TAG: "nptype", "dtype": _dtype_text(np.dtype(value))}
        if isinstance(value, pl.DataFrame):
            return {TAG: "frame", "member": self.member("frames", ".arrow", _ipc(value))}
        if isinstance(value, pl.Series):
            return {TAG: "series", "member": self.member("frames", ".arrow", _ipc(value.to_frame()))}
        if type(value) in (list, tuple, set, frozenset, dict):
            return self.container(value, depth)
        if isinstance(value, (datetime, date, timedelta, bytes)):
            return _simple(value)
        module = type(value).__module__
        if module.startswith("scipy.sparse"):
            return self.sparse(value)
        if module.startswith("lightgbm") and type(value).__name__ == "Booster":
            text = value.model_to_string(num_iteration=-1)
            return {TAG: "booster", "member": self.member("boosters", ".txt", text.encode()),
                    "best_iteration": int(getattr(value, "best_iteration", 0) or 0)}
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
            return self.function(value)
        return self.instance(value, depth)

    def scalar(self, value: np.generic) -> Any:
        dtype = value.dtype
        if dtype.kind in "biuf":
            item = value.item()
            encoded = item if not isinstance(item, float) or math.isfinite(item) else repr(item)
            return {TAG: "npscalar", "dtype": _dtype_text(dtype), "value": encoded}
        return {TAG: "npscalar", "dtype": _dtype_text(dtype), "array": self.array(np.asarray(value))}

    def container(self, value: Any, depth: int) -> Any:
        key = id(value)
        if key in self._active:
            raise ValidationError("cannot save: the model's state refers to itself (a cycle)")
        self._active.add(key)
        try:
            if isinstance(value, list):
                return [self.encode(v, depth + 1) for v in value]
            if isinstance(value, dict):
                if all(isinstance(k, str) for k in value) and TAG not in value:
                    return {k: self.encode(v, depth + 1) for k, v in value.items()}
                return {TAG: "dict", "items": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                               for k, v in value.items()]}
            kind = type(value).__name__
            return {TAG: kind, "items": [self.encode(v, depth + 1) for v in value]}
        finally:
            self._active.discard(key)

    def sparse(self, value: Any) -> dict[str, Any]:
        name = type(value).__name__
        fields = _SPARSE_CLASSES.get(name)
        if fields is None:
            raise ValidationError(f"cannot save a scipy.sparse {name}; use CSR, CSC or COO")
        node: dict[str, Any] = {TAG: "sparse", "class": name, "shape": [int(n) for n in value.shape]}
        for field in fields:
            node[field] = self.array(np.asarray(getattr(value, field)))
        return node

    def function(self, value: Any) -> dict[str, Any]:
        name = qualified_name(value)
        if name not in FUNCTIONS:
            raise ValidationError(
                f"cannot save a reference to the function {name!r}: it is not on the artifact "
                "allowlist (clearlane.artifacts.allowlist.FUNCTIONS)"
            )
        return {TAG: "function", "name": name}

    def instance(self, value: Any, depth: int) -> dict[str, Any]:
        name = qualified_name(type(value))
        if name in STATELESS and value.__reduce__() == (type(value), ()):
            return {TAG: "stateless", "class": name}
        if not is_allowed_class(name):
            raise ValidationError(
                f"cannot save an object of class {name!r}: it is not on the artifact allowlist "
                "(clearlane.artifacts.allowlist.CLASSES); add it there if it is plain data"
            )
        state = value.__getstate__()
        if not isinstance(state, dict):
            raise ValidationError(f"cannot save {name!r}: its state is not a dict of attributes")
        derived = getattr(type(value), DERIVED_STATE, ())
        if derived:  # rebuilt by the class's __setstate__ on load: never saved
            state = {k: v for k, v in state.items() if k not in derived}
        key = id(value)
        if key in self._active:
            raise ValidationError("cannot save: the model's state refers to itself (a cycle)")
        self._active.add(key)
        outside = set(getattr(type(value), EXTERNAL_STATE, ())) if self._external else set()
        try:
            if not outside or TAG in state or not all(isinstance(k, str) for k in state):
                return {TAG: "object", "class": name, "state": self.encode(dict(state), depth + 1)}
            encoded: dict[str, Any] = {}
            for attribute, item in state.items():
                self._outside += attribute in outside
                try:
                    encoded[attribute] = self.encode(item, depth + 2)
                finally:
                    self._outside -= attribute in outside
            return {TAG: "object", "class": name, "state": encoded}
        finally:
            self._active.discard(key)


def encode(value: Any) -> tuple[Any, dict[str, bytes]]:
    """(JSON-able tree, binary members by name) for ``value``; see the module docstring."""
    tree, members, _ = encode_split(value, external=False)
    return tree, members


def encode_split(value: Any, *, external: bool = True
                 ) -> tuple[Any, dict[str, bytes], dict[str, bytes]]:
    """Like :func:`encode`, plus the members kept *outside* the artifact: with ``external``,
    the tables inside the attributes an object's class lists in its ``EXTERNAL_STATE`` (the
    fitted history of a feature pipeline) are named by their content
    (``history/<first 32 hex digits of their SHA-256>.arrow``) and returned apart, so that the
    artifact holds only the rest (see :mod:`clearlane.artifacts.envelope`). The attributes a
    class lists in ``DERIVED_STATE`` are never encoded (its ``__setstate__`` rebuilds them)."""
    encoder = _Encoder(external=external)
    tree = encoder.encode(value)
    return tree, encoder.members, encoder.external


def _dtype_text(dtype: np.dtype[Any]) -> str:
    if dtype.kind not in _DTYPE_KINDS or dtype.fields is not None:
        raise ValidationError(f"cannot save NumPy dtype {dtype!r}")
    return dtype.str


def _ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="zstd")
    return buffer.getvalue()


def _simple(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, timedelta):
        return {TAG: "timedelta", "seconds": value.total_seconds()}
    return {TAG: "bytes", "base64": base64.b64encode(value).decode("ascii")}


# -- decoding --------------------------------------------------------------------------------
Members = Callable[[str], bytes]


class _Decoder:
    def __init__(self, members: Members, where: str) -> None:
        self.members = members
        self.where = where

    def fail(self, reason: str) -> ArtifactError:
        return ArtifactError(f"artifact {self.where}: {reason}; it was not loaded")

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(f"state nested over {MAX_DEPTH} deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            raise self.fail(f"unexpected JSON value of type {type(node).__name__}")
        if TAG not in node:
            return {k: self.decode(v, depth + 1) for k, v in node.items()}
        tag = node[TAG]
        handler = _HANDLERS.get(tag) if isinstance(tag, str) else None
        if handler is None:
            raise self.fail(f"unknown value tag {tag!r}")
        try:
            return handler(self, node, depth)
        except ArtifactError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
            raise self.fail(f"malformed {tag!r} value ({type(exc).__name__}: {exc})") from exc

    def items(self, node: Mapping[str, Any], depth: int) -> list[Any]:
        items = node["items"]
        if not isinstance(items, list):
            raise self.fail("'items' is not a list")
        return [self.decode(v, depth + 1) for v in items]

    def array(self, node: Any) -> np.ndarray:
        if not isinstance(node, dict) or node.get(TAG) != "ndarray":
            raise self.fail("expected an array")
        name = node["member"]
        try:
            array = np.load(io.BytesIO(self.members(str(name))), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise self.fail(f"member {name!r} is not a plain NumPy array ({exc})") from exc
        if not isinstance(array, np.ndarray) or array.dtype.hasobject:
            raise self.fail(f"member {name!r} is not a plain NumPy array")
        return array

    def dtype(self, text: Any) -> np.dtype[Any]:
        dtype = np.dtype(str(text))
        if dtype.kind not in _DTYPE_KINDS or dtype.fields is not None or dtype.hasobject:
            raise self.fail(f"dtype {text!r} is not allowed")
        return dtype

    def frame(self, node: Mapping[str, Any]) -> pl.DataFrame:
        name = str(node["member"])
        try:
            frame = pl.read_ipc(io.BytesIO(self.members(name)))
        except (pl.exceptions.PolarsError, OSError, ValueError) as exc:  # not an IPC table
            raise self.fail(f"member {name!r} is not an Arrow IPC table ({exc})") from exc
        if any(dtype == pl.Object for dtype in frame.schema.values()):
            raise self.fail(f"member {name!r} holds Python objects")
        return frame


def _float(d: _Decoder, node: Mapping[str, Any], depth: int) -> float:
    value = float(str(node["value"]))
    if math.isfinite(value):
        raise d.fail("a tagged float must be NaN or infinite")
    return value


def _dict(d: _Decoder, node: Mapping[str, Any], depth: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for pair in d.items(node, depth):
        if not isinstance(pair, list) or len(pair) != 2:
            raise d.fail("a dict item is not a [key, value] pair")
        try:
            out[pair[0]] = pair[1]
        except TypeError as exc:
            raise d.fail(f"unhashable dict key of type {type(pair[0]).__name__}") from exc
    return out


def _hashable(d: _Decoder, items: list[Any], kind: type) -> Any:
    try:
        return kind(items)
    except TypeError as exc:
        raise d.fail(f"unhashable {kind.__name__} item") from exc


def _npscalar(d: _Decoder, node: Mapping[str, Any], depth: int) -> Any:
    dtype = d.dtype(node["dtype"])
    if "array" in node:
        array = d.array(node["array"])
        if array.shape != () or array.dtype != dtype:
            raise d.fail("a NumPy scalar member is not a 0-d array of its dtype")
        return array[()]
    value = node["value"]
    if isinstance(value, str):
        value = float(value)
    if not isinstance(value, (bool, int, float)):
        raise d.fail("a NumPy scalar value is not a number")
    return np.asarray(value, dtype=dtype)[()]


def _objarray(d: _Decoder, node: Mapping[str, Any], depth: int) -> np.ndarray:
    shape = tuple(int(n) for n in node["shape"])
    items = d.items(node, depth)
    if any(n < 0 for n in shape) or math.prod(shape) != len(items):
        raise d.fail("an object array's shape does not match its items")
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):  # one by one: a list item must stay one element
        out[i] = item
    return out.reshape(shape)


def _sparse(d: _Decoder, node: Mapping[str, Any], depth: int) -> Any:
    import scipy.sparse as sp

    name = str(node["class"])
    fields = _SPARSE_CLASSES.get(name)
    if fields is None:
        raise d.fail(f"sparse class {name!r} is not allowed")
    shape = tuple(int(n) for n in node["shape"])
    if len(shape) != 2 or min(shape) < 0:
        raise d.fail(f"sparse shape {shape} is not valid")
    parts = [d.array(node[f]) for f in fields]
    if any(p.ndim != 1 or p.dtype.kind not in "biuf" for p in parts):
        raise d.fail("sparse components must be 1-d numeric arrays")
    cls = getattr(sp, name)
    if fields[1] == "row":
        matrix = cls((parts[0], (parts[1], parts[2])), shape=shape)
    else:
        matrix = cls((parts[0], parts[1], parts[2]), shape=shape)
        matrix.check_format(full_check=True)
    return matrix


def _booster(d: _Decoder, node: Mapping[str, Any], depth: int) -> Any:
    import lightgbm as lgb

    name = str(node["member"])
    try:
        text = d.members(name).decode("utf-8")
        booster = lgb.Booster(model_str=text)
    except (lgb.basic.LightGBMError, UnicodeDecodeError) as exc:
        raise d.fail(f"member {name!r} is not a LightGBM model ({exc})") from exc
    booster.best_iteration = int(node.get("best_iteration", 0))
    return booster


def _object(d: _Decoder, node: Mapping[str, Any], depth: int) -> Any:
    cls = resolve(str(node["class"]))
    state = d.decode(node["state"], depth + 1)
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise d.fail(f"the state of {node['class']!r} is not a dict of attributes")
    obj = cls.__new__(cls)
    setstate = getattr(cls, "__setstate__", None)
    if setstate is not None:
        obj.__setstate__(state)
    else:
        obj.__dict__.update(state)
    return obj


def _series(d: _Decoder, node: Mapping[str, Any], depth: int) -> pl.Series:
    frame = d.frame(node)
    if frame.width != 1:
        raise d.fail("a series member must hold one column")
    return frame.to_series()


_HANDLERS: dict[str, Callable[[_Decoder, Mapping[str, Any], int], Any]] = {
    "float": _float,
    "dict": _dict,
    "tuple": lambda d, n, depth: tuple(d.items(n, depth)),
    "set": lambda d, n, depth: _hashable(d, d.items(n, depth), set),
    "frozenset": lambda d, n, depth: _hashable(d, d.items(n, depth), frozenset),
    "bytes": lambda d, n, depth: base64.b64decode(str(n["base64"]), validate=True),
    "date": lambda d, n, depth: date.fromisoformat(str(n["value"])),
    "datetime": lambda d, n, depth: datetime.fromisoformat(str(n["value"])),
    "timedelta": lambda d, n, depth: timedelta(seconds=float(n["seconds"])),
    "ndarray": lambda d, n, depth: d.array(n),
    "objarray": _objarray,
    "npscalar": _npscalar,
    "dtype": lambda d, n, depth: d.dtype(n["dtype"]),
    "nptype": lambda d, n, depth: d.dtype(n["dtype"]).type,
    "frame": lambda d, n, depth: d.frame(n),
    "series": _series,
    "sparse": _sparse,
    "booster": _booster,
    "function": lambda d, n, depth: resolve(str(n["name"]), function=True),
    "object": _object,
    "stateless": lambda d, n, depth: resolve(str(n["class"]), stateless=True)(),
}


def decode(tree: Any, members: Members, where: str = "") -> Any:
    """Rebuild the value :func:`encode` turned into ``tree``; ``members(name)`` returns the
    bytes of a binary member (and raises :class:`ArtifactError` for an unknown name)."""
    return _Decoder(members, where).decode(tree)
