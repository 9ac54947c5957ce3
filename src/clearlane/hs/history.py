"""What the classifier learns from history: (goods description, declared code) pairs.

Two signals, both mapped onto the classifier's HS6 classes:

* ``nearest``: for each subheading, the highest cosine similarity between the description and
  a past declaration declared under it (in the classifier's own feature space), so a
  description worded like past ones finds their code;
* ``levels``: a multinomial logistic regression (SGD, log-loss) per level (HS6, HS4, HS2)
  over its own TF-IDF features, fitted on history only. The HS4 and HS2 models pool the
  evidence of sibling codes, which history has far more of than of any one subheading; a
  subheading inherits the probability of its heading and chapter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.preprocessing import normalize

from clearlane.hs.text import tokens

LEVELS: tuple[int, ...] = (6, 4, 2)


def fit_log_loss_sgd(
    features: sp.csr_matrix,
    labels: Sequence[str],
    alpha: float,
    max_iter: int,
    random_state: int | None,
) -> SGDClassifier:
    """A multinomial logistic regression fitted by SGD, its weights stored as float32."""
    model = SGDClassifier(
        loss="log_loss", alpha=alpha, max_iter=max_iter, tol=None, random_state=random_state
    ).fit(features, labels)
    # float32 halves the saved model; the probabilities do not need more precision.
    model.coef_ = model.coef_.astype(np.float32)
    model.intercept_ = model.intercept_.astype(np.float32)
    return model


class HistoryModel:
    """Fitted on normalised history texts, their vectors in the classifier's space and codes."""

    def __init__(self, alpha: float = 1e-4, max_iter: int = 20, random_state: int | None = 0):
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(
        self,
        texts: Sequence[str],
        vectors: sp.csr_matrix,
        codes: Sequence[str],
        classes: np.ndarray,
    ) -> HistoryModel:
        """``texts`` normalised, ``vectors`` their rows in the classifier's feature space,
        ``codes`` HS6, ``classes`` the classifier's sorted HS6 classes."""
        code_array = np.asarray(codes)
        order = np.argsort(code_array, kind="stable")
        self.documents_ = vectors[order].T.tocsr()
        sorted_codes = code_array[order]
        seen, self.starts_ = np.unique(sorted_codes, return_index=True)
        self.columns_ = np.searchsorted(classes, seen)
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer=tokens, ngram_range=(1, 1), sublinear_tf=True, dtype=np.float32
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            min_df=2,
            max_features=50_000,
            dtype=np.float32,
        )
        features = normalize(
            sp.hstack(
                [
                    self.word_vectorizer_.fit_transform(texts),
                    self.char_vectorizer_.fit_transform(texts),
                ]
            ).tocsr()
        )
        self.models_: dict[int, SGDClassifier] = {}
        self.level_columns_: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for level in LEVELS:
            labels = [c[:level] for c in codes]
            if len(set(labels)) < 2:
                continue
            model = fit_log_loss_sgd(features, labels, self.alpha, self.max_iter, self.random_state)
            self.models_[level] = model
            prefixes = np.array([c[:level] for c in classes])
            index = np.clip(np.searchsorted(model.classes_, prefixes), 0, len(model.classes_) - 1)
            known = np.flatnonzero(model.classes_[index] == prefixes)
            self.level_columns_[level] = (known, index[known])
        return self

    def nearest(self, queries: sp.csr_matrix, n_classes: int) -> np.ndarray:
        """(n, n_classes): the best similarity to a past declaration of each class (0 if none)."""
        sims = (queries @ self.documents_).toarray()
        out = np.zeros((queries.shape[0], n_classes), dtype=np.float32)
        out[:, self.columns_] = np.maximum.reduceat(sims, self.starts_, axis=1)
        return out

    def level_proba(self, texts: Sequence[str], n_classes: int) -> dict[int, np.ndarray]:
        """Per level, (n, n_classes): each HS6 class gets the probability of its HS6/HS4/HS2
        code under that level's model (0 for codes history never saw)."""
        features = normalize(
            sp.hstack(
                [self.word_vectorizer_.transform(texts), self.char_vectorizer_.transform(texts)]
            ).tocsr()
        )
        out: dict[int, np.ndarray] = {}
        for level, model in self.models_.items():
            proba = model.predict_proba(features).astype(np.float32)
            columns, model_index = self.level_columns_[level]
            full = np.zeros((len(texts), n_classes), dtype=np.float32)
            full[:, columns] = proba[:, model_index]
            out[level] = full
        return out
