"""Data-only artifacts: the one envelope every learned thing is saved in (no pickle).

See :mod:`clearlane.artifacts.envelope` (file format, trust rule, hash checks),
:mod:`clearlane.artifacts.codec` (state ↔ JSON and binary members) and
:mod:`clearlane.artifacts.allowlist` (the only classes a file may name).
"""

from __future__ import annotations

from clearlane.artifacts.envelope import (
    SUFFIX,
    ArtifactInfo,
    check_trust,
    file_sha256,
    library_versions,
    read_artifact,
    read_manifest,
    write_artifact,
)

__all__ = [
    "SUFFIX",
    "ArtifactInfo",
    "check_trust",
    "file_sha256",
    "library_versions",
    "read_artifact",
    "read_manifest",
    "write_artifact",
]
