"""The audit chain of a served workspace: what HTTP callers do is recorded under their name, the
server signs a checkpoint at shutdown, and tampering is named by ``GET /api/v1/audit/verify`` and
by ``clearlane audit verify`` alike.

How the tampering is done: the server holds the workspace (DuckDB lets one process open the
file), so an attacker with the database file works while it is stopped. Each tamper test runs a
server, makes a history over HTTP, stops it (which signs the checkpoint), rewrites the file with
a connection of its own, then asks the real CLI (a subprocess) and a server started again on
the same workspace. One test also edits through this process's connection to the held
database while the server runs, to show that the live endpoint needs no restart to see it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.api.conftest import PASSWORD
from tests.api.guard_fixtures import (
    audit_environment,
    database,
    entries,
    new_workspace,
    running,
)

from clearlane.accounts.keys import split_token
from clearlane.api.security import CSRF_HEADER
from clearlane.audit import AuditEntry, load_checkpoint, new_entry
from clearlane.audit.log import COLUMNS, os_user
from clearlane.services import audit
from clearlane.store.connection import Connection
from clearlane.store.workspace import Workspace

SRC = Path(__file__).resolve().parents[2] / "src"
VERIFY = "/api/v1/audit/verify"


@dataclass
class History:
    """A workspace whose chain was written over HTTP by a server that has since stopped."""

    workspace: Workspace
    tokens: dict[str, str]
    folder: Path


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with audit_environment(tmp_path):
        workspace, tokens = new_workspace(tmp_path)
        checkpoint_file = audit.checkpoint_path(workspace)
        with running(workspace, tokens) as server:
            with server.client() as http:
                assert http.post("/api/v1/auth/login",
                                 json={"name": "analyst", "password": "a wrong password"}
                                 ).status_code == 401
                login = http.post("/api/v1/auth/login",
                                  json={"name": "admin", "password": PASSWORD})
                assert login.status_code == 200
                csrf = {CSRF_HEADER: login.json()["csrf_token"]}
                assert http.post("/api/v1/users", headers=csrf, json={
                    "name": "frank", "role": "officer", "offices": ["ABJ01"],
                    "password": "frank's long password"}).status_code == 201
            with server.client("admin") as admin:
                key = admin.post("/api/v1/keys", json={"name": "asycuda", "role": "system"})
                assert key.status_code == 201
                prefix = key.json()["prefix"]
                admin.post(f"/api/v1/keys/{prefix}:revoke").raise_for_status()
                admin.put("/api/v1/users/frank/password",
                          json={"password": "frank's newer password"}).raise_for_status()
                admin.post("/api/v1/users/frank:deactivate").raise_for_status()
            # the periodic checkpoint (every 300 s by default) has not run yet
            assert not checkpoint_file.exists()
        yield History(workspace, tokens, tmp_path)


def clearlane(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearlane.cli.main", *args], capture_output=True, text=True,
        timeout=300, env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"})


def test_http_actions_are_audited_under_the_callers_name(history: History) -> None:
    chain = entries(history.workspace)
    by_server = [(e.actor, e.action, e.object_id) for e in chain if e.actor != os_user()]
    key_prefix = next(e.object_id for e in chain if e.action == "key.create"
                      and json.loads(e.change)["name"] == "asycuda")
    admin_key = f"key:admin-key/{split_token(history.tokens['admin'])[0]}"
    assert by_server == [
        ("user:analyst", "login.failure", "analyst"),
        ("user:admin", "login.success", "admin"),
        ("user:admin", "user.add", "frank"),
        (admin_key, "key.create", key_prefix),
        (admin_key, "key.revoke", key_prefix),
        (admin_key, "user.password", "frank"),
        (admin_key, "user.deactivate", "frank"),
    ]
    # what the caller is not told is in the record; no secret is
    failure = next(e for e in chain if e.action == "login.failure")
    assert json.loads(failure.change)["reason"] == "wrong password"
    everything = " ".join(e.change for e in chain)
    assert "password" not in {k for e in chain for k in json.loads(e.change)}
    assert PASSWORD not in everything and "frank's" not in everything
    assert all(token.split(".")[1] not in everything for token in history.tokens.values())


def test_the_server_signs_a_checkpoint_of_the_head_at_shutdown(history: History) -> None:
    chain = entries(history.workspace)
    saved = load_checkpoint(audit.checkpoint_path(history.workspace))
    assert saved is not None
    assert (saved.sequence, saved.hash) == (chain[-1].sequence, chain[-1].hash)
    with audit_environment(history.folder):
        result = audit.verify_workspace(history.workspace)
    assert result.ok and result.checkpoint == saved


def test_the_server_checkpoints_periodically_while_it_runs(tmp_path: Path) -> None:
    with audit_environment(tmp_path):
        workspace, tokens = new_workspace(tmp_path)
        path = audit.checkpoint_path(workspace)
        with running(workspace, tokens, audit_checkpoint_seconds=1) as server:
            with server.client("admin") as admin:
                admin.post("/api/v1/keys", json={"name": "k", "role": "system"}
                           ).raise_for_status()
            head = entries(workspace)[-1]
            deadline = time.monotonic() + 20
            while (saved := load_checkpoint(path)) is None or saved.sequence != head.sequence:
                assert time.monotonic() < deadline, "no checkpoint of the head within 20 s"
                time.sleep(0.2)
    assert saved.hash == head.hash


# -- tampering --------------------------------------------------------------------------------
def _rows(con: Connection) -> list[AuditEntry]:
    from clearlane.audit import read_entries

    return read_entries(con)


def _overwrite(con: Connection, at: int, entry: AuditEntry) -> None:
    """Store ``entry``'s fields in the row that holds sequence ``at`` (its place is kept)."""
    assignments = ", ".join(f"{c} = ?" for c in COLUMNS)
    con.execute(f"UPDATE audit_log SET {assignments} WHERE sequence = ?",
                [*(getattr(entry, c) for c in COLUMNS), at])


