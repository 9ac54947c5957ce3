"""The hash chain: entries, their canonical hash, and verification that names the first break.

Each entry's ``hash`` is SHA-256 over the canonical JSON (sorted keys, no whitespace, UTF-8) of
its fields other than ``hash`` and ``change`` — sequence, recorded_at, actor, action,
object_type, object_id, change_digest and previous_hash — so it covers the hash of the entry
before it. ``change_digest`` is SHA-256 over the canonical JSON of the change itself.

>>> first = new_entry(None, actor="ana", action="ingest.batch", object_type="batch",
...                   object_id="b1", change={"rows": 3}, recorded_at="2026-01-01T00:00:00Z")
>>> second = new_entry(first, actor="ana", action="assess.run", object_type="model",
...                    object_id="m1", change={"rows": 3}, recorded_at="2026-01-01T00:00:01Z")
>>> verify([first, second]) is None
True
>>> import dataclasses
>>> verify([dataclasses.replace(first, actor="eve"), second])
ChainBreak(sequence=1, kind='edited', detail='its hash does not match its content')
>>> verify([second]).kind
'deleted'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

GENESIS_HASH = "0" * 64
"""The ``previous_hash`` of the first entry."""

BreakKind = Literal["edited", "deleted", "reordered", "truncated", "rewritten", "signature"]


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8; dataclasses as their fields, values JSON cannot hold (dates, paths) as text.

    >>> canonical_json({"b": 1, "a": "é"})
    b'{"a":"\\xc3\\xa9","b":1}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    ).encode("utf-8")


def _plain(value: Any) -> Any:
    """A dataclass as its fields, anything else JSON cannot hold as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def change_digest(change: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``change``."""
    return hashlib.sha256(canonical_json(change)).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    sequence: int
    recorded_at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    change: str
    """The change as canonical JSON text (kept so a reader sees what changed)."""
    change_digest: str
    previous_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "recorded_at": self.recorded_at,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "change_digest": self.change_digest,
            "previous_hash": self.previous_hash,
        }


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 (hex) over the canonical JSON of the entry's hashed fields."""
    return hashlib.sha256(canonical_json(entry.hashed_fields())).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_entry(previous: AuditEntry | None, *, actor: str, action: str, object_type: str,
              object_id: str, change: Any, recorded_at: str | None = None) -> AuditEntry:
    """The entry that follows ``previous`` (None: the first entry of a chain)."""
    text = canonical_json(change).decode("utf-8")
    draft = AuditEntry(
        sequence=1 if previous is None else previous.sequence + 1,
        recorded_at=recorded_at or utc_now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        change=text,
        change_digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        previous_hash=GENESIS_HASH if previous is None else previous.hash,
        hash="",
    )
    return AuditEntry(**{**draft.__dict__, "hash": entry_hash(draft)})


@dataclass(frozen=True)
class ChainBreak:
    """The first broken entry: its sequence number (as stored, or the missing one), the kind of
    break and a sentence for people."""

    sequence: int
    kind: BreakKind
    detail: str


def verify(entries: list[AuditEntry]) -> ChainBreak | None:
    """Recompute the chain in the order given; None when intact, else the first break.

    Per entry, in order: a sequence that is not the one expected (a later one missing before
    it: ``deleted``; an expected one that comes later, or a repeat: ``reordered``), then its
    content against its ``change_digest`` and ``hash`` (``edited``), then its link to the entry
    before it (``edited``: that entry was rewritten with a recomputed hash).
    """
    previous: AuditEntry | None = None
    for position, entry in enumerate(entries):
        expected = 1 if previous is None else previous.sequence + 1
        if entry.sequence != expected:
            rest = {e.sequence for e in entries[position:]}
            if expected in rest or entry.sequence < expected:
                return ChainBreak(entry.sequence, "reordered",
                                  f"entry {entry.sequence} stands where entry {expected} "
                                  "belongs")
            missing = (f"entry {expected}" if entry.sequence == expected + 1
                       else f"entries {expected}-{entry.sequence - 1}")
            return ChainBreak(entry.sequence, "deleted", f"{missing} before it are missing")
        if hashlib.sha256(entry.change.encode("utf-8")).hexdigest() != entry.change_digest:
            return ChainBreak(entry.sequence, "edited", "its change does not match its digest")
        if entry_hash(entry) != entry.hash:
            return ChainBreak(entry.sequence, "edited", "its hash does not match its content")
        link = GENESIS_HASH if previous is None else previous.hash
        if entry.previous_hash != link:
            return ChainBreak(entry.sequence, "edited",
                              "its previous_hash does not match the entry before it "
                              "(that entry was rewritten)")
        previous = entry
    return None
