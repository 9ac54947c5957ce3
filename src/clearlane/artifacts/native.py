"""Compiled trees (extra ``fast``, lleaves) cached so that no planted file runs as native code.

A compiled forest is native code: loading a cached ``.so`` runs it. The cache folder
(``<workspace>/artifacts/compiled``) is keyed by the SHA-256 of the LightGBM model text
(itself part of the verified artifact), and the SHA-256 of every compiled file is recorded
in the workspace **database** (table ``compiled_models``, migration 15), which someone who
can write ``artifacts/`` cannot silently change. A cached file is loaded only when its bytes
match that record; the checked bytes are copied to a private temporary folder first, so the
file cannot be swapped between the check and the load. A file with no record or the wrong
hash is never loaded: the trees are compiled again and the record renewed. Without a
workspace (``cache`` is None) the trees are compiled in a private folder every time.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clearlane.artifacts.envelope import atomic_write
from clearlane.store.workspace import Workspace

log = logging.getLogger(__name__)


class CompiledCache:
    """The workspace's record of compiled tree files (name → SHA-256)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def expected(self, name: str) -> str | None:
        frame = self.workspace.query(
            "SELECT file_sha256 FROM compiled_models WHERE file_name = ?", [name]
        )
        return str(frame.item()) if frame.height else None

    def record(self, name: str, source_sha256: str, file_sha256: str, compiler: str) -> None:
        with self.workspace.transaction() as con:
            con.execute("DELETE FROM compiled_models WHERE file_name = ?", [name])
            con.execute(
                "INSERT INTO compiled_models VALUES (?, ?, ?, ?, ?)",
                [name, source_sha256, file_sha256, compiler, datetime.now(UTC)],
            )


def compile_forest(model_text: str, cache_dir: Path, cache: CompiledCache | None) -> Any:
    """A compiled lleaves model (raw scores) of LightGBM ``model_text``; see the module doc."""
    from importlib import metadata

    import lleaves  # type: ignore[import-not-found, import-untyped, unused-ignore]

    source = hashlib.sha256(model_text.encode()).hexdigest()
    name = f"{source[:32]}.so"
    cached = cache_dir / name
    with tempfile.TemporaryDirectory(prefix="clearlane-trees-") as private:
        model_file = Path(private) / "model.txt"
        model_file.write_text(model_text)
        binary = Path(private) / "forest.so"
        expected = cache.expected(name) if cache is not None else None
        trusted = False
        if expected is not None and cached.is_file():
            data = cached.read_bytes()
            if hashlib.sha256(data).hexdigest() == expected:
                binary.write_bytes(data)
                trusted = True
            else:
                log.warning("compiled trees %s do not match their recorded SHA-256; "
                            "not loaded, compiling again", cached)
        elif cached.is_file():
            log.warning("compiled trees %s have no record in this workspace; not loaded, "
                        "compiling again", cached)
        compiled = lleaves.Model(model_file=str(model_file))
        compiled.compile(cache=str(binary), raw_score=True)
        if cache is not None and not trusted:
            data = binary.read_bytes()
            atomic_write(cached, data)
            cache.record(name, source, hashlib.sha256(data).hexdigest(),
                         f"lleaves {metadata.version('lleaves')}")
    return compiled
