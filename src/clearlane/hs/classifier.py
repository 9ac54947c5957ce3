"""The HS classifier: goods description → ranked HS6 (and HS4/HS2) candidates.

Evidence for one candidate subheading ``c`` of a description ``q`` (cosine similarities of
TF-IDF word unigrams + character 3-5-grams over normalised text, see :mod:`clearlane.hs.text`;
character n-grams found in more than ``max_df`` of the reference texts are dropped, which
halves scoring time):

* ``match(c)`` = best similarity between ``q`` and any reference text of ``c``: the HS 2022
  text (chapter + heading + subheading), every national tariff line under ``c`` (with its
  parents' texts), every labelled example of ``c`` (:mod:`clearlane.hs.examples`) and every
  past declaration declared under ``c``;
* ``heading_match(c)``, ``chapter_match(c)`` = the best ``match`` of any subheading in the
  heading / chapter of ``c``: a description that clearly belongs to a heading lifts all its
  subheadings, so the right one can win on a weaker text of its own (back-off up the
  hierarchy, with no bonus for headings that merely have many lines);
* ``heading_centroid(c)``, ``chapter_centroid(c)`` = similarity between ``q`` and the centroid
  of all reference texts of the heading / chapter: they pool the wording of a whole group;
* ``chapter_classifier(c)`` = log-probability of the chapter of ``c`` under a linear model
  trained on the words of all reference texts (:mod:`clearlane.hs.chapters`);
* ``history_hsL(c)`` for L = 6, 4, 2 = the probability of the L-digit code of ``c`` under a
  logistic regression trained on history only (:mod:`clearlane.hs.history`; 0 at cold start);
* ``embedding_match(c)``, ``embedding_heading_match(c)``, ``embedding_chapter_match(c)`` =
  ``match`` and its back-offs again, with the cosine similarity of sentence embeddings
  (:mod:`clearlane.hs.embeddings`) over the same reference texts and past declarations:
  only with an ``encoder`` (extra ``text``), 0 otherwise.

``score = Σ weight_f · feature_f``; the probability is the softmax of the scores over all
subheadings, summed over candidates for HS4/HS2. The weights are a conditional logit
(:mod:`clearlane.hs.mixture`): at cold start :data:`~clearlane.hs.mixture.COLD_WEIGHTS`
(learned on customs rulings held apart from the benchmark's cold-start rows); with at least
200 history pairs, all weights are re-learned on 20 % of history held out from a history
model fitted on the other 80 %, and the history model is then refitted on all pairs.
:meth:`fit_weights` re-learns them on any labelled validation set. Codes never seen in
history still get the retrieval evidence, so the model answers for them. The confidence
shown for a candidate is its probability recalibrated per level on the same labelled pairs
as the weights (:mod:`clearlane.hs.confidence`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from clearlane.errors import ValidationError
from clearlane.hs.chapters import ChapterModel
from clearlane.hs.codes import normalise_code
from clearlane.hs.confidence import (
    COLD_CONFIDENCE,
    EMBEDDING_COLD_CONFIDENCE,
    LEVELS,
    ConfidenceMap,
    fit_confidence_map,
)
from clearlane.hs.embeddings import SentenceEncoder
from clearlane.hs.examples import LabelledExamples
from clearlane.hs.history import HistoryModel
from clearlane.hs.mixture import (
    COLD_WEIGHTS,
    EMBEDDING_COLD_WEIGHTS,
    FEATURES,
    fit_mixture_weights,
    softmax,
)
from clearlane.hs.tariff import NationalTariff
from clearlane.hs.text import normalise_description, tokens
from clearlane.reference.hs_editions import hs2022_code
from clearlane.reference.hs_nomenclature import nomenclature

Progress = Callable[[float, float | None], None]
# With history too small to learn weights on: a middle of the values learned on larger ones.
DEFAULT_HISTORY_WEIGHTS: dict[str, float] = {
    "history_hs6": 4.0,
    "history_hs4": 2.0,
    "history_hs2": 2.0,
}
_MIN_HOLD_OUT = 200
_EMBEDDINGS = ("reference_embeddings_", "history_embeddings_")
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
    optional reference texts. ``weights`` maps evidence names (:data:`FEATURES`) to mixture
    weights; ``None`` = the cold-start defaults, re-learned on held-out history when there is
    enough of it (``calibrate``). ``encoder`` (optional, extra ``text``) adds the
    sentence-embedding evidence (cold-start weights
    :data:`~clearlane.hs.mixture.EMBEDDING_COLD_WEIGHTS`); much slower, off by default.
    """

    def __init__(
        self,
        tariff: NationalTariff | None = None,
        examples: LabelledExamples | None = None,
        top_k: int = 5,
        weights: dict[str, float] | None = None,
        max_df: float = 0.05,
        alpha: float = 1e-5,
        max_iter: int = 20,
        calibrate: bool = True,
        random_state: int | None = 0,
        encoder: SentenceEncoder | None = None,
    ) -> None:
        self.tariff = tariff
        self.examples = examples
        self.top_k = top_k
        self.weights = weights
        self.max_df = max_df
        self.alpha = alpha
        self.max_iter = max_iter
        self.calibrate = calibrate
        self.random_state = random_state
        self.encoder = encoder

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        X: Sequence[str],
        y: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> HSClassifier:
        """Learn from history (``X`` descriptions, ``y`` declared codes); cold start when empty."""
        pairs = _labelled_pairs(X, y)
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
        matrix, words = self._fit_vectors(ref_texts + [d for d, _ in pairs])
        self.chapter_model_ = ChapterModel(random_state=self.random_state).fit(
            words[: len(ref_texts)], ref_codes, np.unique(ref_codes)
        )
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
        self.chapter_centroids_, self.chapter_index_ = self._centroids(matrix, ref_codes, 2)
        self.heading_centroids_, self.heading_index_ = self._centroids(matrix, ref_codes, 4)
        self.group_starts_ = {
            level: np.unique([c[:level] for c in self.classes_], return_index=True)[1]
            for level in (2, 4)
        }
        self.reference_embeddings_: np.ndarray | None = None
        self.history_embeddings_: np.ndarray | None = None
        self.history_embedding_classes_ = np.zeros(0, dtype=np.int64)
        history_embeddings = None
        if self.encoder is not None:
            texts = [ref_texts[i] for i in order] + [d for d, _ in pairs]

            def encoded(done: int, total: int) -> None:
                if progress:
                    progress(0.4 + 0.2 * done / max(total, 1), 1.0)

            embedded = self.encoder.encode(texts, progress=encoded)
            self.reference_embeddings_ = embedded[: len(ref_texts)]
            history_embeddings = embedded[len(ref_texts) :]
        if progress:
            progress(0.6, 1.0)
        self.history_: HistoryModel | None = None
        self.n_history_ = len(pairs)
        self.weights_ = _weight_vector(
            self.weights, history=bool(pairs), embeddings=self.encoder is not None
        )
        self.confidence_map_: ConfidenceMap = (
            EMBEDDING_COLD_CONFIDENCE if self.encoder is not None else COLD_CONFIDENCE
        )
        if len({c for _, c in pairs}) >= 2:
            if self.calibrate and self.weights is None and len(pairs) >= _MIN_HOLD_OUT:
                self._tune_on_hold_out(pairs, history_vectors, history_embeddings)
            if progress:
                progress(0.8, 1.0)
            self.history_ = self._fit_history(pairs, history_vectors)
            self._keep_history_embeddings(pairs, history_embeddings)
        if progress:
            progress(1.0, 1.0)
        return self

    def fit_weights(self, X: Sequence[str], y: Sequence[str]) -> HSClassifier:
        """Re-learn the mixture weights on labelled validation pairs (conditional logit, see
        :mod:`clearlane.hs.mixture`); the fitted texts and history stay as they are."""
        pairs = _labelled_pairs(X, y)
        if not pairs:
            raise ValidationError("fit_weights needs at least one pair with a valid HS6 code")
        texts = [d for d, _ in pairs]
        features = self._stacked_features(texts, self._vectors(texts), self._embed(texts))
        target = np.searchsorted(self.classes_, [c for _, c in pairs])
        self.weights_ = fit_mixture_weights(features, target, start=self.weights_)
        self._fit_confidence(features, target)
        return self

    def _fit_confidence(self, features: np.ndarray, target: np.ndarray) -> None:
        """Re-learn the confidence map (:mod:`clearlane.hs.confidence`) on the same labelled
        pairs as the weights, starting from the current map."""
        proba = softmax(np.tensordot(self.weights_.astype(np.float32), features, 1))
        right = self.classes_[target]
        levels = {6: proba}
        targets = {6: np.asarray(target)}
        for level in (4, 2):
            codes, levels[level] = self.level_proba(proba, level)
            targets[level] = np.searchsorted(codes, [c[:level] for c in right])
        self.confidence_map_ = fit_confidence_map(levels, targets, prior=self.confidence_map_)

    def _embed(self, normalised: Sequence[str]) -> np.ndarray | None:
        """Sentence embeddings of normalised texts, or None without an encoder."""
        if self.encoder is None or self.reference_embeddings_ is None:
            return None
        return self.encoder.encode(normalised)

    def _keep_history_embeddings(
        self, pairs: list[tuple[str, str]], embeddings: np.ndarray | None
    ) -> None:
        """Keep the embeddings of past declarations, sorted by class, for the nearest match."""
        if embeddings is None:
            self.history_embeddings_ = None
            self.history_embedding_classes_ = np.zeros(0, dtype=np.int64)
            return
        classes = np.searchsorted(self.classes_, [c for _, c in pairs])
        order = np.argsort(classes, kind="stable")
        self.history_embeddings_ = embeddings[order]
        self.history_embedding_classes_ = classes[order]

    def _centroids(
        self, matrix: sp.csr_matrix, codes: Sequence[str], level: int
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        """(normalised centroids of the codes at ``level`` as columns, index of each class)."""
        prefixes = np.array([c[:level] for c in codes])
        groups, group_of_doc = np.unique(prefixes, return_inverse=True)
        membership = sp.csr_matrix(
            (np.ones(len(codes), dtype=np.float32), (group_of_doc, np.arange(len(codes)))),
            shape=(len(groups), len(codes)),
        )
        centroids = normalize(membership @ matrix).T.tocsr()
        index = np.searchsorted(groups, np.array([c[:level] for c in self.classes_]))
        return centroids, index

    def _fit_history(self, pairs: list[tuple[str, str]], vectors: sp.csr_matrix) -> HistoryModel:
        return HistoryModel(self.alpha, self.max_iter, self.random_state).fit(
            [d for d, _ in pairs], vectors, [c for _, c in pairs], self.classes_
        )

    def _tune_on_hold_out(
        self,
        pairs: list[tuple[str, str]],
        vectors: sp.csr_matrix,
        embeddings: np.ndarray | None = None,
    ) -> None:
        """Learn the mixture weights on 20 % of history held out from a history model fitted
        on the other 80 % (the final history model is refitted on all)."""
        rng = np.random.default_rng(self.random_state)
        hold = rng.random(len(pairs)) < 0.2
        keep = np.flatnonzero(~hold)
        held = np.flatnonzero(hold)
        train_pairs = [pairs[i] for i in keep]
        if len({c for _, c in train_pairs}) < 2 or len(held) == 0:
            return
        self.history_ = self._fit_history(train_pairs, vectors[keep])
        self._keep_history_embeddings(train_pairs, None if embeddings is None else embeddings[keep])
        texts = [pairs[i][0] for i in held]
        target = np.searchsorted(self.classes_, [pairs[i][1] for i in held])
        features = self._stacked_features(
            texts, vectors[held], None if embeddings is None else embeddings[held]
        )
        self.weights_ = fit_mixture_weights(features, target, start=self.weights_)
        self._fit_confidence(features, target)
        self.history_ = None
        self._keep_history_embeddings([], None)

    def _fit_vectors(self, texts: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(joined word + character rows, word rows) of ``texts``."""
        words = self.word_vectorizer_.fit_transform(texts)
        chars = self.char_vectorizer_.fit_transform(texts)
        return _join(words, chars), words

    def _vectors(self, normalised: Sequence[str]) -> sp.csr_matrix:
        words = self.word_vectorizer_.transform(normalised)
        chars = self.char_vectorizer_.transform(normalised)
        return _join(words, chars)

    # -- scoring ---------------------------------------------------------------------------
    def _stacked_features(
        self,
        normalised: Sequence[str],
        queries: sp.csr_matrix,
        embedded: np.ndarray | None = None,
    ) -> np.ndarray:
        """Evidence of every chunk, shape (n_features, n, n_classes)."""
        parts = [
            self._features(
                normalised[start : start + _CHUNK],
                queries[start : start + _CHUNK],
                None if embedded is None else embedded[start : start + _CHUNK],
            )
            for start in range(0, len(normalised), _CHUNK)
        ]
        return np.concatenate(parts, axis=1)

    def _features(
        self,
        normalised: Sequence[str],
        queries: sp.csr_matrix,
        embedded: np.ndarray | None = None,
    ) -> np.ndarray:
        """Evidence per (description, subheading), shape (n_features, n, n_classes), in the
        order of :data:`FEATURES`; the embedding evidence only with ``embedded`` queries."""
        n, n_classes = queries.shape[0], len(self.classes_)
        out = np.zeros((len(FEATURES), n, n_classes), dtype=np.float32)
        sims = (queries @ self.documents_).toarray()
        match = np.maximum.reduceat(sims, self.class_starts_, axis=1)
        if self.history_ is not None:
            np.maximum(match, self.history_.nearest(queries, n_classes), out=match)
            for level, proba in self.history_.level_proba(normalised, n_classes).items():
                out[FEATURES.index(f"history_hs{level}")] = proba
        self._back_off(out, match, "")
        if embedded is not None and self.reference_embeddings_ is not None:
            self._back_off(out, self._embedding_match(embedded), "embedding_")
        heading = (queries @ self.heading_centroids_).toarray()
        out[FEATURES.index("heading_centroid")] = heading[:, self.heading_index_]
        chapter = (queries @ self.chapter_centroids_).toarray()
        out[FEATURES.index("chapter_centroid")] = chapter[:, self.chapter_index_]
        words = queries[:, : len(self.word_vectorizer_.vocabulary_)]
        out[FEATURES.index("chapter_classifier")] = self.chapter_model_.log_proba(words)
        return out

    def _back_off(self, out: np.ndarray, match: np.ndarray, prefix: str) -> None:
        """Write ``match`` and its best value per heading and chapter into ``out``."""
        n_classes = len(self.classes_)
        out[FEATURES.index(prefix + "match")] = match
        for name, level in (("heading_match", 4), ("chapter_match", 2)):
            starts = self.group_starts_[level]
            best = np.maximum.reduceat(match, starts, axis=1)
            out[FEATURES.index(prefix + name)] = np.repeat(
                best, np.diff(np.r_[starts, n_classes]), axis=1
            )

    def _embedding_match(self, embedded: np.ndarray) -> np.ndarray:
        """(n, n_classes): the best cosine similarity to a reference text or past
        declaration of each subheading, in embedding space."""
        assert self.reference_embeddings_ is not None
        sims = embedded @ self.reference_embeddings_.T
        match = np.maximum.reduceat(sims, self.class_starts_, axis=1)
        if self.history_embeddings_ is not None and len(self.history_embedding_classes_):
            columns, starts = np.unique(self.history_embedding_classes_, return_index=True)
            past = np.maximum.reduceat(embedded @ self.history_embeddings_.T, starts, axis=1)
            match[:, columns] = np.maximum(match[:, columns], past)
        return np.asarray(match, dtype=np.float32)

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Raw scores (log-odds up to a constant), shape (n, n_classes); higher = more likely
        that subheading."""
        normalised = [normalise_description(str(x)) for x in X]
        queries = self._vectors(normalised)
        parts = [np.zeros((0, len(self.classes_)), dtype=np.float32)]
        # Chunks keep the dense (chunk x documents) similarity block in cache: >2x faster.
        for start in range(0, len(normalised), _CHUNK):
            chunk = normalised[start : start + _CHUNK]
            features = self._features(chunk, queries[start : start + _CHUNK], self._embed(chunk))
            parts.append(np.tensordot(self.weights_.astype(np.float32), features, 1))
        return np.vstack(parts)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Probabilities over ``classes_`` (HS6), rows sum to 1 (the mixture's softmax; rank
        by these). The confidence shown for a candidate is :meth:`level_confidence`."""
        return softmax(self.decision_function(X))

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

    def level_confidence(self, proba: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes, calibrated confidences) at ``level`` (6, 4 or 2) from :meth:`predict_proba`
        output: per code, the chance that it is the right one (:mod:`clearlane.hs.confidence`);
        same order as the probabilities, but rows need not sum to 1."""
        if level not in LEVELS:
            raise ValidationError(f"level must be one of {LEVELS}; got {level!r}")
        codes, summed = (self.classes_, proba) if level == 6 else self.level_proba(proba, level)
        return codes, self.confidence_map_.confidence(summed, level)

    def suggest(self, X: Sequence[str], k: int | None = None) -> list[Suggestion]:
        """Top-k candidates at HS6, HS4 and HS2 with official texts and driving words."""
        k = k or self.top_k
        texts = [str(x) for x in X]
        proba = self.predict_proba(texts)
        entries = nomenclature()
        out = []
        levels = {level: self.level_confidence(proba, level) for level in LEVELS}
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

    def __getstate__(self) -> dict[str, Any]:
        """Embeddings are pickled as float16, half the size: a cosine similarity of unit vectors
        moves by less than 1e-3 (2**-11 relative per value). Loading restores float32."""
        state = dict(super().__getstate__())
        for name in _EMBEDDINGS:
            if state.get(name) is not None:
                state[name] = np.asarray(state[name], dtype=np.float16)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name in _EMBEDDINGS:
            if state.get(name) is not None:
                state[name] = np.asarray(state[name], dtype=np.float32)
        super().__setstate__(state)


def _join(words: sp.csr_matrix, chars: sp.csr_matrix) -> sp.csr_matrix:
    """Word and character blocks, each L2-normalised, then the whole row: equal say."""
    return normalize(sp.hstack([normalize(words), normalize(chars)]).tocsr())


def _labelled_pairs(X: Sequence[str], y: Sequence[str] | None) -> list[tuple[str, str]]:
    """(normalised description, HS6) pairs whose code is an HS 2022 subheading, or a code of
    an older edition with one HS 2022 successor (mapped to it; splits are left out)."""
    labels = [hs2022_code(normalise_code(c)) for c in (y if y is not None else [])]
    pairs = [
        (normalise_description(str(d)), c)
        for d, c in zip(X, labels, strict=False)
        if c is not None and d
    ]
    return [(d, c) for d, c in pairs if d]


def _weight_vector(
    weights: dict[str, float] | None, history: bool, embeddings: bool = False
) -> np.ndarray:
    """Weights in the order of FEATURES; unknown names are an error."""
    chosen = dict(EMBEDDING_COLD_WEIGHTS if embeddings else COLD_WEIGHTS)
    if history:
        chosen.update(DEFAULT_HISTORY_WEIGHTS)
    if weights is not None:
        unknown = sorted(set(weights) - set(FEATURES))
        if unknown:
            raise ValidationError(
                f"unknown HS classifier weight(s) {unknown}; valid: {', '.join(FEATURES)}"
            )
        chosen.update(weights)
    return np.array([float(chosen[name]) for name in FEATURES])
