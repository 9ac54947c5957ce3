"""A chapter classifier learned from the reference texts themselves.

Nearest-neighbour evidence asks "which one text is this most like?"; a linear model over the
words of all reference texts of a chapter (nomenclature, national tariff lines, examples)
asks "which words mark this chapter?" and weighs every word against the 96 other chapters.
The two disagree most where one text happens to share a rare word with the description, and
the chapter model corrects that. It needs no history, so it works at cold start; a heading
(4-digit) model would add about ten times the fitting time for no gain measured on the
CROSS validation rulings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from clearlane.hs.history import fit_log_loss_sgd

_FLOOR = 1e-6


class ChapterModel:
    """Multinomial logistic regression (SGD, log-loss) from word TF-IDF to HS chapter."""

    def __init__(self, alpha: float = 1e-5, max_iter: int = 10, random_state: int | None = 0):
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, words: sp.csr_matrix, codes: Sequence[str], classes: np.ndarray) -> ChapterModel:
        """``words``: word TF-IDF rows of the reference texts, ``codes`` their HS6 codes,
        ``classes`` the classifier's sorted HS6 classes."""
        model = fit_log_loss_sgd(
            normalize(words), [c[:2] for c in codes], self.alpha, self.max_iter, self.random_state
        )
        self.model_ = model
        self.columns_ = np.searchsorted(model.classes_, [c[:2] for c in classes])
        return self

    def log_proba(self, words: sp.csr_matrix) -> np.ndarray:
        """(n, n_classes): log-probability of each HS6 class's chapter (floored at 1e-6)."""
        proba = self.model_.predict_proba(normalize(words)).astype(np.float32)
        return np.asarray(np.log(proba[:, self.columns_] + _FLOOR))
