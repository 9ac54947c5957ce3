"""Beyond one machine: declarations as a month-partitioned Parquet dataset, and batch scoring
partition by partition, in time order, on one machine or on a Dask cluster.

The history features of a partition depend on every earlier declaration, so the partitions
are scored with the history *carried forward* (:mod:`clearlane.scale.carry`): partition ``k``
sees the fitted history plus partitions ``0 … k−1``, exactly as the single-machine pipeline
sees a whole batch. Nothing in this package imports Dask at module level; the cluster runner
(:mod:`clearlane.scale.cluster`) needs the extra ``cluster``.
"""

from __future__ import annotations
