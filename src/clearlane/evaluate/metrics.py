"""Targeting metrics from the customs-fraud literature (DATE, KDD 2020).

Inspect the top ``k`` % of declarations ranked by a score (higher = riskier):

* ``precision@k`` = frauds among the selected / selected;
* ``recall@k`` = frauds among the selected / all frauds;
* ``revenue@k`` = revenue recovered from the selected / all revenue recovered.

Exactly ``floor(n · k / 100)`` rows are selected (at least one). Ties in the score are broken
deterministically: by ``tie_key`` ascending when given (e.g. declaration ids), else by input row
order. NaN scores rank last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clearlane.errors import ValidationError

DEFAULT_KS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True)
class TargetingMetrics:
    """Metrics of one ranking; ``precision`` etc. map k (percent) to the value."""

    n: int
    frauds: int
    auc: float | None
    precision: dict[float, float]
    recall: dict[float, float]
    revenue: dict[float, float | None]

    def as_dict(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {"n": self.n, "frauds": self.frauds, "auc": self.auc}
        for k in self.precision:
            out[f"precision@{k:g}%"] = self.precision[k]
            out[f"recall@{k:g}%"] = self.recall[k]
            out[f"revenue@{k:g}%"] = self.revenue[k]
        return out


def ranking(scores: np.ndarray, tie_key: Sequence[str] | np.ndarray | None = None) -> np.ndarray:
    """Row indices from riskiest to safest, with deterministic tie-breaking.

    >>> ranking(np.array([0.2, 0.9, np.nan, 0.9])).tolist()  # ties by row, NaN last
    [1, 3, 0, 2]
    >>> ranking(np.array([0.5, 0.5]), tie_key=["D2", "D1"]).tolist()
    [1, 0]
    """
    s = np.asarray(scores, dtype=float)
    primary = np.where(np.isnan(s), np.inf, -s)
    secondary = np.arange(len(s)) if tie_key is None else np.asarray(tie_key)
    # np.lexsort sorts by the last key first.
    return np.lexsort((secondary, primary))


def selected_count(n: int, k: float) -> int:
    """Rows selected when inspecting ``k`` percent of ``n`` (floor, at least one if n > 0).

    >>> selected_count(1_234, 10), selected_count(5, 1), selected_count(0, 5)
    (123, 1, 0)
    """
    if not 0 < k <= 100:
        raise ValidationError(f"k must be a percentage in (0, 100]; got {k}")
    return 0 if n == 0 else max(1, int(np.floor(n * k / 100.0 + 1e-9)))


def auc_score(y: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None when only one class is present.

    >>> auc_score(np.array([False, True, False, True]), np.array([0.1, 0.8, 0.4, 0.4]))
    0.875
    >>> auc_score(np.array([True, True]), np.array([0.1, 0.2])) is None
    True
    """
    y = np.asarray(y, dtype=bool)
    s = np.asarray(scores, dtype=float)
    s = np.where(np.isnan(s), -np.inf, s)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return None
    from scipy.stats import rankdata

    ranks = rankdata(s)
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def targeting_metrics(
    y: Sequence[bool] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    revenue: Sequence[float] | np.ndarray | None = None,
    ks: Sequence[float] = DEFAULT_KS,
    tie_key: Sequence[str] | np.ndarray | None = None,
) -> TargetingMetrics:
    """Precision, recall and revenue at each k percent, plus AUC, of one ranking.

    Ten declarations, three frauds; inspecting the top 20 % (two rows) finds two of them and
    half the recoverable revenue:

    >>> y = [True, False, True, False, False, False, True, False, False, False]
    >>> scores = [0.9, 0.1, 0.8, 0.2, 0.3, 0.1, 0.05, 0.4, 0.2, 0.1]
    >>> revenue = [100.0, 0, 50.0, 0, 0, 0, 150.0, 0, 0, 0]
    >>> m = targeting_metrics(y, scores, revenue, ks=(20.0,))
    >>> m.precision[20.0], round(m.recall[20.0], 3), m.revenue[20.0]
    (1.0, 0.667, 0.5)
    """
    y_arr = np.asarray(y, dtype=bool)
    s_arr = np.asarray(scores, dtype=float)
    if y_arr.shape != s_arr.shape:
        raise ValidationError(
            f"labels and scores differ in length: {y_arr.shape[0]} vs {s_arr.shape[0]}"
        )
    order = ranking(s_arr, tie_key)
    frauds = int(y_arr.sum())
    rev = None if revenue is None else np.nan_to_num(np.asarray(revenue, dtype=float))
    total_rev = float(rev.sum()) if rev is not None else 0.0
    precision: dict[float, float] = {}
    recall: dict[float, float] = {}
    revenue_at: dict[float, float | None] = {}
    for k in ks:
        top = order[: selected_count(len(y_arr), k)]
        hits = int(y_arr[top].sum())
        precision[k] = hits / len(top) if len(top) else 0.0
        recall[k] = hits / frauds if frauds else 0.0
        revenue_at[k] = float(rev[top].sum()) / total_rev if rev is not None and total_rev else None
    return TargetingMetrics(
        n=len(y_arr),
        frauds=frauds,
        auc=auc_score(y_arr, s_arr),
        precision=precision,
        recall=recall,
        revenue=revenue_at,
    )
