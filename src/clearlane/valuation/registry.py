"""Versioned band files in a workspace: ``<artifacts>/valuation/bands/v<N>.parquet``.

Each version is immutable once written; a new build or an import gets the next number. The
optional conditional quantile model of a version sits beside it as ``v<N>.model.json``.
"""

from __future__ import annotations

import re
from pathlib import Path

from clearlane.errors import NotFoundError
from clearlane.valuation.bands import ValueBands

_VERSION = re.compile(r"^v(\d+)\.parquet$")


class BandRegistry:
    """The band versions stored under ``root`` (usually ``workspace.artifacts_dir``)."""

    def __init__(self, artifacts_dir: Path) -> None:
        self.root = Path(artifacts_dir) / "valuation" / "bands"

    def versions(self) -> list[str]:
        """Stored version ids, oldest first."""
        if not self.root.exists():
            return []
        numbers = sorted(int(m.group(1)) for p in self.root.iterdir() if (m := _VERSION.match(p.name)))
        return [f"v{n}" for n in numbers]

    def path(self, version: str) -> Path:
        return self.root / f"{version}.parquet"

    def model_path(self, version: str) -> Path:
        return self.root / f"{version}.model.json"

    def next_version(self) -> str:
        versions = self.versions()
        return f"v{int(versions[-1][1:]) + 1}" if versions else "v1"

    def save(self, bands: ValueBands, source: str | None = None) -> ValueBands:
        """Store ``bands`` under the next version id; returns them with that id."""
        stored = bands.with_version(self.next_version(), source)
        stored.write(self.path(stored.meta.version))
        return stored

    def load(self, version: str | None = None) -> ValueBands:
        """A stored version (default: the latest)."""
        versions = self.versions()
        if not versions:
            raise NotFoundError("no value bands in this workspace; build them with `clearlane valuation build`")
        version = version or versions[-1]
        if version not in versions:
            raise NotFoundError(f"value bands {version!r} not found; stored versions: {versions}")
        return ValueBands.read(self.path(version))
