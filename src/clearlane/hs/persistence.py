"""Saving and loading an :class:`HSClassifier` in a versioned envelope.

The artifact is a pickle preceded by a JSON header (format version, library versions, the
SHA-256 of the payload). Pickles run code when loaded, so a file from outside the workspace's
artifacts folder loads only with ``trusted=True``.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy
import sklearn

from clearlane import __version__
from clearlane.errors import NotFoundError, UntrustedArtifactError, ValidationError
from clearlane.hs.classifier import HSClassifier

FORMAT = "clearlane-hs-classifier"
# 2: mixture weights (``weights_``) replaced the temperature and fixed weights of version 1.
# 3: sentence-embedding evidence (three more features, reference embeddings kept).
# 4: calibrated confidence map (``confidence_map_``).
FORMAT_VERSION = 4


def save_classifier(model: HSClassifier, path: Path | str) -> Path:
    """Write ``model`` to ``path`` (parent folders created); returns the path."""
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "clearlane": __version__,
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "n_history": getattr(model, "n_history_", 0),
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        handle.write(json.dumps(header).encode() + b"\n")
        handle.write(payload)
    return target


def load_classifier(
    path: Path | str, trusted: bool = False, trusted_dir: Path | None = None
) -> HSClassifier:
    """Read a classifier saved by :func:`save_classifier`.

    Files under ``trusted_dir`` (the workspace artifacts folder) load freely; others need
    ``trusted=True``.
    """
    source = Path(path)
    if not source.exists():
        raise NotFoundError(
            f"no HS classifier at {str(source)!r}; train one with `clearlane hs train`"
        )
    inside = trusted_dir is not None and source.resolve().is_relative_to(trusted_dir.resolve())
    if not (trusted or inside):
        raise UntrustedArtifactError(
            f"{str(source)!r} is outside the workspace; load it only if you trust its origin "
            "(pass trusted=True / --trust)"
        )
    with source.open("rb") as handle:
        header = json.loads(handle.readline())
        payload = handle.read()
    if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
        raise ValidationError(
            f"{source.name} is not a format-{FORMAT_VERSION} HS classifier: header {header}"
        )
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise ValidationError(f"{source.name} is corrupted: its checksum does not match")
    model = pickle.loads(payload)
    if not isinstance(model, HSClassifier):
        raise ValidationError(f"{source.name} does not hold an HS classifier")
    return model
