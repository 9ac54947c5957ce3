"""Model artifacts in a versioned envelope, loaded only from trusted places.

File layout: one line of JSON (the envelope header: format, envelope version, kind, model
version, library versions, compression, SHA-256 of the stored payload), a newline, then the
pickled model, compressed with zstd (envelope version 2; a model's history state compresses
several-fold, and decompressing it costs a fraction of a second). Version 1 artifacts
(uncompressed) still load. Pickle
runs code when loaded, so an artifact outside the workspace's ``artifacts`` folder is refused
unless the caller passes ``trust=True`` (:class:`UntrustedArtifactError`).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa

from clearlane.errors import UntrustedArtifactError, ValidationError

FORMAT = "clearlane-model"
ENVELOPE_VERSION = 2
READABLE_ENVELOPES = (1, 2)
COMPRESSION = "zstd"
LIBRARIES = ("clearlane", "lightgbm", "scikit-learn", "numpy", "polars")


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on (and Python)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def save_artifact(model: Any, path: Path, kind: str, version: str) -> dict[str, Any]:
    """Write ``model`` to ``path`` in the envelope; returns the header."""
    pickled = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    payload = pa.compress(pickled, codec=COMPRESSION, asbytes=True)
    header = {
        "format": FORMAT,
        "envelope_version": ENVELOPE_VERSION,
        "kind": kind,
        "model_version": version,
        "libraries": library_versions(),
        "compression": COMPRESSION,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload_bytes": len(payload),
        "uncompressed_bytes": len(pickled),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        handle.write(payload)
    tmp.replace(path)
    return header


def read_header(path: Path) -> dict[str, Any]:
    """The envelope header of an artifact (safe: reads JSON only)."""
    with Path(path).open("rb") as handle:
        line = handle.readline()
    try:
        header = json.loads(line)
    except ValueError as exc:
        raise ValidationError(f"{str(path)!r} is not a Clearlane model artifact") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValidationError(f"{str(path)!r} is not a Clearlane model artifact")
    return header


def load_artifact(path: Path, trusted_dir: Path | None = None, trust: bool = False) -> Any:
    """Load a model; refuses files outside ``trusted_dir`` unless ``trust`` is true."""
    path = Path(path)
    inside = trusted_dir is not None and path.resolve().is_relative_to(Path(trusted_dir).resolve())
    if not (inside or trust):
        raise UntrustedArtifactError(
            f"refusing to load model artifact {str(path)!r}: it is outside the workspace artifacts "
            f"folder {str(trusted_dir)!r}; loading runs code from the file, so pass the trust "
            "flag (--trust-artifact / trust=True) only for files you trust"
        )
    header = read_header(path)
    if header.get("envelope_version") not in READABLE_ENVELOPES:
        raise ValidationError(
            f"artifact {str(path)!r} has envelope version {header.get('envelope_version')!r}; "
            f"this Clearlane reads versions {', '.join(map(str, READABLE_ENVELOPES))}"
        )
    with path.open("rb") as handle:
        handle.readline()
        payload = handle.read()
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise ValidationError(f"artifact {str(path)!r} is corrupt: its checksum does not match")
    if header.get("compression"):
        payload = pa.decompress(
            payload,
            decompressed_size=int(header["uncompressed_bytes"]),
            codec=str(header["compression"]),
            asbytes=True,
        )
    return pickle.loads(payload)
