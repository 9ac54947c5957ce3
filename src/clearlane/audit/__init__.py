"""Tamper-evident audit log: a hash chain of entries and Ed25519-signed checkpoints of its head.

Domain code: no CLI, web or settings imports. See docs/security.md ("Audit chain").
"""

from __future__ import annotations

from clearlane.audit.chain import (
    GENESIS_HASH,
    AuditEntry,
    ChainBreak,
    canonical_json,
    change_digest,
    entry_hash,
    new_entry,
    verify,
)
from clearlane.audit.checkpoint import (
    Checkpoint,
    load_checkpoint,
    load_or_create_key,
    sign_checkpoint,
    verify_against_checkpoint,
    write_checkpoint,
)
from clearlane.audit.log import acting_as, append, current_actor, os_user, read_entries

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "ChainBreak",
    "Checkpoint",
    "acting_as",
    "append",
    "canonical_json",
    "change_digest",
    "current_actor",
    "entry_hash",
    "load_checkpoint",
    "load_or_create_key",
    "new_entry",
    "os_user",
    "read_entries",
    "sign_checkpoint",
    "verify",
    "verify_against_checkpoint",
    "write_checkpoint",
]
