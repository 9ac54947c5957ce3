"""The HS classifier: goods description → ranked HS6 (and HS4/HS2) candidates.

Scores of one candidate subheading ``c`` for a description ``q`` (all cosine similarities of
TF-IDF word 1-2-grams + character 3-5-grams over normalised text, see :mod:`clearlane.hs.text`):

* ``retrieval(c)`` = max similarity between ``q`` and any reference text of ``c``: the HS 2022
  text (chapter + heading + subheading), every national tariff line under ``c`` (with its
  parents' texts) and every past declaration declared under ``c``;
* ``chapter(c)`` = cosine similarity between ``q`` and the centroid of all reference texts of
  the chapter of ``c`` (it pools the wording of a whole chapter where one nearest neighbour
  cannot; the weight 0.5 was chosen on the CROSS validation split);
* ``history(c)`` = a linear model's probability of ``c`` trained on history only (absent at
  cold start).

``score = retrieval + chapter_weight·chapter + history_weight·history``; confidence is a
softmax of scores with a temperature (``temperature``, refitted on held-out history when
enough is given), summed over candidates for HS4/HS2. Codes never seen in history still get
a retrieval score, so the model answers for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.preprocessing import normalize

from clearlane.hs.codes import normalise_code
from clearlane.hs.tariff import NationalTariff
from clearlane.hs.text import normalise_description, tokens
from clearlane.reference.hs_nomenclature import nomenclature

Progress = Callable[[float, float | None], None]


@dataclass(frozen=True)
class Candidate:
    """One suggested code: ``code`` (2, 4 or 6 digits), ``confidence`` (0-1, calibrated
    probability that this is the right code at its level), the official ``text`` and the
    ``words`` of the description that drove it (most influential first)."""

    code: str
    confidence: float
    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    """Top-k candidates for one description at each level."""

    description: str
    hs6: tuple[Candidate, ...]
    hs4: tuple[Candidate, ...]
    hs2: tuple[Candidate, ...]


def reference_texts(tariff: NationalTariff | None = None) -> tuple[list[str], list[str]]:
    """(texts, HS6 codes) of the nomenclature and of the national tariff lines."""
    entries = nomenclature()

    def context(code: str) -> str:
        return " ".join(entries[c].description for c in (code[:2], code[:4], code) if c in entries)

    texts: list[str] = []
    codes: list[str] = []
    for code in entries:
        if len(code) == 6:
            texts.append(context(code))
            codes.append(code)
    if tariff is not None:
        for line in tariff.lines:
            texts.append(context(line.code[:4]) + " " + line.full_text)
            codes.append(line.code[:6])
    return texts, codes


class HSClassifier(BaseEstimator):
    """Suggests HS codes from goods descriptions; learns from (description, code) history.

    Parameters are stored as given (scikit-learn contract). ``fit(X, y)`` takes descriptions
    and declared codes (6-10 digits; ``y=None`` or empty for cold start) and returns self.
    """

    def __init__(
        self,
        tariff: NationalTariff | None = None,
        top_k: int = 5,
        chapter_weight: float = 0.5,
        history_weight: float = 0.5,
        temperature: float = 0.05,
        alpha: float = 1e-5,
        max_iter: int = 10,
        calibrate: bool = True,
        random_state: int | None = 0,
    ) -> None:
        self.tariff = tariff
        self.top_k = top_k
        self.chapter_weight = chapter_weight
        self.history_weight = history_weight
        self.temperature = temperature
        self.alpha = alpha
        self.max_iter = max_iter
        self.calibrate = calibrate
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        X: Sequence[str],
        y: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> HSClassifier:
        """Learn from history (``X`` descriptions, ``y`` declared codes); cold start when empty."""
        descriptions = [str(x) for x in X]
        labels = [normalise_code(c)[:6] for c in (y if y is not None else [])]
        valid = {c for c in nomenclature() if len(c) == 6}
        pairs = [(d, c) for d, c in zip(descriptions, labels, strict=False) if c in valid and d]
        ref_texts, ref_codes = reference_texts(self.tariff)
        if progress:
            progress(0.1, 1.0)
        hold: list[tuple[str, str]] = []
        if self.calibrate and len(pairs) >= 200:
            rng = np.random.default_rng(self.random_state)
            mask = rng.random(len(pairs)) < 0.1
            hold = [p for p, m in zip(pairs, mask, strict=True) if m]
            pairs = [p for p, m in zip(pairs, mask, strict=True) if not m]
        texts = [normalise_description(t, expand=False) for t in ref_texts]
        texts += [normalise_description(d) for d, _ in pairs]
        codes = ref_codes + [c for _, c in pairs]
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer=tokens, sublinear_tf=True, dtype=np.float32
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            min_df=2,
            dtype=np.float32,
        )
        matrix = self._fit_vectors(texts)
        self.word_names_ = self.word_vectorizer_.get_feature_names_out()
        if progress:
            progress(0.4, 1.0)
        order = np.argsort(np.asarray(codes), kind="stable")
        self.documents_ = matrix[order].T.tocsr()
        sorted_codes = np.asarray(codes)[order]
        self.classes_, starts = np.unique(sorted_codes, return_index=True)
        self.class_starts_ = starts
        # Chapter centroids: the mean normalised vector of every reference text of a chapter.
        chapters = np.array([c[:2] for c in codes])
        self.chapter_codes_, chapter_of_doc = np.unique(chapters, return_inverse=True)
        membership = sp.csr_matrix(
            (np.ones(len(codes), dtype=np.float32), (chapter_of_doc, np.arange(len(codes)))),
            shape=(len(self.chapter_codes_), len(codes)),
        )
        self.chapter_centroids_ = normalize(membership @ matrix).T.tocsr()
        self.chapter_index_ = np.searchsorted(
            self.chapter_codes_, np.array([c[:2] for c in self.classes_])
        )
        if progress:
            progress(0.7, 1.0)
        self.history_model_: SGDClassifier | None = None
        self.n_history_ = len(pairs)
        if len({c for _, c in pairs}) >= 2:
            hist = self._vectors([d for d, _ in pairs])
            self.history_model_ = SGDClassifier(
                loss="modified_huber",
                alpha=self.alpha,
                max_iter=self.max_iter,
                tol=None,
                random_state=self.random_state,
            ).fit(hist, [c for _, c in pairs])
            self.history_index_ = np.searchsorted(self.classes_, self.history_model_.classes_)
        self.temperature_ = float(self.temperature)
        if hold:
            self.temperature_ = self._fit_temperature([d for d, _ in hold], [c for _, c in hold])
        if progress:
            progress(1.0, 1.0)
        return self

    def _fit_vectors(self, texts: list[str]) -> sp.csr_matrix:
        words = self.word_vectorizer_.fit_transform(texts)
        chars = self.char_vectorizer_.fit_transform(texts)
        return normalize(sp.hstack([words, chars]).tocsr())

    def _vectors(self, raw: Sequence[str]) -> sp.csr_matrix:
        texts = [normalise_description(t) for t in raw]
        words = self.word_vectorizer_.transform(texts)
        chars = self.char_vectorizer_.transform(texts)
        return normalize(sp.hstack([words, chars]).tocsr())

    def _fit_temperature(self, texts: list[str], codes: list[str]) -> float:
        """The softmax temperature minimising the log-loss of the held-out codes."""
        scores = self.decision_function(texts)
        target = np.searchsorted(self.classes_, codes)
        best, best_loss = self.temperature, np.inf
        for temp in (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3):
            probs = _softmax(scores, temp)
            loss = float(-np.mean(np.log(probs[np.arange(len(codes)), target] + 1e-9)))
            if loss < best_loss:
                best, best_loss = temp, loss
        return float(best)

    # -- scoring ---------------------------------------------------------------------------
    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Raw scores, shape (n, n_classes); higher = more likely that subheading."""
        queries = self._vectors([str(x) for x in X])
        sims = (queries @ self.documents_).toarray()
        scores = np.maximum.reduceat(sims, self.class_starts_, axis=1)
        if self.chapter_weight:
            chapter = (queries @ self.chapter_centroids_).toarray()
            scores += self.chapter_weight * chapter[:, self.chapter_index_]
        if self.history_model_ is not None:
            hist = self.history_model_.predict_proba(queries)
            scores[:, self.history_index_] += self.history_weight * hist
        return np.asarray(scores)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities over ``classes_`` (HS6), rows sum to 1."""
        return _softmax(self.decision_function(X), self.temperature_)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """The most likely HS6 code for each description."""
        return np.asarray(self.classes_[self.decision_function(X).argmax(axis=1)])

    def level_proba(self, proba: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes, probabilities) summed to ``level`` digits (2 or 4)."""
        prefixes = np.array([c[:level] for c in self.classes_])
        codes, inverse = np.unique(prefixes, return_inverse=True)
        summed = np.zeros((proba.shape[0], len(codes)))
        np.add.at(summed.T, inverse, proba.T)
        return codes, summed

    def suggest(self, X: Sequence[str], k: int | None = None) -> list[Suggestion]:
        """Top-k candidates at HS6, HS4 and HS2 with official texts and driving words."""
        k = k or self.top_k
        texts = [str(x) for x in X]
        proba = self.predict_proba(texts)
        entries = nomenclature()
        out = []
        levels = {6: (self.classes_, proba)}
        for level in (4, 2):
            levels[level] = self.level_proba(proba, level)
        for i, text in enumerate(texts):
            ranked: dict[int, tuple[Candidate, ...]] = {}
            for level, (codes, probs) in levels.items():
                top = np.argsort(-probs[i])[:k]
                ranked[level] = tuple(
                    Candidate(
                        str(codes[j]),
                        float(probs[i, j]),
                        entries[str(codes[j])].description,
                        self.explain(text, str(codes[j])),
                    )
                    for j in top
                )
            out.append(Suggestion(text, ranked[6], ranked[4], ranked[2]))
        return out

    def explain(self, text: str, code: str, n: int = 5) -> tuple[str, ...]:
        """The description's words that weigh most in its match with ``code`` (any level):
        word TF-IDF weight in the description × weight in the best-matching reference text."""
        query = self.word_vectorizer_.transform([normalise_description(text)])
        if query.nnz == 0:
            return ()
        lo = np.searchsorted(self.classes_, code)
        hi = np.searchsorted(self.classes_, code + "\uffff")
        if lo >= hi:
            return ()
        start = self.class_starts_[lo]
        stop = self.class_starts_[hi] if hi < len(self.class_starts_) else self.documents_.shape[1]
        n_words = len(self.word_vectorizer_.vocabulary_)
        docs = self.documents_[:n_words, start:stop]
        cols = query.indices
        weights = np.asarray(docs[cols].max(axis=1).todense()).ravel() * query.data
        names = self.word_names_
        order = np.argsort(-weights)
        return tuple(str(names[cols[j]]) for j in order[:n] if weights[j] > 0)

    def _more_tags(self) -> dict[str, Any]:
        return {"X_types": ["string"]}


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = (scores - scores.max(axis=1, keepdims=True)) / temperature
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))
