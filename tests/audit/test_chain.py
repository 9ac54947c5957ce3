"""The hash chain names the first broken entry for an edit, a deletion, a reorder and a
truncation; a chain recomputed without the key fails against the signed checkpoint."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.audit import (
    AuditEntry,
    load_checkpoint,
    load_or_create_key,
    new_entry,
    sign_checkpoint,
    verify,
    verify_against_checkpoint,
    write_checkpoint,
)


def chain(n: int, actor: str = "ana") -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for i in range(n):
        entries.append(new_entry(entries[-1] if entries else None, actor=actor,
                                 action="ingest.batch", object_type="batch",
                                 object_id=f"b{i}", change={"rows": i, "file": "é.csv"}))
    return entries


FIELDS = [f.name for f in dataclasses.fields(AuditEntry)]


def _edited(value: object) -> object:
    if isinstance(value, int):
        return value + 1
    text = str(value)
    return text[:-1] + ("x" if not text.endswith("x") else "y") if text else "x"


def test_an_intact_chain_verifies() -> None:
    assert verify(chain(5)) is None
    assert verify([]) is None


@given(n=st.integers(1, 8), data=st.data())
def test_any_edit_of_any_field_breaks_the_chain_at_that_entry(n: int, data: st.DataObject) -> None:
    entries = chain(n)
    i = data.draw(st.integers(0, n - 1))
    field = data.draw(st.sampled_from(FIELDS))
    tampered = list(entries)
    tampered[i] = dataclasses.replace(entries[i], **{field: _edited(getattr(entries[i], field))})
    broken = verify(tampered)
    assert broken is not None
    assert broken.sequence == entries[i].sequence or (field == "sequence" and broken.kind in
                                                      ("deleted", "reordered"))
    if field != "sequence":
        assert broken.kind == "edited"


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    entries = chain(4)
    forged = new_entry(entries[0], actor="eve", action="ingest.batch", object_type="batch",
                       object_id="b1", change={"rows": 1})
    broken = verify([entries[0], forged, entries[2], entries[3]])
    assert broken is not None and (broken.sequence, broken.kind) == (3, "edited")


@pytest.mark.parametrize("gone", [0, 2, 4])
def test_a_deletion_is_named(gone: int) -> None:
    entries = chain(6)
    del entries[gone]
    broken = verify(entries)
    assert broken is not None and broken.kind == "deleted"
    assert broken.sequence == gone + 2  # the entry after the gap


def test_a_reorder_is_named() -> None:
    entries = chain(5)
    entries[1], entries[3] = entries[3], entries[1]
    broken = verify(entries)
    assert broken is not None and (broken.sequence, broken.kind) == (4, "reordered")


def test_truncation_is_named_against_the_checkpoint(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    entries = chain(5)
    signed = sign_checkpoint(key, entries[-1])
    assert verify_against_checkpoint(entries, signed, key.public_key()) is None
    short = entries[:3]
    assert verify(short) is None  # the chain alone cannot tell
    broken = verify_against_checkpoint(short, signed, key.public_key())
    assert broken is not None and (broken.sequence, broken.kind) == (4, "truncated")


def test_a_chain_recomputed_without_the_key_fails_against_the_checkpoint(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    entries = chain(4)
    signed = sign_checkpoint(key, entries[-1])
    forged = chain(4, actor="eve")  # every hash recomputed end to end
    assert verify(forged) is None
    broken = verify_against_checkpoint(forged, signed, key.public_key())
    assert broken is not None and (broken.sequence, broken.kind) == (4, "rewritten")
    # and a checkpoint re-signed with another key does not verify with the audit key
    other = load_or_create_key(tmp_path / "other.pem")
    resigned = sign_checkpoint(other, forged[-1])
    broken = verify_against_checkpoint(forged, resigned, key.public_key())
    assert broken is not None and broken.kind == "signature"


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "audit.pem"
    key = load_or_create_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_or_create_key(path)
    assert key.public_key().public_bytes_raw() == again.public_key().public_bytes_raw()


def test_checkpoint_file_round_trips(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k.pem")
    signed = sign_checkpoint(key, chain(2)[-1])
    write_checkpoint(tmp_path / "cp.json", signed)
    assert load_checkpoint(tmp_path / "cp.json") == signed
    assert load_checkpoint(tmp_path / "none.json") is None