def edit(con: Connection, target: int) -> tuple[int, str]:
    con.execute("UPDATE audit_log SET actor = 'user:nobody' WHERE sequence = ?", [target])
    return target, "edited"


def edit_change(con: Connection, target: int) -> tuple[int, str]:
    con.execute("""UPDATE audit_log SET change = '{"succeeded":true}' WHERE sequence = ?""",
                [target])
    return target, "edited"


def delete(con: Connection, target: int) -> tuple[int, str]:
    con.execute("DELETE FROM audit_log WHERE sequence = ?", [target])
    return target + 1, "deleted"


def reorder(con: Connection, target: int) -> tuple[int, str]:
    chain = {e.sequence: e for e in _rows(con)}
    first, second = chain[target], chain[target + 1]
    con.execute("UPDATE audit_log SET sequence = -1 WHERE sequence = ?", [target])
    _overwrite(con, target + 1, first)
    con.execute(f"UPDATE audit_log SET {', '.join(f'{c} = ?' for c in COLUMNS)} "
                "WHERE sequence = -1", [getattr(second, c) for c in COLUMNS])
    return target + 1, "reordered"  # entry target+1 stands where entry target belongs


def truncate(con: Connection, target: int) -> tuple[int, str]:
    con.execute("DELETE FROM audit_log WHERE sequence >= ?", [target])
    return target, "truncated"


def recompute(con: Connection, target: int) -> tuple[int, str]:
    """Hide who failed a login and recompute every hash from there on, consistently: the chain
    alone verifies, but without the audit key the head no longer matches the checkpoint."""
    chain = _rows(con)
    previous: AuditEntry | None = None
    for entry in chain:
        if entry.sequence >= target:
            actor = "user:nobody" if entry.sequence == target else entry.actor
            rebuilt = new_entry(previous, actor=actor, action=entry.action,
                                object_type=entry.object_type, object_id=entry.object_id,
                                change=json.loads(entry.change), recorded_at=entry.recorded_at)
            assert rebuilt.change == entry.change
            _overwrite(con, entry.sequence, rebuilt)
            entry = rebuilt
        previous = entry
    assert audit.verify(_rows(con)) is None  # a consistent chain
    return chain[-1].sequence, "rewritten"


