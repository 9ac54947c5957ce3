"""The HS classifier: goods description → ranked HS6 (and HS4/HS2) candidates.

Scores of one candidate subheading ``c`` for a description ``q`` (cosine similarities of
TF-IDF word unigrams + character 3-5-grams over normalised text, see :mod:`clearlane.hs.text`;
character n-grams found in more than ``max_df`` of the reference texts are dropped, which
halves scoring time at no measured loss):

* ``retrieval(c)`` = max similarity between ``q`` and any reference text of ``c``: the HS 2022
  text (chapter + heading + subheading), every national tariff line under ``c`` (with its
  parents' texts), every labelled example of ``c`` (:mod:`clearlane.hs.examples`) and every
  past declaration declared under ``c``;
* ``chapter(c)`` and ``heading(c)`` = similarity between ``q`` and the centroid of all
  reference texts of the chapter / heading of ``c``: they pool the wording of a whole chapter
  or heading where one nearest neighbour cannot (the hierarchical part of the score);
* ``history_L(c)`` for L = 6, 4, 2 = the probability of the HS6, HS4 or HS2 code of ``c``
  under a logistic regression trained on history only (:mod:`clearlane.hs.history`; absent
  at cold start).

``score = retrieval + chapter_weight·chapter + heading_weight·heading
+ Σ_L w_L·history_L``. With at least 200 history pairs, 20 % of them are held out, the
weights ``w_L`` are chosen on them (top-1 + top-5 accuracy at HS6), then the softmax
temperature is refitted on them (log-loss), and the history part is refitted on all pairs;
otherwise ``history_weights`` (default 0.5 each) and ``temperature`` are used. Confidence is
the softmax of the scores, summed over candidates for HS4/HS2. Codes never seen in history
still get a retrieval score, so the model answers for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from clearlane.hs.codes import normalise_code
from clearlane.hs.embeddings import SentenceEncoder
from clearlane.hs.examples import LabelledExamples
from clearlane.hs.history import LEVELS, HistoryModel
from clearlane.hs.tariff import NationalTariff
from clearlane.hs.text import normalise_description, tokens
from clearlane.reference.hs_nomenclature import nomenclature

Progress = Callable[[float, float | None], None]
DEFAULT_HISTORY_WEIGHTS: tuple[float, float, float] = (0.5, 0.5, 0.5)
_WEIGHT_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)
_MIN_HOLD_OUT = 200
_CHUNK = 256


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


def reference_texts(
    tariff: NationalTariff | None = None, examples: LabelledExamples | None = None
) -> tuple[list[str], list[str]]:
    """(normalised texts, HS6 codes) of the nomenclature, the national tariff lines and the
    labelled examples. Official texts are normalised without expansions; examples, written
    like declarations, with them."""
    entries = nomenclature()

    def context(code: str) -> str:
        return " ".join(entries[c].description for c in (code[:2], code[:4], code) if c in entries)

    raw: list[str] = []
    codes: list[str] = []
    for code in entries:
        if len(code) == 6:
            raw.append(context(code))
            codes.append(code)
    if tariff is not None:
        # A line with sub-lines adds nothing: their full texts contain its text.
        parents = {line.code[:n] for line in tariff.lines for n in range(6, len(line.code))}
        for line in tariff.lines:
            if line.code not in parents:
                raw.append(context(line.code[:4]) + " " + line.full_text)
                codes.append(line.code[:6])
    texts = [normalise_description(t, expand=False) for t in raw]
    if examples is not None:
        texts += [normalise_description(t) for t in examples.texts]
        codes += list(examples.codes)
    unique = dict.fromkeys(zip(texts, codes, strict=True))
    return [t for t, _ in unique], [c for _, c in unique]


class HSClassifier(BaseEstimator):
    """Suggests HS codes from goods descriptions; learns from (description, code) history.

    Parameters are stored as given (scikit-learn contract). ``fit(X, y)`` takes descriptions
    and declared codes (6-10 digits; ``y=None`` or empty for cold start) and returns self.
    ``tariff`` (national tariff lines) and ``examples`` (labelled example descriptions) are
    optional reference texts; ``history_weights`` = (HS6, HS4, HS2) weights of the history
    models, ``None`` = chosen on held-out history when there is enough of it. ``encoder``
    (optional, extra ``text``) adds ``embedding_weight`` × sentence-embedding similarity to
    each subheading's official text; slower, off by default.
    """

    def __init__(
        self,
        tariff: NationalTariff | None = None,
        examples: LabelledExamples | None = None,
        top_k: int = 5,
        chapter_weight: float = 0.5,
        heading_weight: float = 0.5,
        history_weights: tuple[float, float, float] | None = None,
        temperature: float = 0.03,
        max_df: float = 0.05,
        alpha: float = 1e-4,
        max_iter: int = 20,
        calibrate: bool = True,
        random_state: int | None = 0,
        encoder: SentenceEncoder | None = None,
        embedding_weight: float = 0.5,
    ) -> None:
        self.tariff = tariff
        self.examples = examples
        self.top_k = top_k
        self.chapter_weight = chapter_weight
        self.heading_weight = heading_weight
        self.history_weights = history_weights
        self.temperature = temperature
        self.max_df = max_df
        self.alpha = alpha
        self.max_iter = max_iter
        self.calibrate = calibrate
        self.random_state = random_state
        self.encoder = encoder
        self.embedding_weight = embedding_weight

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
        pairs = [
            (normalise_description(d), c)
            for d, c in zip(descriptions, labels, strict=False)
            if c in valid and d
        ]
        pairs = [(d, c) for d, c in pairs if d]
        ref_texts, ref_codes = reference_texts(self.tariff, self.examples)
        if progress:
            progress(0.1, 1.0)
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer=tokens, sublinear_tf=True, dtype=np.float32
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            sublinear_tf=True,
            min_df=2,
            max_df=self.max_df,
            dtype=np.float32,
        )
        # The vocabulary and IDF see history texts too (no labels involved).
        matrix = self._fit_vectors(ref_texts + [d for d, _ in pairs])
        history_vectors = matrix[len(ref_texts) :]
        matrix = matrix[: len(ref_texts)]
        self.word_names_ = self.word_vectorizer_.get_feature_names_out()
        if progress:
            progress(0.4, 1.0)
        order = np.argsort(np.asarray(ref_codes), kind="stable")
        self.documents_ = matrix[order].T.tocsr()
        # Documents x words, sorted like documents_: explain() slices one code's rows cheaply.
        self.word_documents_ = matrix[order][:, : len(self.word_vectorizer_.vocabulary_)].tocsr()
        sorted_codes = np.asarray(ref_codes)[order]
        self.classes_, starts = np.unique(sorted_codes, return_index=True)
        self.class_starts_ = starts
        self.chapter_codes_, self.chapter_centroids_, self.chapter_index_ = self._centroids(
            matrix, ref_codes, 2
        )
        self.heading_codes_, self.heading_centroids_, self.heading_index_ = self._centroids(
            matrix, ref_codes, 4
        )
        self.class_embeddings_: np.ndarray | None = None
        if self.encoder is not None:
            entries = nomenclature()
            self.class_embeddings_ = self.encoder.encode(
                [
                    normalise_description(
                        " ".join(entries[c[:n]].description for n in (2, 4, 6)), expand=False
                    )
                    for c in self.classes_
                ]
            )
        if progress:
            progress(0.6, 1.0)
        self.history_: HistoryModel | None = None
        self.n_history_ = len(pairs)
        self.history_weights_ = tuple(self.history_weights or DEFAULT_HISTORY_WEIGHTS)
        self.temperature_ = float(self.temperature)
        if len({c for _, c in pairs}) >= 2:
            if self.calibrate and len(pairs) >= _MIN_HOLD_OUT:
                self._tune_on_hold_out(pairs, history_vectors)
            if progress:
                progress(0.8, 1.0)
            self.history_ = self._fit_history(pairs, history_vectors)
        if progress:
            progress(1.0, 1.0)
        return self

    def _centroids(
        self, matrix: sp.csr_matrix, codes: Sequence[str], level: int
    ) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        """(codes at ``level``, their normalised centroids as columns, index of each class)."""
        prefixes = np.array([c[:level] for c in codes])
        groups, group_of_doc = np.unique(prefixes, return_inverse=True)
        membership = sp.csr_matrix(
            (np.ones(len(codes), dtype=np.float32), (group_of_doc, np.arange(len(codes)))),
            shape=(len(groups), len(codes)),
        )
        centroids = normalize(membership @ matrix).T.tocsr()
        index = np.searchsorted(groups, np.array([c[:level] for c in self.classes_]))
        return groups, centroids, index

    def _fit_history(self, pairs: list[tuple[str, str]], vectors: sp.csr_matrix) -> HistoryModel:
        return HistoryModel(self.alpha, self.max_iter, self.random_state).fit(
            [d for d, _ in pairs], vectors, [c for _, c in pairs], self.classes_
        )

    def _tune_on_hold_out(self, pairs: list[tuple[str, str]], vectors: sp.csr_matrix) -> None:
        """Choose the history weights and the temperature on 20 % of history held out from a
        history model fitted on the other 80 % (the final model is refitted on all)."""
        rng = np.random.default_rng(self.random_state)
        hold = rng.random(len(pairs)) < 0.2
        keep = np.flatnonzero(~hold)
        held = np.flatnonzero(hold)
        train_pairs = [pairs[i] for i in keep]
        if len({c for _, c in train_pairs}) < 2 or len(held) == 0:
            return
        self.history_ = self._fit_history(train_pairs, vectors[keep])
        texts = [pairs[i][0] for i in held]
        target = np.searchsorted(self.classes_, [pairs[i][1] for i in held])
        base, levels = self._components(texts, vectors[held])
        best, best_hits = self.history_weights_, -1.0
        grid = [self.history_weights] if self.history_weights else product(_WEIGHT_GRID, repeat=3)
        for weights in grid:
            scores = _combine(base, levels, tuple(weights))
            top5 = np.argpartition(-scores, 5, axis=1)[:, :5]
            top1 = scores.argmax(axis=1)
            hits = float(np.mean(top1 == target) + np.mean((top5 == target[:, None]).any(axis=1)))
            if hits > best_hits:
                best, best_hits = tuple(weights), hits
        self.history_weights_ = best
        scores = _combine(base, levels, best)
        self.temperature_ = _best_temperature(scores, target, self.temperature)
        self.history_ = None

    def _fit_vectors(self, texts: list[str]) -> sp.csr_matrix:
        words = self.word_vectorizer_.fit_transform(texts)
        chars = self.char_vectorizer_.fit_transform(texts)
        return _join(words, chars)

    def _vectors(self, normalised: Sequence[str]) -> sp.csr_matrix:
        words = self.word_vectorizer_.transform(normalised)
        chars = self.char_vectorizer_.transform(normalised)
        return _join(words, chars)

    # -- scoring ---------------------------------------------------------------------------
    def _components(
        self, normalised: Sequence[str], queries: sp.csr_matrix
    ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """(retrieval + hierarchy scores, history probabilities per level)."""
        sims = (queries @ self.documents_).toarray()
        scores = np.maximum.reduceat(sims, self.class_starts_, axis=1)
        levels: dict[int, np.ndarray] = {}
        if self.history_ is not None:
            np.maximum(scores, self.history_.nearest(queries, len(self.classes_)), out=scores)
            levels = self.history_.level_proba(normalised, len(self.classes_))
        if self.chapter_weight:
            chapter = (queries @ self.chapter_centroids_).toarray()
            scores += self.chapter_weight * chapter[:, self.chapter_index_]
        if self.heading_weight:
            heading = (queries @ self.heading_centroids_).toarray()
            scores += self.heading_weight * heading[:, self.heading_index_]
        if self.encoder is not None and self.class_embeddings_ is not None:
            embedded = self.encoder.encode(normalised)
            scores += self.embedding_weight * (embedded @ self.class_embeddings_.T)
        return scores, levels

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Raw scores, shape (n, n_classes); higher = more likely that subheading."""
        normalised = [normalise_description(str(x)) for x in X]
        queries = self._vectors(normalised)
        parts = [np.zeros((0, len(self.classes_)), dtype=np.float32)]
        # Chunks keep the dense (chunk x documents) similarity block in cache: >2x faster.
        for start in range(0, len(normalised), _CHUNK):
            stop = start + _CHUNK
            base, levels = self._components(normalised[start:stop], queries[start:stop])
            parts.append(_combine(base, levels, self.history_weights_))
        return np.vstack(parts)

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
        cols = query.indices
        docs = self.word_documents_[start:stop][:, cols]
        weights = np.asarray(docs.max(axis=0).todense()).ravel() * query.data
        names = self.word_names_
        order = np.argsort(-weights)
        return tuple(str(names[cols[j]]) for j in order[:n] if weights[j] > 0)

    def _more_tags(self) -> dict[str, Any]:
        return {"X_types": ["string"]}


def _join(words: sp.csr_matrix, chars: sp.csr_matrix) -> sp.csr_matrix:
    """Word and character blocks, each L2-normalised, then the whole row: equal say."""
    return normalize(sp.hstack([normalize(words), normalize(chars)]).tocsr())


def _combine(
    base: np.ndarray, levels: dict[int, np.ndarray], weights: tuple[float, ...]
) -> np.ndarray:
    scores = base.copy() if levels else base
    for level, weight in zip(LEVELS, weights, strict=True):
        if weight and level in levels:
            scores += weight * levels[level]
    return np.asarray(scores)


def _best_temperature(scores: np.ndarray, target: np.ndarray, default: float) -> float:
    """The softmax temperature minimising the log-loss of the held-out codes."""
    best, best_loss = default, np.inf
    for temp in (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3):
        probs = _softmax(scores, temp)
        loss = float(-np.mean(np.log(probs[np.arange(len(target)), target] + 1e-9)))
        if loss < best_loss:
            best, best_loss = temp, loss
    return float(best)


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = (scores - scores.max(axis=1, keepdims=True)) / temperature
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))
