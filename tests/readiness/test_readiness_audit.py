"""Every saved readiness or impact answer is one audit entry, committed with the file."""

from __future__ import annotations

import pytest

from clearlane.errors import StorageError
from clearlane.services import readiness
from clearlane.services.audit import log, verify_workspace
from clearlane.store.workspace import Workspace


def test_start_answer_and_impact_are_audited(workspace: Workspace) -> None:
    started = readiness.start_assessment(workspace, "Customs of Testland")
    question = readiness.next_question(started)
    assert question is not None
    readiness.record_answer(workspace, started.id, question.id, 2, "a data team of three")
    impact = readiness.start_impact(workspace, "price checks at lodgement")
    actions = [(e.action, e.object_id) for e in log(workspace)]
    assert actions == [("readiness.start", started.id), ("readiness.answer", started.id),
                       ("impact.start", impact.id)]
    assert "a data team of three" in log(workspace)[1].change
    assert verify_workspace(workspace).ok


def test_an_answer_that_cannot_be_written_leaves_no_entry(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    started = readiness.start_assessment(workspace, "Customs of Testland")
    question = readiness.next_question(started)
    assert question is not None

    def full_disk(path: object, data: object) -> None:
        raise StorageError("the disk is full")

    monkeypatch.setattr(readiness, "_write_atomic", full_disk)
    with pytest.raises(StorageError):
        readiness.record_answer(workspace, started.id, question.id, 1)
    assert [e.action for e in log(workspace)] == ["readiness.start"]
