"""The per-row inputs of a batch's features, from which feature rows are derived on demand.

:meth:`~clearlane.features.pipeline.FeaturePipeline.batch` does the history look-ups of a
whole batch once; :class:`BatchFeatures` then derives the features (elementwise in those
inputs, :mod:`clearlane.features.derive`) for any rows, so a large batch is scored block by
block while each block is in cache.
"""

from __future__ import annotations

import numpy as np

from clearlane.features.derive import FeatureDerivation


class BatchFeatures:
    """Per-row inputs of a batch's features (history sums, value columns, category codes) in
    input order, from :meth:`FeaturePipeline.batch`.

    The derived features are elementwise in these inputs, so :meth:`matrix` can build the
    feature rows of any subset or block of rows: a large batch is scored block by block while
    each block stays in cache, and reasons need the rows of the explained declarations only.
    """

    block_rows = 8192
    """Rows derived at a time when building a whole matrix."""

    def __init__(self, derivation: FeatureDerivation, columns: dict[str, np.ndarray],
                 raw: dict[str, dict[str, np.ndarray]], categories: dict[str, np.ndarray],
                 height: int) -> None:
        self.derivation = derivation
        self.columns = columns
        self.raw = raw
        self.categories = categories
        self.height = height

    def arrays(self, rows: slice | np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Feature name → values of ``rows`` (all rows when ``None``)."""
        if self.height == 0:
            return {name: np.empty(0) for name in self.derivation.feature_names}
        take = slice(None) if rows is None else rows
        return self.derivation.derive(
            {c: v[take] for c, v in self.columns.items()},
            {g: {c: v[take] for c, v in sums.items()} for g, sums in self.raw.items()},
            {c: v[take] for c, v in self.categories.items()},
        )

    def matrix(self, rows: slice | np.ndarray | None = None,
               buffer: np.ndarray | None = None) -> np.ndarray:
        """Row-major float64 matrix of ``rows`` (all rows when ``None``) × features.

        ``buffer`` (a row-major float64 array with at least as many rows) is filled and a view
        of it returned: reusing one buffer per thread for blocks avoids fresh memory (and its
        page faults) for every block.
        """
        names = self.derivation.feature_names
        if rows is not None:
            arrays = self.arrays(rows)
            count = len(arrays[names[0]])
            out = (buffer[:count] if buffer is not None and len(buffer) >= count
                   else np.empty((count, len(names))))
            _fill(out, arrays)
            return out
        out = np.empty((self.height, len(names)))
        for start in range(0, self.height, self.block_rows):
            block = slice(start, min(self.height, start + self.block_rows))
            _fill(out[block], self.arrays(block))
        return out


def _fill(out: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
    for j, column in enumerate(arrays.values()):
        out[:, j] = column
