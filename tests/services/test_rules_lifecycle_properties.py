"""Invariants of the rules lifecycle over any sequence of actions (Hypothesis): at most one
published version, statuses only move forward, a stored version's text never changes, no version
is ever published by the one who drafted it, and every refused action changes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.services.test_rules_lifecycle import PROFILE

from clearlane.errors import ConflictError, NotFoundError, PermissionDeniedError
from clearlane.services import audit
from clearlane.services import rules_lifecycle as lifecycle
from clearlane.store.workspace import Workspace

ORDER = {"draft": 0, "published": 1, "retired": 2}
ACTIONS = st.lists(st.tuples(
    st.sampled_from(["ready", "publish", "publish_own", "draft", "backtest", "retire"]),
    st.sampled_from([0, 0, 1, 2])), min_size=1, max_size=14)
"""(action, how far back): the action applies to the latest version drafted, or one or two
before it (or to version 0, which does not exist); ``ready`` drafts and back-tests. The analyst
ana drafts and back-tests; ``publish`` is a second analyst's, ``publish_own`` ana's own try."""


def profile(n: int) -> str:
    """Distinct rule sets: the rule V1 at version n (a new meaning each time)."""
    return PROFILE.replace("version: 1\n    title: Vehicles",
                           f"version: {n}\n    title: Vehicles {n}")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
def test_any_sequence_keeps_the_invariants(actions: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.create(Path(folder) / "ws")
        drafted = 0
        seen: dict[int, lifecycle.RuleSetVersion] = {}
        for action, back in actions:
            target = drafted - back
            before = {v.version: v for v in lifecycle.list_rule_sets(workspace)}
            actor = "user:ben" if action == "publish" else "user:ana"
            try:
                with audit.acting_as(actor):
                    apply(workspace, action, drafted + (action in ("draft", "ready")), target)
                drafted += action in ("draft", "ready")
            except (ConflictError, NotFoundError, PermissionDeniedError):
                after = {v.version: v for v in lifecycle.list_rule_sets(workspace)}
                assert after == before  # a refused action changes nothing
            now = {v.version: v for v in lifecycle.list_rule_sets(workspace)}
            assert sum(v.status == "published" for v in now.values()) <= 1
            assert all(v.published_by != v.created_by for v in now.values()
                       if v.published_by is not None)
            for number, version in now.items():
                if number in seen:
                    old = seen[number]
                    assert (version.text, version.fingerprint) == (old.text, old.fingerprint)
                    assert ORDER[version.status] >= ORDER[old.status]
                    if old.status != "draft":
                        assert version.backtest == old.backtest
                if version.status == "published":
                    assert version.backtest is not None
                    marker = lifecycle.published_marker(workspace)
                    assert marker == (number, version.label)
            seen = now


def apply(workspace: Workspace, action: str, drafted: int, target: int) -> None:
    """Run one action; ``drafted`` is the number a new draft gets."""
    if action in ("draft", "ready"):
        lifecycle.draft_rules(workspace, profile(drafted))
        if action == "ready":
            lifecycle.backtest_draft(workspace, drafted)
    elif action == "backtest":
        lifecycle.backtest_draft(workspace, target)
    elif action in ("publish", "publish_own"):
        lifecycle.publish_rules(workspace, target)
    else:
        lifecycle.retire_rules(workspace, target)

