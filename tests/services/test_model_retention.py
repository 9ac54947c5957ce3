"""`models prune`: keep the promoted model, its rollback target and the newest N of each kind;
never a model stored results refer to unless told; rows go before files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from tests.api.models_fixtures import lifecycle_workspace
from typer.testing import CliRunner

from clearlane.artifacts import write_artifact
from clearlane.artifacts.envelope import referenced_history
from clearlane.cli import models as models_cli
from clearlane.cli.main import app
from clearlane.errors import ValidationError
from clearlane.models import registry
from clearlane.services import model_retention
from clearlane.store.workspace import Workspace


@pytest.fixture
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return lifecycle_workspace(tmp_path_factory)


def _copies(workspace: Workspace, kind: str, n: int) -> list[str]:
    """Register ``n`` new candidates of ``kind`` (copies of the promoted model), oldest first."""
    promoted = registry.get_model(workspace, kind=kind)
    model = registry.load_model(workspace, promoted)
    versions = []
    for _ in range(n):
        record = registry.register(
            workspace, model, kind, train_from=promoted.train_from, train_to=promoted.train_to,
            n_rows=promoted.n_rows, features=promoted.features, params={}, metrics={},
            fingerprint=promoted.data_fingerprint)
        versions.append(record.version)
    return versions


def _versions(workspace: Workspace) -> set[str]:
    return {m.version for m in registry.list_models(workspace)}


def test_keeps_the_promoted_and_the_newest_and_removes_rows_and_files(
        workspace: Workspace) -> None:
    promoted = {k: registry.get_model(workspace, kind=k).version for k in ("fraud", "anomaly")}
    fraud = _copies(workspace, "fraud", 4)
    anomaly = _copies(workspace, "anomaly", 3)
    files = {m.version: registry.artifact_file(workspace, m)
             for m in registry.list_models(workspace)}
    sizes = {v: p.stat().st_size for v, p in files.items()}
    histories = {v: referenced_history(p) for v, p in files.items()}
    history_sizes = {v: sum(f.stat().st_size for f in p.iterdir())  # type: ignore[union-attr]
                     for v, p in histories.items()}
    assert all(history_sizes.values())  # every fraud and anomaly model has its history dataset
    # the detector trained beside the fraud model names the fraud model's dataset; copies
    # registered on their own have theirs
    assert histories[promoted["anomaly"]] == histories[promoted["fraud"]]
    assert len({histories[v] for v in fraud + anomaly}) == len(fraud + anomaly)

    result = model_retention.prune_models(workspace, keep=2)

    gone = {m.version for m in result.removed}
    assert gone == {fraud[0], fraud[1], anomaly[0]}
    assert _versions(workspace) == set(files) - gone
    assert set(promoted.values()) <= _versions(workspace)
    for version, path in files.items():
        assert path.exists() == (version not in gone)
        assert histories[version].exists() == (version not in gone)  # type: ignore[union-attr]
    assert result.freed_bytes == sum(sizes[v] + history_sizes[v] for v in gone) > 0
    assert {m.version: m.bytes for m in result.removed} == {v: sizes[v] for v in gone}
    assert {m.version: m.history_bytes for m in result.removed} == {
        v: history_sizes[v] for v in gone}
    for model in registry.list_models(workspace):  # the kept models still load
        registry.load_model(workspace, model)
    entry = workspace.query(
        "SELECT change FROM audit_log WHERE action = 'model.prune'")
    assert entry.height == 1
    assert sorted(json.loads(entry.item(0, 0))["removed"]) == sorted(gone)
    # nothing more to remove: a second prune changes nothing and audits nothing
    again = model_retention.prune_models(workspace, keep=2)
    assert again.removed == () and again.freed_bytes == 0
    assert workspace.query(
        "SELECT count(*) FROM audit_log WHERE action = 'model.prune'").item(0, 0) == 1


def test_dry_run_reports_the_same_and_changes_nothing(workspace: Workspace) -> None:
    _copies(workspace, "fraud", 3)
    before = _versions(workspace)
    dry = model_retention.prune_models(workspace, keep=1, dry_run=True)
    assert dry.removed and _versions(workspace) == before
    assert all((workspace.path / m.artifact_path).exists() for m in dry.removed)
    assert workspace.query(
        "SELECT count(*) FROM audit_log WHERE action = 'model.prune'").item(0, 0) == 0
    real = model_retention.prune_models(workspace, keep=1)
    assert [m.version for m in real.removed] == [m.version for m in dry.removed]
    assert real.freed_bytes == dry.freed_bytes


def _refer(workspace: Workspace, where: str, version: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with workspace.transaction() as con:
        if where == "assessment":
            con.execute("INSERT INTO risk_assessments (declaration_id, item_no, model_version, "
                        "assessed_at) VALUES ('D1', 1, ?, ?)", [version, now])
        elif where == "anomaly_version":
            con.execute("INSERT INTO risk_assessments (declaration_id, item_no, model_version, "
                        "assessed_at, anomaly_version) VALUES ('D1', 1, 'other', ?, ?)",
                        [now, version])
        elif where == "selection":
            con.execute("INSERT INTO selections (selection_id, created_at, seed, policy, "
                        "model_version, units) VALUES ('S1', ?, 1, 'p', ?, 1)", [now, version])
        else:
            answer = json.dumps({"model_version": "x", "anomaly_version": version})
            con.execute("INSERT INTO lodgements VALUES ('D1', 1, 'b', ?, 'green', ?)",
                        [now, answer])


@pytest.mark.parametrize("where", ["assessment", "anomaly_version", "selection", "lodgement"])
def test_a_model_stored_results_refer_to_is_kept_unless_told(workspace: Workspace,
                                                              where: str) -> None:
    kind = "anomaly" if where in ("anomaly_version", "lodgement") else "fraud"
    old, _newer = _copies(workspace, kind, 2)
    _refer(workspace, where, old)
    result = model_retention.prune_models(workspace, keep=1)
    assert result.kept_referenced == (old,) and old in _versions(workspace)
    forced = model_retention.prune_models(workspace, keep=1, include_assessed=True)
    assert [(m.version, m.referenced) for m in forced.removed] == [(old, True)]
    assert old not in _versions(workspace)


def test_the_model_a_rollback_would_restore_is_kept(workspace: Workspace) -> None:
    first = registry.get_model(workspace, kind="fraud").version
    later = _copies(workspace, "fraud", 3)
    registry.promote(workspace, later[0])
    result = model_retention.prune_models(workspace, keep=1)
    kept = _versions(workspace)
    assert first in kept and later[0] in kept and later[2] in kept
    assert later[1] in {m.version for m in result.removed}


def test_keep_must_be_positive(workspace: Workspace) -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        model_retention.prune_models(workspace, keep=0)


def test_a_failed_transaction_removes_nothing(workspace: Workspace,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _copies(workspace, "fraud", 2)
    before = _versions(workspace)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash before the commit")

    monkeypatch.setattr(model_retention.audit, "record", fail)
    with pytest.raises(RuntimeError):
        model_retention.prune_models(workspace, keep=1)
    assert _versions(workspace) == before
    for m in registry.list_models(workspace):
        assert registry.artifact_file(workspace, m).exists()


def test_a_crash_after_the_commit_leaves_orphans_that_the_next_prune_removes(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _copies(workspace, "fraud", 2)[0]
    path = registry.artifact_file(workspace, registry.get_model(workspace, old))

    def crash(self: Path, missing_ok: bool = False) -> None:
        raise OSError("crash after the commit")

    with monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", crash)
        with pytest.raises(OSError):
            model_retention.prune_models(workspace, keep=1)
    # the row is gone, the file stays: no row ever points to a missing file
    assert old not in _versions(workspace) and path.exists()
    for m in registry.list_models(workspace):
        assert registry.artifact_file(workspace, m).exists()
    history = registry.history_dir(workspace, old)
    assert history.is_dir()
    # a fresh orphan may be a model being registered: left alone until it is old
    fresh = model_retention.prune_models(workspace, keep=1)
    assert fresh.orphans == () and fresh.orphan_histories == ()
    monkeypatch.setattr(model_retention, "ORPHAN_AGE", -1.0)
    swept = model_retention.prune_models(workspace, keep=1)
    assert swept.orphans == (path.resolve().relative_to(workspace.path.resolve()).as_posix(),)
    assert swept.orphan_histories == (
        history.resolve().relative_to(workspace.path.resolve()).as_posix(),)
    assert swept.freed_bytes > 0
    assert not path.exists() and not history.exists()
    for model in registry.list_models(workspace):  # the kept models' histories stay
        registry.load_model(workspace, model)


def test_a_history_folder_a_kept_model_names_is_not_removed(workspace: Workspace) -> None:
    old, _newer = _copies(workspace, "fraud", 2)
    record = registry.get_model(workspace, old)
    # another kept model whose artifact names the old model's history folder
    model = registry.load_model(workspace, record)
    keeper = registry.get_model(workspace, kind="fraud")
    path = registry.artifact_file(workspace, keeper)
    info = write_artifact(model, path, kind="fraud", version=keeper.version,
                          history=registry.history_dir(workspace, old))
    with workspace.transaction() as con:
        con.execute("UPDATE models SET artifact_sha256 = ? WHERE version = ?",
                    [info.sha256, keeper.version])
    result = model_retention.prune_models(workspace, keep=1)
    assert old in {m.version for m in result.removed}
    assert [m.history_path for m in result.removed if m.version == old] == [None]
    assert registry.history_dir(workspace, old).is_dir()
    registry.load_model(workspace, registry.get_model(workspace, keeper.version))


def test_cli_prints_what_it_removed_and_the_space_freed(workspace: Workspace,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    old = _copies(workspace, "fraud", 3)
    monkeypatch.setattr(models_cli, "console", Console(width=200))
    runner = CliRunner()
    w = ["--workspace", str(workspace.path)]
    dry = runner.invoke(app, ["models", "prune", *w, "--keep", "1", "--dry-run"],
                        )
    assert dry.exit_code == 0, dry.output
    assert "Would remove 2 models" in dry.output and old[0] in dry.output
    assert "Would free" in dry.output and old[0] in _versions(workspace)
    monkeypatch.setenv("CLEARLANE_MODELS_KEEP", "2")
    done = runner.invoke(app, ["models", "prune", *w])
    assert done.exit_code == 0, done.output
    assert "Removed 1 models" in done.output and "Freed" in done.output
    assert old[0] not in _versions(workspace) and old[1] in _versions(workspace)
    refused = runner.invoke(app, ["models", "prune", *w, "--keep", "0"])
    assert refused.exit_code == 2, refused.output
