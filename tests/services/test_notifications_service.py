"""Webhook notifications against a real HTTP receiver: an alert over the threshold is posted
once, signed; a 500 is retried after its backoff and never posted again after a 2xx; alerts
below the threshold are not posted; a delivery given up is audited; attempts are recorded and
the secret is never stored."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic import ValidationError as SettingsError
from tests.api.notify_fixtures import SECRET, T0, Receiver, lodge, webhook_receiver

from clearlane.audit import read_entries
from clearlane.cases.webhooks import verify_signature
from clearlane.errors import ValidationError
from clearlane.services import notifications
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace


def settings_for(receiver: Receiver | None, workspace: Workspace, **more: Any) -> Settings:
    values: dict[str, Any] = {"workspace": workspace.path, "webhook_retry_seconds": 30,
                              "webhook_timeout_seconds": 5}
    if receiver is not None:
        values |= {"webhook_url": receiver.url, "webhook_secret": SecretStr(receiver.secret)}
    return Settings(**(values | more))


def deliver(workspace: Workspace, settings: Settings, at: datetime) -> notifications.PassResult:
    return notifications.deliver_pending(workspace, settings, now=at)


def test_a_red_alert_is_posted_once_signed_and_recorded(workspace: Workspace) -> None:
    lodge(workspace, "D1", "red")
    with webhook_receiver() as receiver:
        settings = settings_for(receiver, workspace)
        result = deliver(workspace, settings, T0)
        assert (result.opened, result.queued, result.delivered) == (1, 1, 1)
        again = deliver(workspace, settings, T0 + timedelta(hours=2))
        assert again.delivered == again.failed == 0
    [got] = receiver.received
    assert got.signature_ok and got.path == "/hook"
    assert got.headers["X-Clearlane-Event"] == "alert.opened"
    body = json.loads(got.body)["alert"]
    assert got.headers["X-Clearlane-Delivery"] == body["alert_id"]
    assert (body["declaration_id"], body["lane"], body["severity"]) == ("D1", "red", "high")
    assert body["reasons"] == [{"code": "MODEL", "text": "red by the model"}]
    assert body["link"] == f"/api/v1/cases/{body['alert_id']}"
    assert not verify_signature("wrong" * 8, got.headers["X-Clearlane-Signature"], got.body,
                                datetime.now(UTC).timestamp())
    [attempt] = notifications.recent_deliveries(workspace)
    assert (attempt.alert_id, attempt.attempt, attempt.status, attempt.http_status) == (
        body["alert_id"], 1, "delivered", 200)
    assert notifications.outbox_counts(workspace)["delivered"] == 1


def test_a_500_is_retried_after_its_backoff_and_never_sent_again_after_a_2xx(
        workspace: Workspace) -> None:
    lodge(workspace, "D1", "red")
    with webhook_receiver(script=[500, 503]) as receiver:
        settings = settings_for(receiver, workspace)
        first = deliver(workspace, settings, T0)
        assert (first.delivered, first.failed) == (0, 1)
        early = deliver(workspace, settings, T0 + timedelta(seconds=29))
        assert early.failed == early.delivered == 0  # not due before its 30 s backoff
        second = deliver(workspace, settings, T0 + timedelta(seconds=31))
        assert second.failed == 1  # 503: next wait is 60 s after this attempt
        assert deliver(workspace, settings, T0 + timedelta(seconds=80)).failed == 0
        third = deliver(workspace, settings, T0 + timedelta(seconds=92))
        assert third.delivered == 1
        for hours in (1, 5, 24):
            later = deliver(workspace, settings, T0 + timedelta(hours=hours))
            assert later.delivered == later.failed == 0
    assert [r.answered for r in receiver.received] == [500, 503, 200]
    assert all(r.signature_ok for r in receiver.received)
    assert len({r.headers["X-Clearlane-Delivery"] for r in receiver.received}) == 1
    attempts = notifications.recent_deliveries(workspace)
    assert [(a.attempt, a.status, a.http_status) for a in attempts] == [
        (3, "delivered", 200), (2, "failed", 503), (1, "failed", 500)]
    assert attempts[2].next_attempt_at == T0 + timedelta(seconds=30)
    assert attempts[1].next_attempt_at == T0 + timedelta(seconds=31 + 60)
    assert attempts[2].error is not None and "500" in attempts[2].error


def test_only_alerts_at_or_over_the_minimum_severity_are_posted(workspace: Workspace) -> None:
    lodge(workspace, "RED", "red")
    lodge(workspace, "YEL", "yellow")
    lodge(workspace, "CRIT", "yellow", [{"code": "RULE_HIT", "text": "rule R7: sanctioned",
                                         "weight": 4.0, "evidence": {"severity": "critical"}}])
    with webhook_receiver() as receiver:
        result = deliver(workspace, settings_for(receiver, workspace), T0)
        assert (result.queued, result.skipped, result.delivered) == (2, 1, 2)
    sent = {json.loads(r.body)["alert"]["declaration_id"]: json.loads(r.body)["alert"]["severity"]
            for r in receiver.received}
    assert sent == {"RED": "high", "CRIT": "critical"}
    counts = notifications.outbox_counts(workspace)
    assert (counts["delivered"], counts["skipped"]) == (2, 1)


def test_a_lower_threshold_posts_yellow_too_and_critical_only_posts_critical(
        tmp_path: Path) -> None:
    for minimum, expected in (("medium", {"RED", "YEL"}), ("critical", set())):
        workspace = Workspace.create(tmp_path / minimum)
        lodge(workspace, "RED", "red")
        lodge(workspace, "YEL", "yellow")
        with webhook_receiver() as receiver:
            deliver(workspace, settings_for(receiver, workspace,
                                            webhook_min_severity=minimum), T0)
        assert {json.loads(r.body)["alert"]["declaration_id"]
                for r in receiver.received} == expected


def test_a_delivery_is_given_up_after_the_last_attempt_and_audited(
        workspace: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    lodge(workspace, "D1", "red")
    with webhook_receiver(script=[500] * 5) as receiver:
        settings = settings_for(receiver, workspace, webhook_max_attempts=2)
        assert deliver(workspace, settings, T0).failed == 1
        with caplog.at_level(logging.ERROR, "clearlane.notifications"):
            assert deliver(workspace, settings, T0 + timedelta(minutes=5)).gave_up == 1
        assert deliver(workspace, settings, T0 + timedelta(days=1)).failed == 0
    assert len(receiver.received) == 2
    assert notifications.outbox_counts(workspace)["failed"] == 1
    with workspace.connect() as con:
        entries = [e for e in read_entries(con) if e.action == "webhook.give_up"]
    assert len(entries) == 1 and json.loads(entries[0].change)["attempts"] == 2
    assert "given up" in caplog.text and SECRET not in caplog.text


def test_an_unreachable_receiver_is_a_recorded_failure_that_ends_the_pass(
        workspace: Workspace) -> None:
    lodge(workspace, "D1", "red")
    lodge(workspace, "D2", "red")
    with webhook_receiver() as receiver:
        url = receiver.url  # closed when the block ends: nothing listens there any more
    settings = settings_for(receiver, workspace, webhook_url=url)
    assert deliver(workspace, settings, T0).failed == 1  # the first error ends the pass
    [attempt] = notifications.recent_deliveries(workspace)
    assert attempt.http_status is None and attempt.error and "Connect" in attempt.error
    # the alert not tried is due again at once, before the one that failed (retry at +30 s)
    assert deliver(workspace, settings, T0 + timedelta(seconds=1)).failed == 1
    attempts = notifications.recent_deliveries(workspace)
    assert len({a.alert_id for a in attempts}) == 2 and {a.attempt for a in attempts} == {1}


def test_the_test_delivery_is_signed_recorded_and_audited(workspace: Workspace) -> None:
    with webhook_receiver() as receiver:
        attempt = notifications.send_test(workspace, settings_for(receiver, workspace))
    [got] = receiver.received
    assert got.signature_ok and got.headers["X-Clearlane-Event"] == "webhook.test"
    assert (attempt.status, attempt.http_status) == ("delivered", 200)
    with workspace.connect() as con:
        actions = [e.action for e in read_entries(con)]
        stored = con.execute("SELECT * FROM webhook_deliveries").fetchall()
    assert "webhook.test" in actions
    assert SECRET not in repr(stored)


def test_the_dispatcher_thread_delivers_while_it_runs(workspace: Workspace) -> None:
    lodge(workspace, "D1", "red")
    with webhook_receiver() as receiver:
        settings = settings_for(receiver, workspace, webhook_poll_seconds=0.1)
        dispatcher = notifications.start_dispatcher(workspace, settings)
        assert dispatcher is not None
        try:
            receiver.wait_for(1)
            lodge(workspace, "D2", "red")
            receiver.wait_for(2)
        finally:
            dispatcher.stop()
    assert [json.loads(r.body)["alert"]["declaration_id"] for r in receiver.received] == [
        "D1", "D2"]
    assert notifications.start_dispatcher(workspace, settings_for(None, workspace)) is None


def test_a_webhook_needs_a_long_secret_and_the_secret_is_never_shown(
        workspace: Workspace) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings(webhook_url="https://hooks.example/x", webhook_secret=SecretStr("short-one"))
    assert "short-one" not in str(caught.value)
    with pytest.raises(SettingsError):
        Settings(webhook_url="ftp://hooks.example/x", webhook_secret=SecretStr(SECRET))
    settings = Settings(webhook_url="https://u:p@hooks.example/x?token=abc",
                        webhook_secret=SecretStr(SECRET))
    config = notifications.WebhookConfig.from_settings(settings)
    assert SECRET not in repr(config) and "abc" not in repr(config)
    assert notifications.shown_url(settings.webhook_url or "") == "https://hooks.example/x"
    assert SECRET not in settings.model_dump_json()
    with pytest.raises(ValidationError):
        notifications.deliver_pending(workspace, settings_for(None, workspace))


def test_an_alert_withdrawn_before_its_retry_is_not_posted_again(workspace: Workspace) -> None:
    lodge(workspace, "D1", "red")
    with webhook_receiver(script=[500]) as receiver:
        settings = settings_for(receiver, workspace)
        assert deliver(workspace, settings, T0).failed == 1
        with workspace.transaction() as con:  # as a lane override to green does
            con.execute("UPDATE alerts SET status = 'withdrawn'")
        later = deliver(workspace, settings, T0 + timedelta(hours=1))
        assert later.delivered == later.failed == 0
    assert len(receiver.received) == 1
    counts = notifications.outbox_counts(workspace)
    assert (counts["pending"], counts["skipped"]) == (0, 1)
