"""Audit service: record state changes, verify a workspace's chain, checkpoint its head.

``record`` appends inside the caller's transaction, so an entry exists iff its change committed.
Settings (the key path, the checkpoint folder) are read at call time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clearlane.audit import (
    AuditEntry,
    ChainBreak,
    Checkpoint,
    append,
    load_checkpoint,
    load_or_create_key,
    read_entries,
    sign_checkpoint,
    verify,
    verify_against_checkpoint,
    write_checkpoint,
)
from clearlane.audit.log import acting_as, current_actor, os_user, search_entries
from clearlane.errors import AuditChainError
from clearlane.settings import Settings
from clearlane.store.connection import Connection
from clearlane.store.workspace import Workspace

__all__ = ["AuditVerification", "acting_as", "checkpoint", "checkpoint_path", "current_actor",
           "log", "os_user", "public_settings", "record", "record_event", "search", "sign_head",
           "verify_workspace"]


def record(con: Connection, *, actor: str | None = None, action: str,
           object_type: str, object_id: str, change: Any) -> None:
    """Append one audit entry in ``con``'s transaction (actor: see ``current_actor``)."""
    append(con, actor=actor, action=action, object_type=object_type, object_id=object_id,
           change=change)


def record_event(workspace: Workspace, *, action: str, object_type: str, object_id: str,
                 change: Any) -> None:
    """Append one entry in a transaction of its own (an event that changes nothing else)."""
    with workspace.transaction() as con:
        record(con, action=action, object_type=object_type, object_id=object_id, change=change)


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings a process runs with, for the audit trail: secrets left out."""
    return settings.model_dump(mode="json", exclude={"secret_key", "webhook_secret"})


@dataclass(frozen=True)
class AuditVerification:
    entries: int
    head: AuditEntry | None
    checkpoint: Checkpoint | None
    checkpoint_file: Path
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def checkpoint_path(workspace: Workspace, settings: Settings | None = None) -> Path:
    """Where the workspace's checkpoint lives: the configured folder, else beside the workspace."""
    name = f"{workspace.path.resolve().name}.audit-checkpoint.json"
    folder = (settings or Settings()).audit_checkpoint_dir
    return (folder.expanduser() if folder is not None
            else workspace.path.resolve().parent) / name


def _key_path(settings: Settings | None) -> Path:
    return (settings or Settings()).audit_key.expanduser()


def log(workspace: Workspace, limit: int | None = None) -> list[AuditEntry]:
    with workspace.connect(read_only=True) as con:
        return read_entries(con, limit)


def search(workspace: Workspace, *, actor: str | None = None, action: str | None = None,
           object_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """Entries matching the filters, newest first (see :func:`clearlane.audit.log.search_entries`)."""
    with workspace.connect(read_only=True) as con:
        return search_entries(con, actor=actor, action=action, object_id=object_id, limit=limit)


def verify_workspace(workspace: Workspace, settings: Settings | None = None
                     ) -> AuditVerification:
    """Recompute the chain, then check it against the signed checkpoint (when there is one)."""
    entries = log(workspace)
    path = checkpoint_path(workspace, settings)
    saved = load_checkpoint(path)
    broken = verify(entries)
    if broken is None and saved is not None:
        public = load_or_create_key(_key_path(settings)).public_key()
        broken = verify_against_checkpoint(entries, saved, public)
    return AuditVerification(len(entries), entries[-1] if entries else None, saved, path, broken)


def checkpoint(workspace: Workspace, settings: Settings | None = None) -> Checkpoint | None:
    """Verify, then sign the head into the checkpoint file; None for an empty chain.

    Raises :class:`AuditChainError` (and writes nothing) when the chain does not verify.
    """
    result = verify_workspace(workspace, settings)
    raise_if_broken(result)
    return sign_head(result, settings)


def sign_head(result: AuditVerification, settings: Settings | None = None) -> Checkpoint | None:
    """Sign the head of a chain that ``result`` verified into its checkpoint file; None for
    an empty chain."""
    raise_if_broken(result)
    if result.head is None:
        return None
    signed = sign_checkpoint(load_or_create_key(_key_path(settings)), result.head)
    write_checkpoint(result.checkpoint_file, signed)
    return signed


def raise_if_broken(result: AuditVerification) -> None:
    if result.broken is not None:
        b = result.broken
        raise AuditChainError(f"audit chain broken at entry {b.sequence} ({b.kind}): {b.detail}",
                              b.sequence, b.kind)
