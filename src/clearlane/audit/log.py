"""The ``audit_log`` table: append inside the caller's transaction, read in stored order."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from clearlane.audit.chain import AuditEntry, new_entry
from clearlane.store.connection import Connection, stored_order

COLUMNS = ("sequence", "recorded_at", "actor", "action", "object_type", "object_id", "change",
           "change_digest", "previous_hash", "hash")


_ACTOR: ContextVar[str | None] = ContextVar("clearlane_audit_actor", default=None)


def os_user() -> str:
    """The OS login name, else ``uid:N`` (containers without a passwd entry)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def current_actor() -> str:
    """The actor set by :func:`acting_as` (a server sets its user or key), else the OS user."""
    return _ACTOR.get() or os_user()


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Entries appended inside the block name ``actor``."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    sequence, *text = row
    return AuditEntry(int(sequence), *(str(v) for v in text))


def _head(con: Connection) -> AuditEntry | None:
    """The entry with the highest sequence, as :func:`new_entry` reads it: its ``sequence``
    and ``hash`` (the chain's link); its other fields are left empty. One aggregate, about a
    third of the time of reading the whole row with ``ORDER BY sequence DESC LIMIT 1``."""
    sequence, head_hash = con.execute(
        "SELECT max(sequence), arg_max(hash, sequence) FROM audit_log").fetchone() or (None, None)
    if sequence is None:
        return None
    return AuditEntry(int(sequence), "", "", "", "", "", "", "", "", str(head_hash))


def append(con: Connection, *, actor: str | None = None, action: str, object_type: str,
           object_id: str, change: Any) -> AuditEntry:
    """Append one entry using ``con``'s open transaction: it exists iff that transaction commits.

    The head is read inside the same transaction; DuckDB lets one process write a workspace and
    a concurrent append to the same table fails at commit, so two entries never share a
    sequence.
    """
    entry = new_entry(_head(con), actor=actor or current_actor(), action=action,
                      object_type=object_type, object_id=object_id, change=change)
    con.execute(
        f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [getattr(entry, c) for c in COLUMNS],
    )
    return entry


def read_entries(con: Connection, limit: int | None = None) -> list[AuditEntry]:
    """Every entry in the order stored (``rowid`` on DuckDB, ``sequence`` on PostgreSQL:
    see :func:`stored_order`), or the last ``limit`` of them."""
    order = stored_order(con, "sequence")
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY {order}"
    if limit is not None:
        sql = (f"SELECT * FROM (SELECT {', '.join(COLUMNS)}, {order} AS r FROM audit_log "
               f"ORDER BY {order} DESC LIMIT {int(limit)}) newest ORDER BY r")
        return [_entry(row[:-1]) for row in con.execute(sql).fetchall()]
    return [_entry(row) for row in con.execute(sql).fetchall()]


def _like(value: str) -> str:
    """``value`` with LIKE's wildcards escaped (escape character ``!``)."""
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def search_entries(con: Connection, *, actor: str | None = None,
                   action: str | None = None, object_id: str | None = None,
                   limit: int = 200) -> list[AuditEntry]:
    """The newest ``limit`` entries, newest first, whose actor contains ``actor``, whose action
    starts with ``action`` and whose object id contains ``object_id`` (case-insensitive; None
    or empty: any)."""
    where: list[str] = []
    params: list[str] = []
    for column, value, pattern in (("actor", actor, "%{}%"), ("action", action, "{}%"),
                                   ("object_id", object_id, "%{}%")):
        if value:
            where.append(f"{column} ILIKE ? ESCAPE '!'")
            params.append(pattern.format(_like(value)))
    sql = (f"SELECT {', '.join(COLUMNS)} FROM audit_log"
           + (" WHERE " + " AND ".join(where) if where else "")
           + f" ORDER BY {stored_order(con, 'sequence')} DESC LIMIT {int(limit)}")
    return [_entry(row) for row in con.execute(sql, params).fetchall()]
