"""Exact path-dependent TreeSHAP contributions of a LightGBM model, from per-leaf tables.

LightGBM's ``pred_contrib`` runs the TreeSHAP recursion for every row and tree: O(L·D²) per
tree (L leaves, D depth). The same values can be written leaf by leaf. For a leaf with value
``v`` whose path splits on the distinct features U (|U| = d), let ``z_j`` be the share of the
training rows that follow the path's edges on feature j (the product of child count / parent
count over those edges) and ``o_j`` 1 when the row satisfies every condition of the path on
feature j, else 0. The leaf's expected output given a coalition S is
``v · Π_{j∈S} o_j · Π_{j∈U∖S} z_j``, and the Shapley value of feature i in U for that game is

    φ_i = v · (o_i − z_i) · Σ_{S ⊆ U∖{i}, S ⊆ O} |S|!·(d−|S|−1)!/d! · Π_{k ∈ U∖S∖{i}} z_k,

O being the features with ``o = 1``. It depends on the row only through which of the ``d``
features it satisfies: a mask of ``d`` bits. Each leaf's ``2^d × d`` values are computed once
per model (a subset-sum over the masks); explaining a row then costs one look-up per leaf and
feature on its path, O(L·D) per tree, plus the decisions of every split (the idea of Fast
TreeSHAP v2, Yang 2021). Which of a leaf's features a row satisfies is found by packing its
pass/fail bits on the path's steps into bytes and looking the bytes up in a table per leaf;
the values are then looked up leaf by leaf for a chunk of rows, so each leaf's few kB of the
table are read while they are in the cache. The sum over leaves and trees is LightGBM's
``pred_contrib`` without its last (expected value) column, equal to rounding (tested).

Split decisions follow LightGBM's: numerical ``x <= threshold`` with its missing-value types
(``None``: NaN is 0; ``Zero``: 0 and NaN take the default side; ``NaN``: NaN takes it) and
categorical splits by membership of the truncated value (NaN and negatives go right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

_ZERO = 1e-35
"""LightGBM's kZeroThreshold: |x| at or below it counts as zero for ``missing_type`` Zero."""

_MISSING = {"None": 0, "Zero": 1, "NaN": 2}

_CHUNK_CELLS = 1 << 21
"""Rows are explained in chunks of about this many (row, leaf, feature) cells."""

_BYTE = 8
"""Path steps packed into one number when finding the features a row fails."""

_PACKED = 1 << _BYTE
"""The numbers eight packed steps can make: the rows of each leaf's failure table."""


@dataclass(frozen=True)
class _Splits:
    """Every split node of the forest, numbered across trees."""

    feature: np.ndarray  # int64, the feature column
    threshold: np.ndarray  # float64 (numerical nodes)
    default_left: np.ndarray  # bool
    missing: np.ndarray  # int8, _MISSING codes
    categorical: np.ndarray  # bool
    category_row: np.ndarray  # int64, row in ``left_categories`` (-1: numerical)
    left_categories: np.ndarray  # bool (categorical nodes × category codes): goes left


class TablesTooLargeError(ValueError):
    """The model's per-leaf tables would exceed the memory allowed for them."""


