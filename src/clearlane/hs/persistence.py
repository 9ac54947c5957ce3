"""Saving and loading an :class:`HSClassifier` in the data-only artifact envelope.

The classifier's vectorizers, sparse matrices, arrays and chapter model are stored as JSON,
``.npy`` and component arrays (:mod:`clearlane.artifacts`): loading never runs code from the
file. A file from outside the workspace's artifacts folder loads only with ``trusted=True``
(CLI ``--trust-artifact``); an old pickle file is refused with the command to retrain.
"""

from __future__ import annotations

from pathlib import Path

from clearlane.artifacts import read_artifact, write_artifact
from clearlane.errors import ArtifactError, NotFoundError
from clearlane.hs.classifier import HSClassifier

KIND = "hs"
# 5: the data-only envelope (versions 1-4 were pickles, which are no longer loaded).
FORMAT_VERSION = 5


def save_classifier(model: HSClassifier, path: Path | str, version: str = "hs") -> Path:
    """Write ``model`` to ``path`` (parent folders created, atomically); returns the path."""
    meta = {"format_version": FORMAT_VERSION, "n_history": getattr(model, "n_history_", 0)}
    return write_artifact(model, Path(path), kind=KIND, version=version, meta=meta).path


def load_classifier(
    path: Path | str,
    trusted: bool = False,
    trusted_dir: Path | None = None,
    expected_sha256: str | None = None,
) -> HSClassifier:
    """Read a classifier saved by :func:`save_classifier`.

    Files under ``trusted_dir`` (the workspace artifacts folder) load freely; others need
    ``trusted=True``. ``expected_sha256`` (the registry's) is checked against the file first.
    """
    source = Path(path)
    if not source.exists():
        raise NotFoundError(
            f"no HS classifier at {str(source)!r}; train one with `clearlane hs train`"
        )
    model, _ = read_artifact(source, kind=KIND, expected_sha256=expected_sha256,
                             trusted_dir=trusted_dir, trust=trusted)
    if not isinstance(model, HSClassifier):
        raise ArtifactError(f"{source.name} does not hold an HS classifier")
    return model
