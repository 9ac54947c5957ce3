"""Versioned value bands of a workspace, in the one registry and envelope of every model.

Each band version (``v1``, ``v2``...) is an artifact ``<artifacts>/valuation/bands/v<N>.clz``
registered in the workspace's ``models`` table as kind ``bands`` (registry version
``bands-v<N>``); its optional conditional quantile model is ``v<N>.model.clz`` (kind
``quantile``, ``quantile-v<N>``). Every load checks the file's SHA-256 against the
registry's. A version is immutable once written; a new build or an import gets the next
number. Band files of an older Clearlane (``v<N>.parquet``, not registered) are not loaded:
import them with ``clearlane valuation import`` or rebuild.
"""

from __future__ import annotations

import re
from pathlib import Path

from clearlane.artifacts import SUFFIX
from clearlane.errors import ArtifactError, NotFoundError
from clearlane.models import registry
from clearlane.store.workspace import Workspace
from clearlane.valuation.bands import ValueBands
from clearlane.valuation.quantile_model import UnitValueQuantileModel

_LEGACY = re.compile(r"^v(\d+)\.parquet$")
_VERSION = re.compile(r"^v(\d+)$")
BANDS = "bands"
QUANTILE = "quantile"


class BandRegistry:
    """The band versions of a workspace (``workspace`` or its ``artifacts`` folder)."""

    def __init__(self, artifacts_dir: Path | Workspace) -> None:
        if isinstance(artifacts_dir, Workspace):
            self.workspace = artifacts_dir
        else:
            self.workspace = Workspace(Path(artifacts_dir).parent)
        self.root = self.workspace.artifacts_dir / "valuation" / "bands"

    def _registered(self) -> bool:
        return self.workspace.exists()

    def versions(self) -> list[str]:
        """Stored version ids, oldest first."""
        if not self._registered():
            return []
        records = registry.list_models(self.workspace, BANDS)
        numbers = sorted(int(m.group(1)) for r in records
                         if (m := _VERSION.match(r.version.removeprefix(f"{BANDS}-"))))
        return [f"v{n}" for n in numbers]

    def legacy_files(self) -> list[Path]:
        """Band files written by an older Clearlane (Parquet, unregistered)."""
        if not self.root.exists():
            return []
        return sorted(p for p in self.root.iterdir() if _LEGACY.match(p.name))

    def path(self, version: str) -> Path:
        return self.root / f"{version}{SUFFIX}"

    def model_path(self, version: str) -> Path:
        return self.root / f"{version}.model{SUFFIX}"

    def next_version(self) -> str:
        numbers = [int(v[1:]) for v in self.versions()]
        numbers += [int(m.group(1)) for p in self.legacy_files() if (m := _LEGACY.match(p.name))]
        return f"v{max(numbers) + 1}" if numbers else "v1"

    def save(self, bands: ValueBands, source: str | None = None) -> ValueBands:
        """Store ``bands`` under the next version id (registered, atomically written)."""
        if not self._registered():
            raise NotFoundError(f"no workspace at {str(self.workspace.path)!r}")
        version = self.next_version()
        stored = bands.with_version(version, source)
        meta = stored.meta
        registry.register(
            self.workspace, stored, BANDS, train_from=meta.window_start, train_to=meta.window_end,
            n_rows=meta.declarations, features=[], params=dict(meta.config),
            metrics={"cells": stored.table.height, "source": meta.source},
            fingerprint=meta.content_hash, version=f"{BANDS}-{version}", path=self.path(version),
        )
        return stored

    def load(self, version: str | None = None) -> ValueBands:
        """A stored version (default: the latest); its file's SHA-256 checked."""
        versions = self.versions()
        if not versions:
            legacy = self.legacy_files()
            hint = (f"; the band file(s) {[p.name for p in legacy]} were written by an older "
                    "Clearlane: import one with `clearlane valuation import` or rebuild"
                    if legacy else "")
            raise NotFoundError(
                f"no value bands in this workspace; build them with `clearlane valuation build`{hint}"
            )
        version = version or versions[-1]
        if version not in versions:
            raise NotFoundError(f"value bands {version!r} not found; stored versions: {versions}")
        record = registry.get_model(self.workspace, f"{BANDS}-{version}")
        bands = registry.load_model(self.workspace, record)
        if not isinstance(bands, ValueBands):
            raise ArtifactError(f"registered bands {version!r} do not hold value bands")
        return bands

    def save_model(self, version: str, model: UnitValueQuantileModel) -> Path:
        """Store the conditional quantile model of band version ``version``; returns its path."""
        path = self.model_path(version)
        registry.register(
            self.workspace, model, QUANTILE, train_from=None, train_to=None,
            n_rows=int(getattr(model, "n_train_", 0)), features=[], params=model.get_params(),
            metrics={}, fingerprint=f"bands {version}", version=f"{QUANTILE}-{version}", path=path,
        )
        return path

    def load_model(self, version: str) -> UnitValueQuantileModel:
        """The quantile model of band version ``version``; its file's SHA-256 checked."""
        record = next((r for r in registry.list_models(self.workspace, QUANTILE)
                       if r.version == f"{QUANTILE}-{version}"), None)
        if record is None:
            raise NotFoundError(
                f"bands {version!r} have no quantile model; rebuild with "
                "`clearlane valuation build --with-model`"
            )
        model = registry.load_model(self.workspace, record)
        if not isinstance(model, UnitValueQuantileModel):
            raise ArtifactError(f"registered model {record.version!r} is not a quantile model")
        return model
