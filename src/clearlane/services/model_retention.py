"""Model retention: keep the promoted model and the newest N of each kind, remove the rest.

A model is never removed while it is promoted, while it is the model its kind's promoted model
replaced (what ``models rollback`` would promote again), or while it is among the ``keep``
newest of its kind. A model that stored results refer to (``risk_assessments``, selections,
lodgement answers) is kept too unless ``include_assessed``: those results then keep their
version string, which no longer resolves to a model.

A removed model's history dataset (the folder its artifact's manifest names, normally
``artifacts/history/<version>/``) is removed with it, unless a kept model's artifact names the
same folder.

Crash safety: the registry rows are deleted (and the change audited as ``model.prune``) in
one transaction, and the files only after it committed. A crash in between leaves artifact
files (and history folders) that no row points to, never a row pointing to a missing file;
the next prune removes such orphans (files under ``artifacts/models`` and folders under
``artifacts/history`` older than :data:`ORPHAN_AGE`, so that a model being registered at that
moment, whose files are written before its row, is left alone).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clearlane.artifacts import SUFFIX
from clearlane.artifacts.envelope import referenced_history
from clearlane.errors import ValidationError
from clearlane.models import registry
from clearlane.services import audit
from clearlane.store.connection import Connection
from clearlane.store.workspace import Workspace

ORPHAN_AGE = 3600.0
"""Seconds after which an artifact file under ``artifacts/models`` that no registry row points
to is treated as left over by an interrupted prune."""


@dataclass(frozen=True)
class PrunedModel:
    """One model removed (or, in a dry run, that would be removed); ``bytes`` is the size of
    its artifact file (0 when the file was already missing)."""

    version: str
    kind: str
    status: str
    created_at: datetime
    artifact_path: str
    bytes: int
    referenced: bool
    """Stored assessments, selections or lodgement answers name this version."""
    history_path: str | None = None
    """Its history dataset folder (relative to the workspace), removed with it; None when it
    has none or a kept model's artifact names the same folder."""
    history_bytes: int = 0
    """Bytes of the files in that folder."""


@dataclass(frozen=True)
class PruneResult:
    """What a prune did: the models removed, those kept only because stored results refer to
    them, and the orphan artifact files removed (paths relative to the workspace)."""

    keep: int
    dry_run: bool
    removed: tuple[PrunedModel, ...]
    kept_referenced: tuple[str, ...]
    orphans: tuple[str, ...]
    orphan_bytes: int
    orphan_histories: tuple[str, ...] = ()
    """History folders under ``artifacts/history`` no model's artifact names (removed)."""

    @property
    def freed_bytes(self) -> int:
        """Bytes of artifact files and history datasets removed (or that a dry run would
        remove)."""
        return (sum(m.bytes + m.history_bytes for m in self.removed) + self.orphan_bytes)


def referenced_versions(con: Connection, versions: list[str]) -> set[str]:
    """The versions among ``versions`` that stored results name: a risk assessment (fraud
    model, anomaly detector or any scorer in its ``scorers`` JSON), a selection or a lodgement
    answer (its assessment JSON)."""
    found: set[str] = set()
    for version in versions:
        pattern = f'%"{version}"%'
        row = con.execute(
            "SELECT EXISTS (SELECT 1 FROM risk_assessments WHERE model_version = ? "
            "OR anomaly_version = ? OR scorers LIKE ?) "
            "OR EXISTS (SELECT 1 FROM selections WHERE model_version = ?) "
            "OR EXISTS (SELECT 1 FROM lodgements WHERE assessment LIKE ?)",
            [version, version, pattern, version, pattern]).fetchone()
        if row is not None and row[0]:
            found.add(version)
    return found


