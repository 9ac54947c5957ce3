"""Checkpoints: the chain's head (sequence, hash) signed with Ed25519, kept outside the database.

Someone able to rewrite the database can recompute every hash of the chain; without the private
key they cannot sign a new head, so a rewritten chain no longer contains the checkpointed head
(or its signature fails).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clearlane.audit.chain import AuditEntry, ChainBreak, canonical_json, utc_now
from clearlane.errors import ValidationError


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    hash: str
    signed_at: str
    signature: str
    """Base64 Ed25519 signature over the canonical JSON of {sequence, hash, signed_at}."""

    def message(self) -> bytes:
        return canonical_json(
            {"sequence": self.sequence, "hash": self.hash, "signed_at": self.signed_at}
        )


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The private key at ``path`` (PEM, PKCS#8); generated there, mode 0600, when absent."""
    path = path.expanduser()
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValidationError(f"{str(path)!r} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def sign_checkpoint(key: Ed25519PrivateKey, head: AuditEntry,
                    signed_at: str | None = None) -> Checkpoint:
    unsigned = Checkpoint(head.sequence, head.hash, signed_at or utc_now(), "")
    signature = base64.b64encode(key.sign(unsigned.message())).decode("ascii")
    return Checkpoint(unsigned.sequence, unsigned.hash, unsigned.signed_at, signature)


def write_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write atomically (a temporary file beside it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(checkpoint.__dict__, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def load_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint at ``path``, or None when there is none yet."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Checkpoint(int(data["sequence"]), str(data["hash"]), str(data["signed_at"]),
                          str(data["signature"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"audit checkpoint {str(path)!r} cannot be read: {exc}") from exc


def verify_against_checkpoint(entries: list[AuditEntry], checkpoint: Checkpoint,
                              public_key: Ed25519PublicKey) -> ChainBreak | None:
    """None when ``checkpoint`` is signed by ``public_key`` and ``entries`` still hold its head.

    ``truncated``: the chain ends before the checkpointed sequence; ``rewritten``: the entry at
    that sequence has another hash (the chain was recomputed); ``signature``: the checkpoint
    was not signed by this key.
    """
    try:
        public_key.verify(base64.b64decode(checkpoint.signature), checkpoint.message())
    except (InvalidSignature, ValueError):
        return ChainBreak(checkpoint.sequence, "signature",
                          "the checkpoint's signature does not verify with the audit key")
    head = next((e for e in entries if e.sequence == checkpoint.sequence), None)
    if head is None:
        last = max((e.sequence for e in entries), default=0)
        return ChainBreak(last + 1, "truncated",
                          f"the chain ends at entry {last}; the checkpoint of "
                          f"{checkpoint.signed_at} holds entry {checkpoint.sequence}")
    if head.hash != checkpoint.hash:
        return ChainBreak(head.sequence, "rewritten",
                          "its hash differs from the signed checkpoint of "
                          f"{checkpoint.signed_at}: the chain was recomputed")
    return None