TAMPERS: dict[str, Callable[[Connection, int], tuple[int, str]]] = {
    "edit a field": edit, "edit a change": edit_change, "delete": delete, "reorder": reorder,
    "truncate": truncate, "recompute": recompute}


PHYSICAL_ORDER = pytest.mark.duckdb_only(
    reason="rows swapped in place: only DuckDB's file keeps a physical order to read; "
    "PostgreSQL reads the chain by sequence, where a swap of whole rows changes nothing")


@pytest.mark.parametrize("tamper", [
    pytest.param(name, marks=PHYSICAL_ORDER) if name == "reorder" else name for name in TAMPERS])
def test_tampering_is_named_by_the_api_and_the_cli(history: History, tamper: str) -> None:
    workspace = history.workspace
    chain = entries(workspace)
    target = next(e.sequence for e in chain if e.action == "login.failure")
    assert 1 < target < chain[-1].sequence - 1
    with database(workspace) as con:
        sequence, kind = TAMPERS[tamper](con, target)
    checkpoint_file = audit.checkpoint_path(workspace)
    signed = checkpoint_file.read_text()

    with audit_environment(history.folder):
        cli = clearlane("audit", "verify", "-w", str(workspace.path))
        assert cli.returncode == 8, cli.stdout + cli.stderr
        assert f"audit chain broken at entry {sequence} ({kind})" in " ".join(cli.stderr.split())
        assert "Traceback" not in cli.stderr

        with running(workspace, history.tokens) as server, server.client("auditor") as http:
            response = http.get(VERIFY)
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is False
        assert (body["broken"]["sequence"], body["broken"]["kind"]) == (sequence, kind)
        assert body["checkpoint_sequence"] == chain[-1].sequence
    # neither the refused CLI nor the server's shutdown signed the broken chain
    assert checkpoint_file.read_text() == signed


def test_a_checkpoint_signed_with_another_key_is_named(history: History) -> None:
    """The attacker recomputes the chain and signs its new head with a key of their own."""
    workspace = history.workspace
    with database(workspace) as con:
        recompute(con, 2)
        head = _rows(con)[-1]
    with audit_environment(history.folder / "attacker"):
        from clearlane.audit import load_or_create_key, sign_checkpoint, write_checkpoint

        forged = sign_checkpoint(load_or_create_key(history.folder / "attacker" / "k.pem"), head)
    write_checkpoint(audit.checkpoint_path(workspace), forged)
    with audit_environment(history.folder), running(workspace, history.tokens) as server, \
            server.client("admin") as http:
        body = http.get(VERIFY).json()
    assert (body["ok"], body["broken"]["kind"]) == (False, "signature")


def test_an_intact_chain_verifies_over_http_and_an_edit_while_served_is_seen(
        history: History) -> None:
    with audit_environment(history.folder), \
            running(history.workspace, history.tokens) as server, \
            server.client("auditor") as http:
        intact = http.get(VERIFY).json()
        chain = entries(history.workspace)
        # the head is this server's start; the checkpoint, the last server's shutdown
        assert chain[-1].action == "server.start"
        assert intact == {"ok": True, "entries": len(chain),
                          "head_sequence": chain[-1].sequence, "head_hash": chain[-1].hash,
                          "checkpoint_sequence": chain[-2].sequence, "broken": None}
        listed = http.get("/api/v1/audit/log", params={"limit": 3}).json()
        assert [e["sequence"] for e in listed] == [e.sequence for e in chain[-3:]]
        with database(history.workspace) as con:  # this process shares the held database
            edit(con, 3)
        broken = http.get(VERIFY).json()
    assert (broken["ok"], broken["broken"]["sequence"], broken["broken"]["kind"]) == (
        False, 3, "edited")


@PHYSICAL_ORDER
def test_reordered_rows_keep_their_place_when_read(history: History) -> None:
    """The reorder above is a real reorder: the stored order, not the sequence, is read."""
    with database(history.workspace) as con:
        reorder(con, 3)
        order = [e.sequence for e in _rows(con)]
    assert order[2:4] == [4, 3]