def _rollback_targets(con: Connection) -> set[str]:
    """For each kind, the version its promoted model replaced (a rollback promotes it again)."""
    rows = con.execute(
        "SELECT p.previous_version FROM model_promotions p JOIN models m "
        "ON m.version = p.version AND m.status = 'promoted' "
        "WHERE p.action = 'promote' AND p.previous_version IS NOT NULL").fetchall()
    return {str(r[0]) for r in rows}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _folder_size(folder: Path) -> int:
    return sum(_size(p) for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def _history_of(workspace: Workspace, record: registry.ModelRecord) -> Path:
    """The history folder a model's artifact names (else the conventional one), resolved."""
    named = referenced_history(registry.artifact_file(workspace, record))
    return named or registry.history_dir(workspace, record.version).resolve()


def _orphan_histories(workspace: Workspace, known: set[Path], now: float) -> list[Path]:
    folder = workspace.artifacts_dir / "history"
    if not folder.is_dir():
        return []
    return [path for path in sorted(folder.iterdir())
            if path.is_dir() and not path.name.startswith(".")
            and path.resolve() not in known and now - path.stat().st_mtime > ORPHAN_AGE]


def _orphans(workspace: Workspace, known: set[str], now: float) -> list[Path]:
    folder = workspace.artifacts_dir / "models"
    if not folder.is_dir():
        return []
    root = workspace.path.resolve()
    out = []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        relative = path.resolve().relative_to(root).as_posix()
        if relative not in known and now - path.stat().st_mtime > ORPHAN_AGE:
            out.append(path)
    return out


def prune_models(workspace: Workspace, *, keep: int, include_assessed: bool = False,
                 dry_run: bool = False) -> PruneResult:
    """Remove the models of every kind beyond the promoted one, its rollback target and the
    ``keep`` newest; see the module doc. ``dry_run`` changes nothing and reports the same."""
    if keep < 1:
        raise ValidationError(f"keep must be at least 1 (the newest model of each kind is "
                              f"used when none is promoted); got {keep}")
    removed: list[PrunedModel] = []
    kept_referenced: list[str] = []
    with workspace.transaction() as con:
        protected = _rollback_targets(con)
        rows = con.sql("SELECT * FROM models ORDER BY created_at DESC").pl().to_dicts()
        models = [registry.record_from_row(r) for r in rows]
        candidates: list[registry.ModelRecord] = []
        for kind in sorted({m.kind for m in models}):
            newest_first = [m for m in models if m.kind == kind]
            for rank, model in enumerate(newest_first):
                if rank < keep or model.status == "promoted" or model.version in protected:
                    continue
                candidates.append(model)
        referenced = referenced_versions(con, [m.version for m in candidates])
        going = {m.version for m in candidates
                 if include_assessed or m.version not in referenced}
        kept_histories = {_history_of(workspace, m) for m in models if m.version not in going}
        root = workspace.path.resolve()
        claimed: set[Path] = set()  # a folder two removed models share is counted once
        for model in candidates:
            if model.version in referenced and not include_assessed:
                kept_referenced.append(model.version)
                continue
            history = _history_of(workspace, model)
            own = (history not in kept_histories and history not in claimed
                   and history.is_dir()
                   and history.is_relative_to(workspace.artifacts_dir.resolve()))
            if own:
                claimed.add(history)
            removed.append(PrunedModel(
                version=model.version, kind=model.kind, status=model.status,
                created_at=model.created_at, artifact_path=model.artifact_path,
                bytes=_size(registry.artifact_file(workspace, model)),
                referenced=model.version in referenced,
                history_path=history.relative_to(root).as_posix() if own else None,
                history_bytes=_folder_size(history) if own else 0))
        now = time.time()
        orphans = _orphans(workspace, {m.artifact_path for m in models}, now)
        orphan_histories = _orphan_histories(
            workspace, kept_histories | {_history_of(workspace, m) for m in models}, now)
        if removed and not dry_run:
            con.executemany("DELETE FROM models WHERE version = ?",
                            [[m.version] for m in removed])
            audit.record(con, action="model.prune", object_type="model",
                         object_id=",".join(m.version for m in removed)[:200],
                         change={"keep": keep, "include_assessed": include_assessed,
                                 "removed": [m.version for m in removed],
                                 "referenced": [m.version for m in removed if m.referenced],
                                 "bytes": sum(m.bytes for m in removed)})
    orphan_names = tuple(p.resolve().relative_to(root).as_posix() for p in orphans)
    orphan_bytes = sum(_size(p) for p in orphans) + sum(_folder_size(p) for p in orphan_histories)
    if not dry_run:
        # after the commit: a crash here leaves orphan files, which the next prune removes
        for m in removed:
            path = workspace.path / m.artifact_path
            if path.resolve().is_relative_to(workspace.artifacts_dir.resolve()):
                path.unlink(missing_ok=True)
        for m in removed:  # the artifact first: never an artifact without its history
            if m.history_path is not None:
                shutil.rmtree(workspace.path / m.history_path, ignore_errors=True)
        for path in orphans:
            path.unlink(missing_ok=True)
        for path in orphan_histories:
            shutil.rmtree(path, ignore_errors=True)
    return PruneResult(keep=keep, dry_run=dry_run, removed=tuple(removed),
                       kept_referenced=tuple(kept_referenced), orphans=orphan_names,
                       orphan_bytes=orphan_bytes,
                       orphan_histories=tuple(p.resolve().relative_to(root).as_posix()
                                              for p in orphan_histories))
