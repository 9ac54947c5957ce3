"""Compare a candidate with the promoted model on held-out days, promote, roll back."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.api.models_fixtures import lifecycle_workspace

from clearlane.errors import ArtifactError, ConflictError, NotFoundError, ValidationError
from clearlane.models import registry
from clearlane.services import model_lifecycle
from clearlane.services.model_lifecycle import brier_score, compare_models
from clearlane.services.risk import evaluate_model, train_models
from clearlane.store.workspace import Workspace


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return lifecycle_workspace(tmp_path_factory)


def _candidate(workspace: Workspace, to: date = date(2024, 1, 24)) -> registry.ModelRecord:
    result = train_models(workspace, date_to=to, search=False, seed=2)
    assert result.fraud is not None
    return result.fraud


def test_compare_on_the_days_after_the_candidates_training(workspace: Workspace) -> None:
    promoted = registry.get_model(workspace, kind="fraud")
    candidate = _candidate(workspace)
    comparison = compare_models(workspace, candidate.version, rate=10.0)
    assert (comparison.window_from, comparison.window_to) == (date(2024, 1, 25),
                                                              date(2024, 1, 30))
    assert comparison.baseline is not None
    assert comparison.baseline.version == promoted.version
    assert not comparison.candidate.saw_window and not comparison.baseline.saw_window
    inspected = workspace.query(
        "SELECT count(*) FROM declarations WHERE inspected AND declared_at >= '2024-01-25'"
    ).item(0, 0)
    assert comparison.candidate.n == comparison.baseline.n == inspected
    for side in (comparison.candidate, comparison.baseline):
        assert side.auc is not None and 0.0 <= side.auc <= 1.0
        assert 0.0 <= side.brier <= 1.0 and 0.0 <= side.ece <= 1.0
        assert 0.0 <= side.precision <= 1.0
    # the same numbers as `clearlane evaluate` on that window
    _, evaluated = evaluate_model(workspace, version=candidate.version)
    assert comparison.candidate.auc == pytest.approx(evaluated.auc)
    assert json.loads(json.dumps(comparison.as_dict()))["candidate"]["train_to"] == "2024-01-24"


def test_the_promoted_model_that_saw_the_days_is_flagged(workspace: Workspace) -> None:
    candidate = _candidate(workspace)
    comparison = compare_models(workspace, candidate.version, days=3)
    assert comparison.window_from == date(2024, 1, 28)
    assert comparison.baseline is not None and not comparison.baseline.saw_window
    later = _candidate(workspace, to=date(2024, 1, 29))
    again = compare_models(workspace, candidate.version, baseline=later.version, days=3)
    assert again.baseline is not None and again.baseline.saw_window


def test_a_window_the_candidate_trained_on_is_refused(workspace: Workspace) -> None:
    candidate = _candidate(workspace)
    with pytest.raises(ValidationError, match="overlaps the training data"):
        compare_models(workspace, candidate.version, days=10)
    everything = _candidate(workspace, to=date(2024, 1, 30))
    with pytest.raises(ValidationError, match="--holdout-days"):
        compare_models(workspace, everything.version)
    with pytest.raises(ValidationError, match="itself"):
        compare_models(workspace, candidate.version, baseline=candidate.version)
    anomaly = registry.get_model(workspace, kind="anomaly")
    with pytest.raises(ValidationError, match="anomaly"):
        compare_models(workspace, anomaly.version)


def test_promote_records_the_comparison_and_reason_then_rollback_restores(
        workspace: Workspace) -> None:
    first = registry.get_model(workspace, kind="fraud")
    candidate = _candidate(workspace)
    promotion = model_lifecycle.promote_model(workspace, candidate.version, reason="better AUC")
    assert (promotion.version, promotion.previous_version) == (candidate.version, first.version)
    assert promotion.reason == "better AUC" and promotion.action == "promote"
    assert promotion.comparison is not None
    assert promotion.comparison["candidate"]["version"] == candidate.version
    assert registry.get_model(workspace, kind="fraud").version == candidate.version
    assert registry.get_model(workspace, first.version).status == "retired"
    with pytest.raises(ConflictError, match="already"):
        model_lifecycle.promote_model(workspace, candidate.version)

    back = model_lifecycle.rollback_model(workspace, "fraud", reason="false alarms")
    assert (back.version, back.previous_version, back.action) == (
        first.version, candidate.version, "rollback")
    assert registry.get_model(workspace, kind="fraud").version == first.version
    assert registry.get_model(workspace, candidate.version).status == "retired"
    actions = workspace.query("SELECT action, object_id FROM audit_log WHERE action LIKE "
                              "'model.%o%' ORDER BY sequence").rows()
    assert actions[-2:] == [("model.promote", candidate.version),
                            ("model.rollback", first.version)]
    # the first model was promoted by `train --promote` with nothing before it
    with pytest.raises(ConflictError, match="nothing to roll back"):
        model_lifecycle.rollback_model(workspace, "fraud")
    history = model_lifecycle.promotions(workspace, "fraud")
    assert [p.action for p in history] == ["rollback", "promote", "promote"]


def test_rollback_walks_back_the_history(workspace: Workspace) -> None:
    first = registry.get_model(workspace, kind="fraud")
    second, third = _candidate(workspace), _candidate(workspace, to=date(2024, 1, 26))
    model_lifecycle.promote_model(workspace, second.version)
    model_lifecycle.promote_model(workspace, third.version)
    assert model_lifecycle.rollback_model(workspace, "fraud").version == second.version
    assert model_lifecycle.rollback_model(workspace, "fraud").version == first.version


def test_rollback_errors(workspace: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no promoted hs model"):
        model_lifecycle.rollback_model(workspace, "hs")
    with pytest.raises(ValidationError, match="unknown model kind"):
        model_lifecycle.rollback_model(workspace, "magic")


def test_promoting_without_held_out_days_says_why(workspace: Workspace) -> None:
    everything = _candidate(workspace, to=date(2024, 1, 30))
    promotion = model_lifecycle.promote_model(workspace, everything.version)
    assert promotion.comparison is not None
    assert "no labelled days after" in promotion.comparison["unavailable"]
    assert str(registry.get_model(workspace, kind="fraud").train_to)[:10] == "2024-01-30"


@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=50))
def test_brier_score_is_the_mean_squared_error(pairs: list[tuple[float, bool]]) -> None:
    p = np.array([a for a, _ in pairs])
    y = np.array([b for _, b in pairs])
    score = brier_score(p, y)
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(float(np.mean([(a - float(b)) ** 2 for a, b in pairs])))
    assert brier_score(y.astype(float), y) == 0.0


def test_a_model_whose_file_changed_is_never_promoted(workspace: Workspace) -> None:
    candidate = _candidate(workspace)
    path = registry.artifact_file(workspace, candidate)
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ArtifactError):
        model_lifecycle.promote_model(workspace, candidate.version)
    assert registry.get_model(workspace, candidate.version).status == "candidate"
    assert [p.version for p in model_lifecycle.promotions(workspace, "fraud")] == [
        registry.get_model(workspace, kind="fraud").version]  # only `train --promote`
