"""Model artifacts: thin wrappers over the one data-only envelope (:mod:`clearlane.artifacts`).

A model is saved as a zip of JSON state, NumPy arrays, Arrow tables and LightGBM model text
(no pickle: loading never runs code from the file). An artifact outside the workspace's
``artifacts`` folder is refused unless the caller passes ``trust=True``
(:class:`~clearlane.errors.UntrustedArtifactError`); ``expected_sha256`` (the registry's) is
compared with the file's before anything is decoded. Files of the old pickle envelope are
refused with the command to retrain (:class:`~clearlane.errors.LegacyArtifactError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearlane.artifacts import library_versions, read_artifact, read_manifest, write_artifact

__all__ = ["library_versions", "load_artifact", "read_header", "save_artifact"]


def save_artifact(model: Any, path: Path, kind: str, version: str) -> dict[str, Any]:
    """Write ``model`` to ``path`` in the envelope; returns the manifest plus the file's
    ``sha256`` and ``bytes``."""
    info = write_artifact(model, path, kind=kind, version=version)
    return {**info.manifest, "sha256": info.sha256, "bytes": info.bytes}


def read_header(path: Path) -> dict[str, Any]:
    """The manifest of an artifact (reads JSON only)."""
    return read_manifest(path)


def load_artifact(
    path: Path,
    trusted_dir: Path | None = None,
    trust: bool = False,
    *,
    expected_sha256: str | None = None,
    kind: str | None = None,
) -> Any:
    """Load a model; refuses files outside ``trusted_dir`` unless ``trust`` is true."""
    model, _ = read_artifact(path, kind=kind, expected_sha256=expected_sha256,
                             trusted_dir=trusted_dir, trust=trust)
    return model
