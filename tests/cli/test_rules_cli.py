"""`clearlane rules draft | backtest | publish | retire | history | show` as a user runs them:
the role of `--user` is checked, the drafter may not publish (four eyes: a second analyst does),
the audit log names the users, and a select without --rules runs the published set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.api.guard_fixtures import audit_environment
from tests.services.test_rules_lifecycle import PROFILE, history_frame

from clearlane.services import accounts
from clearlane.services.ingest import ingest_file
from clearlane.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def clearlane(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "clearlane.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_the_lifecycle_from_the_command_line(tmp_path: Path) -> None:
    with audit_environment(tmp_path):
        workspace = Workspace.create(tmp_path / "ws")
        history = tmp_path / "history.parquet"
        history_frame().write_parquet(history)
        ingest_file(workspace, history, "canonical")
        accounts.add_user(workspace, "ana", "analyst", "correct horse battery", [])
        accounts.add_user(workspace, "ben", "analyst", "correct horse battery", [])
        accounts.add_user(workspace, "root", "admin", "correct horse battery", [])
        accounts.add_user(workspace, "ola", "officer", "correct horse battery", ["ABJ01"])
        profile = tmp_path / "hand.yaml"
        profile.write_text(PROFILE, encoding="utf-8")
        ws = ["--workspace", str(workspace.path)]

        drafted = clearlane("rules", "draft", str(profile), "--user", "ana", *ws, cwd=tmp_path)
        assert drafted.returncode == 0, drafted.stderr
        assert "hand v1: draft; 2 rule(s)" in drafted.stdout

        early = clearlane("rules", "publish", "1", "--user", "root", *ws, cwd=tmp_path)
        assert early.returncode == 4 and "never back-tested" in early.stdout + early.stderr

        tested = clearlane("rules", "backtest", "1", "--user", "ana", *ws, cwd=tmp_path)
        assert tested.returncode == 0, tested.stderr
        w1 = next(line for line in tested.stdout.splitlines() if "W1 v1" in line)
        assert w1.split("│")[3].strip() == "4"  # the hits, as the service test computes them

        refused = clearlane("rules", "publish", "1", "--user", "ola", *ws, cwd=tmp_path)
        assert refused.returncode == 5
        assert "rules:publish" in refused.stdout + refused.stderr
        unknown = clearlane("rules", "publish", "1", "--user", "nobody", *ws, cwd=tmp_path)
        assert unknown.returncode == 2 and "--user" in unknown.stdout + unknown.stderr
        # four eyes: the drafter holds rules:publish but may not publish their own version
        own = clearlane("rules", "publish", "1", "--user", "ana", *ws, cwd=tmp_path)
        assert own.returncode == 5, own.stdout + own.stderr
        said = " ".join((own.stdout + own.stderr).split())
        assert "hand v1" in said and "user:ana" in said and "second person" in said

        done = clearlane("rules", "publish", "1", "--user", "ben", *ws, cwd=tmp_path)
        assert done.returncode == 0 and "hand v1: published" in done.stdout

        selected = clearlane("select", "--seed", "1", "--no-checks", "--no-segment-signal",
                             *ws, cwd=tmp_path)
        assert selected.returncode == 0, selected.stderr
        assert "the published rule set hand v1" in selected.stdout

        shown = clearlane("rules", "show", "1", *ws, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "Published" in shown.stdout and "by user:ben" in shown.stdout
        assert "1 selection(s) (6 item(s), 7 rule hit(s))" in shown.stdout

        retired = clearlane("rules", "retire", "1", "--user", "root", *ws, cwd=tmp_path)
        assert retired.returncode == 0 and "hand v1: retired" in retired.stdout
        listed = clearlane("rules", "history", *ws, cwd=tmp_path)
        assert listed.returncode == 0 and "retired" in listed.stdout

    entries = workspace.query("SELECT actor, action FROM audit_log WHERE action LIKE 'rules.%' "
                              "ORDER BY sequence").rows()
    assert entries == [("user:ana", "rules.draft"), ("user:ana", "rules.backtest"),
                       ("user:ben", "rules.publish"), ("user:root", "rules.retire")]
