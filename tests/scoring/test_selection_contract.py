"""`select` uses the checks as ScoreFrames: their verdicts reach each item's RiskAssessment with
their versions, an absent check is reported unavailable, a corrupt one is an error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clearlane.errors import ClearlaneError
from clearlane.services.hs import model_path
from clearlane.services.risk import assess_declarations
from clearlane.services.selection import select_for_inspection
from clearlane.store.workspace import Workspace


def test_selection_assessments_carry_lanes_and_check_verdicts(
        workspace_copy: Callable[[], Workspace]) -> None:
    ws = workspace_copy()
    assess_declarations(ws)
    run = select_for_inspection(ws, seed=1)
    assessments = run.assessments()
    assert len(assessments) == run.result.lanes.height
    assert {a.lane for a in assessments} >= {"red", "green"}
    assert all(a.basis is not None and a.model_version == run.model_version
               for a in assessments)
    names = {s.name for a in assessments for s in a.scorers}
    assert names == {"hs_check", "price_check"}
    price = [a.scorer("price_check") for a in assessments]
    assert all(v is not None and v.version and v.status in ("ok", "not_scored") for v in price)
    flagged = [v for v in price if v is not None and v.reasons]
    assert flagged and all(r.evidence for v in flagged for r in v.reasons)


def test_absent_checks_are_reported_unavailable(
        workspace_copy: Callable[[], Workspace]) -> None:
    ws = workspace_copy()
    assess_declarations(ws)
    model_path(ws).unlink()
    run = select_for_inspection(ws, seed=1)
    assert any(n.startswith("HS check unavailable: no HS classifier") for n in run.notes)
    verdict = run.assessments()[0].scorer("hs_check")
    assert verdict is not None and verdict.status == "unavailable" and verdict.message


def test_a_corrupt_hs_classifier_stops_the_selection(
        workspace_copy: Callable[[], Workspace]) -> None:
    ws = workspace_copy()
    assess_declarations(ws)
    model_path(ws).write_bytes(b"junk" * 100)
    # the message names the classifier (a clean ClearlaneError, whatever the file format)
    with pytest.raises(ClearlaneError, match=r"(?i)hs.classifier"):
        select_for_inspection(ws, seed=1)
