"""`clearlane notify …` as cron or an administrator runs it: send delivers pending alerts to a
real receiver (signed), list shows the attempts, test posts a signed test payload and fails
with exit code 1 when the receiver refuses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.api.guard_fixtures import audit_environment
from tests.api.notify_fixtures import lodge, webhook_receiver

from clearlane.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def clearlane(*args: str, cwd: Path, url: str, secret: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(REPO / "src"),
           "CLEARLANE_WEBHOOK_URL": url, "CLEARLANE_WEBHOOK_SECRET": secret}
    return subprocess.run([sys.executable, "-m", "clearlane.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_send_list_and_test_from_the_command_line(tmp_path: Path) -> None:
    with audit_environment(tmp_path), webhook_receiver(script=[200, 200, 500]) as receiver:
        workspace = Workspace.create(tmp_path / "ws")
        lodge(workspace, "D1", "red")
        lodge(workspace, "D2", "yellow")  # medium: below the default minimum (high)
        ws = ["--workspace", str(workspace.path)]

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return clearlane(*args, *ws, cwd=tmp_path, url=receiver.url, secret=receiver.secret)

        sent = run("notify", "send")
        assert sent.returncode == 0, sent.stderr
        assert "1 delivered" in sent.stdout and "1 below the minimum severity" in sent.stdout
        assert [json.loads(r.body)["alert"]["declaration_id"] for r in receiver.received] == [
            "D1"]
        assert run("notify", "send").returncode == 0
        assert len(receiver.received) == 1  # delivered once

        listed = run("notify", "list")
        assert listed.returncode == 0, listed.stderr
        alert_id = receiver.received[0].headers["X-Clearlane-Delivery"]
        assert alert_id in listed.stdout and "delivered" in listed.stdout
        assert "1 delivered" in listed.stdout and "1 skipped" in listed.stdout

        tested = run("notify", "test")
        assert tested.returncode == 0, tested.stderr + tested.stdout
        assert "delivered" in tested.stdout and receiver.secret not in tested.stdout
        refused = run("notify", "test")
        assert refused.returncode == 1
        assert "not delivered" in refused.stdout and "500" in refused.stdout
    assert [r.headers["X-Clearlane-Event"] for r in receiver.received] == [
        "alert.opened", "webhook.test", "webhook.test"]
    assert all(r.signature_ok for r in receiver.received)