class LeafTables:
    """Per-leaf SHAP tables of a LightGBM model dump (``Booster.dump_model()``).

    ``contributions(X)`` gives, per row of ``X`` (rows × the model's features, float64), the
    contribution of each feature to the raw score (log-odds for a binary model). The tables
    hold ``2^d × d`` values per leaf (``d`` distinct features on its path): a few MB to a few
    tens of MB for the default model (31 leaves, depth ≤ 8); more than ``max_bytes`` raises
    :class:`TablesTooLargeError` before they are built.
    """

    def __init__(self, dump: dict[str, Any], max_bytes: int = 64 * 2**20) -> None:
        self.max_bytes = max_bytes
        self.n_features = int(dump["max_feature_idx"]) + 1
        features: list[int] = []
        thresholds: list[float] = []
        default_left: list[bool] = []
        missing: list[int] = []
        category_rows: list[int] = []
        category_sets: list[list[int]] = []
        leaves: list[tuple[float, list[tuple[int, bool, int, float]]]] = []
        for tree in dump["tree_info"]:
            root = tree["tree_structure"]
            if "leaf_value" in root:  # a single leaf: only the expected value, no feature
                continue
            stack: list[tuple[dict[str, Any], list[tuple[int, bool, int, float]]]] = [(root, [])]
            while stack:
                node, path = stack.pop()
                if "leaf_value" in node:
                    leaves.append((float(node["leaf_value"]), path))
                    continue
                index = len(features)
                feature = int(node["split_feature"])
                features.append(feature)
                default_left.append(bool(node["default_left"]))
                missing.append(_MISSING[str(node["missing_type"])])
                if node["decision_type"] == "==":
                    thresholds.append(math.nan)
                    category_rows.append(len(category_sets))
                    category_sets.append([int(c) for c in str(node["threshold"]).split("||")])
                else:
                    thresholds.append(float(node["threshold"]))
                    category_rows.append(-1)
                parent = float(node["internal_count"])
                for child, left in ((node["left_child"], True), (node["right_child"], False)):
                    count = float(child["leaf_count"] if "leaf_value" in child
                                  else child["internal_count"])
                    share = count / parent if parent > 0 else 0.0
                    stack.append((child, [*path, (index, left, feature, share)]))
        width = max((max(s) for s in category_sets if s), default=-1) + 1
        left_categories = np.zeros((len(category_sets), max(width, 1)), dtype=bool)
        for row, codes in enumerate(category_sets):
            left_categories[row, [c for c in codes if c >= 0]] = True
        self._splits = _Splits(
            feature=np.asarray(features, dtype=np.int64),
            threshold=np.asarray(thresholds, dtype=np.float64),
            default_left=np.asarray(default_left, dtype=bool),
            missing=np.asarray(missing, dtype=np.int8),
            categorical=np.asarray(category_rows, dtype=np.int64) >= 0,
            category_row=np.asarray(category_rows, dtype=np.int64),
            left_categories=left_categories,
        )
        self._build_leaves(leaves, len(features))

    # -- building ------------------------------------------------------------------------------
    def _build_leaves(self, leaves: list[tuple[float, list[tuple[int, bool, int, float]]]],
                      n_splits: int) -> None:
        depth = max((len(path) for _, path in leaves), default=1)
        slots: list[list[int]] = []
        shares: list[list[float]] = []
        path_node = np.full((len(leaves), depth), n_splits, dtype=np.int64)  # n_splits: "true"
        path_left = np.ones((len(leaves), depth), dtype=bool)
        path_bit = np.zeros((len(leaves), depth), dtype=np.int64)
        for g, (_, path) in enumerate(leaves):
            unique: list[int] = []
            share: list[float] = []
            for p, (node, left, feature, fraction) in enumerate(path):
                if feature not in unique:
                    unique.append(feature)
                    share.append(1.0)
                slot = unique.index(feature)
                share[slot] *= fraction
                path_node[g, p], path_left[g, p], path_bit[g, p] = node, left, 1 << slot
            slots.append(unique)
            shares.append(share)
        width = max((len(u) for u in slots), default=1)
        widths = np.asarray([len(u) for u in slots], dtype=np.int64)
        cells = int(np.sum(widths << widths)) if len(widths) else 0
        bits = _bits_dtype(width)
        size = cells * 8 + len(leaves) * _PACKED * (-(-depth // _BYTE)) * bits.itemsize
        if size > self.max_bytes:
            raise TablesTooLargeError(
                f"the per-leaf tables would take {size / 2**20:,.0f} MB "
                f"(limit {self.max_bytes / 2**20:,.0f} MB)")
        values = np.asarray([v for v, _ in leaves], dtype=np.float64)
        offsets = np.zeros(len(leaves), dtype=np.int64)
        pieces: list[np.ndarray] = [np.zeros(0)]  # none when every tree is a single leaf
        start = 0
        for d in range(1, width + 1):
            rows = np.flatnonzero(widths == d)
            if rows.size == 0:
                continue
            z = np.asarray([shares[g] for g in rows], dtype=np.float64)
            table = _leaf_table(values[rows], z)
            offsets[rows] = start + np.arange(rows.size, dtype=np.int64) * (d << d)
            pieces.append(table.ravel())
            start += table.size
        self._table = np.concatenate(pieces)
        # table positions fit 32 bits for any table under 16 GB: half the memory traffic
        index = np.int32 if self._table.size < 2**31 else np.int64
        self._offsets = offsets.astype(index)
        self._widths = widths.astype(index)
        self._full = ((np.int64(1) << widths) - 1).astype(index)
        self._index = index
        self._build_failures(path_node, path_left, path_bit, n_splits, bits)
        # every (leaf, path feature) cell, grouped by feature: the looked-up values of a
        # feature's cells are then summed in one pass
        cell_leaf = np.repeat(np.arange(len(leaves), dtype=np.int64), widths)
        cell_slot = np.arange(cell_leaf.size, dtype=np.int64) - np.repeat(
            np.cumsum(widths) - widths, widths)
        cell_feature = np.asarray([f for unique in slots for f in unique], dtype=np.int64)
        order = np.argsort(cell_feature, kind="stable")
        self._cell_leaf, self._cell_slot = cell_leaf[order], cell_slot[order].astype(index)
        present, first = np.unique(cell_feature[order], return_index=True)
        self._present, self._bounds = present, first

    def _build_failures(self, path_node: np.ndarray, path_left: np.ndarray,
                        path_bit: np.ndarray, n_splits: int, dtype: np.dtype[Any]) -> None:
        """Which of a leaf's path features a row fails, from the row's pass/fail bits on the
        leaf's path: the path is padded to whole bytes (a padded step always passes), each
        byte of eight steps is packed into a number, and a table per byte maps (leaf, number)
        to the bits of the features failed there (their OR over the bytes: a feature can
        appear in several)."""
        leaves, depth = path_node.shape
        steps = -(-depth // _BYTE) * _BYTE
        pad = steps - depth
        self._step_node = np.pad(path_node, ((0, 0), (0, pad)),
                                 constant_values=n_splits).ravel()
        self._step_left = np.pad(path_left, ((0, 0), (0, pad)), constant_values=True).ravel()
        bits = np.pad(path_bit, ((0, 0), (0, pad)), constant_values=0)
        packed = np.arange(_PACKED, dtype=np.int64)  # bit j: step j of the byte passed
        self._failures: list[np.ndarray] = []
        for first in range(0, steps, _BYTE):
            failed = np.zeros((leaves, _PACKED), dtype=dtype)
            for j in range(_BYTE):
                step = bits[:, first + j].astype(dtype)[:, None]
                failed |= np.where((packed >> j) & 1 == 0, step, dtype.type(0))
            self._failures.append(failed.ravel())
        self._leaf_base = np.arange(leaves, dtype=np.int64) * _PACKED

    # -- explaining ----------------------------------------------------------------------------
    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per row, each feature's contribution to the raw score (rows × features)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected a matrix with {self.n_features} feature columns; "
                             f"got shape {X.shape}")
        out = np.zeros((X.shape[0], self.n_features), dtype=np.float64)
        cells = max(1, self._step_node.size + self._cell_leaf.size)
        step = max(1, _CHUNK_CELLS // cells)
        for first in range(0, X.shape[0], step):
            out[first:first + step] = self._chunk(X[first:first + step])
        return out

    def _chunk(self, X: np.ndarray) -> np.ndarray:
        rows, leaves = X.shape[0], self._leaf_base.size
        out = np.zeros((rows, self.n_features), dtype=np.float64)
        if leaves == 0:  # every tree a single leaf: no feature contributes
            return out
        went_left = self._decisions(X)
        passed = np.take(went_left, self._step_node, axis=1) == self._step_left
        packed = np.packbits(passed.reshape(-1), bitorder="little").reshape(rows, leaves, -1)
        failed = self._failures[0][self._leaf_base + packed[:, :, 0]]
        for k in range(1, len(self._failures)):
            failed |= self._failures[k][self._leaf_base + packed[:, :, k]]
        masks = self._full & ~failed.astype(self._index)
        # leaves × rows: the cells of one leaf are then looked up for every row in turn, in
        # the same few kB of the table (cache-friendly), not row by row across all of it
        start = (self._offsets + masks * self._widths).T
        cell = np.take(start, self._cell_leaf, axis=0)
        cell += self._cell_slot[:, None]
        looked_up = np.take(self._table, cell)  # (cells, rows)
        if self._present.size:
            out[:, self._present] = np.add.reduceat(looked_up, self._bounds, axis=0).T
        return out

    def _decisions(self, X: np.ndarray) -> np.ndarray:
        """Whether each row goes left at each split (rows × splits, plus a column of True)."""
        s = self._splits
        values = X[:, s.feature]
        nan = np.isnan(values)
        numeric = np.where(nan & (s.missing != _MISSING["NaN"]), 0.0, values)
        missing = (((s.missing == _MISSING["Zero"]) & (np.abs(numeric) <= _ZERO))
                   | ((s.missing == _MISSING["NaN"]) & nan))
        with np.errstate(invalid="ignore"):
            left = np.where(missing, s.default_left, numeric <= s.threshold)
        if s.categorical.any():
            columns = np.flatnonzero(s.categorical)
            raw = values[:, columns]
            width = s.left_categories.shape[1]
            with np.errstate(invalid="ignore"):
                code = np.trunc(np.where(np.isnan(raw), -1.0, raw))
            known = (code >= 0) & (code < width)
            code = np.where(known, code, 0).astype(np.int64)
            left[:, columns] = known & s.left_categories[s.category_row[columns], code]
        return np.concatenate([left, np.ones((X.shape[0], 1), dtype=bool)], axis=1)


def _bits_dtype(width: int) -> np.dtype[Any]:
    """The smallest unsigned integer type holding one bit per path feature."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if width <= np.iinfo(dtype).bits:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _leaf_table(values: np.ndarray, z: np.ndarray) -> np.ndarray:
    """φ per leaf, satisfied-feature mask and feature slot (leaves × 2^d × d) for leaves with
    ``d`` distinct path features, values ``values`` and zero shares ``z`` (leaves × d)."""
    leaves, d = z.shape
    masks = np.arange(1 << d, dtype=np.int64)
    # product of z over each subset of the d features
    products = np.ones((leaves, 1 << d), dtype=np.float64)
    for k in range(d):
        has = (masks >> k) & 1 == 1
        products[:, has] *= z[:, k:k + 1]
    sizes = np.asarray([bin(int(m)).count("1") for m in masks], dtype=np.int64)
    weights = np.asarray([math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d)
                          if s < d else 0.0 for s in range(d + 1)])
    full = (1 << d) - 1
    table = np.empty((leaves, 1 << d, d), dtype=np.float64)
    for i in range(d):
        bit = 1 << i
        without = (masks & bit) == 0
        terms = np.where(without, weights[sizes] * products[:, full ^ masks ^ bit], 0.0)
        # subset sums: for each mask, the sum over the coalitions inside it
        shaped = terms.reshape((leaves,) + (2,) * d)
        for axis in range(1, d + 1):
            shaped = np.cumsum(shaped, axis=axis)
        sums = shaped.reshape(leaves, 1 << d)
        satisfied = ((masks >> i) & 1).astype(np.float64)
        table[:, :, i] = values[:, None] * (satisfied[None, :] - z[:, i:i + 1]) * sums
    return table
