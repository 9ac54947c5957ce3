"""`--trust-artifact`: commands that load a file from outside the workspace refuse it without."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.errors import UntrustedArtifactError
from clearlane.hs.classifier import HSClassifier
from clearlane.hs.persistence import save_classifier
from clearlane.store.workspace import Workspace

runner = CliRunner()


def test_hs_model_from_outside_needs_the_trust_flag(workspace: Workspace, hs: HSClassifier,
                                                    tmp_path: Path) -> None:
    outside = save_classifier(hs, tmp_path / "shared" / "hs.clz")
    w = str(workspace.path)
    for command in (["hs", "suggest", "cotton t-shirts"], ["hs", "check", "cotton t-shirts", "610910"]):
        refused = runner.invoke(app, [*command, "-w", w, "--model", str(outside)])
        assert isinstance(refused.exception, UntrustedArtifactError)
        trusted = runner.invoke(app, [*command, "-w", w, "--model", str(outside), "--trust-artifact"],
                                env={"COLUMNS": "200"})
        assert trusted.exit_code == 0, trusted.output + repr(trusted.exception)
    # inside the workspace's artifacts folder no flag is needed
    inside = save_classifier(hs, workspace.artifacts_dir / "hs-copy.clz")
    ok = runner.invoke(app, ["hs", "suggest", "rice", "-w", w, "--model", str(inside)])
    assert ok.exit_code == 0, repr(ok.exception)


def test_hs_train_registers_the_classifier(workspace: Workspace) -> None:
    from clearlane.models import registry
    from clearlane.services import hs as service

    result = runner.invoke(app, ["hs", "train", "-w", str(workspace.path)])
    assert result.exit_code == 0, repr(result.exception)
    record = registry.get_model(workspace, kind="hs")
    assert record.status == "promoted" and service.model_path(workspace).exists()
    assert service.model_path(workspace) == workspace.path / record.artifact_path
    assert service.suggest_codes(workspace, ["rice"])


def test_models_import_needs_the_trust_flag_from_outside(
        workspace: Workspace, tmp_path: Path, anomaly: object) -> None:
    from clearlane.models import registry
    from clearlane.models.persistence import save_artifact

    outside = tmp_path / "office-b" / "anomaly.clz"
    save_artifact(anomaly, outside, "anomaly", "anomaly-elsewhere")
    w = str(workspace.path)
    refused = runner.invoke(app, ["models", "import", str(outside), "-w", w])
    assert isinstance(refused.exception, UntrustedArtifactError)
    assert registry.list_models(workspace) == []
    result = runner.invoke(app, ["models", "import", str(outside), "-w", w, "--trust-artifact"])
    assert result.exit_code == 0, repr(result.exception)
    (record,) = registry.list_models(workspace)
    assert record.kind == "anomaly" and record.status == "candidate"
    assert type(registry.load_model(workspace, record)).__name__ == "AnomalyDetector"


def test_an_old_hs_pickle_in_the_workspace_is_refused_not_skipped(workspace: Workspace,
                                                                    tmp_path: Path) -> None:
    import json

    import pytest

    from clearlane.errors import LegacyArtifactError
    from clearlane.services import hs as service

    legacy = workspace.artifacts_dir / "hs_classifier.pkl"
    legacy.write_bytes(json.dumps({"format": "clearlane-hs-classifier"}).encode() + b"\nx")
    assert service.model_path(workspace) == legacy  # the selection's HS check will try it
    with pytest.raises(LegacyArtifactError, match="clearlane hs train"):
        service.load_workspace_classifier(workspace)
