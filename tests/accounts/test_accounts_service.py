from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from clearlane.accounts.keys import INVALID_KEY, secret_digest, split_token
from clearlane.errors import (
    ConflictError,
    InvalidCredentialsError,
    LoginRateLimitedError,
    NotFoundError,
    ValidationError,
)
from clearlane.services import accounts
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

NOW = datetime(2026, 12, 1, 9, 0)
PASSWORD = "correct horse battery"
LIMITS = Settings(login_max_failures=3, login_window_minutes=15, session_lifetime_minutes=60)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    accounts.add_user(workspace, "amina", "officer", PASSWORD, ["ABJ01"], now=NOW)
    return workspace


def test_users_are_stored_with_a_hash_never_the_password(ws: Workspace) -> None:
    rows = accounts.workspace_rows(ws, "SELECT * FROM users")
    assert len(rows) == 1 and PASSWORD not in repr(rows)
    user = accounts.get_user(ws, "amina")
    assert user.password_hash.startswith("$argon2id$") and user.offices == {"ABJ01"}
    with pytest.raises(ConflictError):
        accounts.add_user(ws, "amina", "analyst", PASSWORD)
    with pytest.raises(ValidationError):
        accounts.add_user(ws, "bad name!", "analyst", PASSWORD)
    with pytest.raises(ValidationError, match="valid roles"):
        accounts.add_user(ws, "boss", "root", PASSWORD)
    with pytest.raises(NotFoundError):
        accounts.get_user(ws, "nobody")


def test_login_with_the_right_password_only(ws: Workspace) -> None:
    principal = accounts.login(ws, "amina", PASSWORD, now=NOW, settings=LIMITS)
    assert (principal.name, principal.role, principal.offices) == ("amina", "officer", {"ABJ01"})
    for name, password in (("amina", PASSWORD + "x"), ("nobody", PASSWORD)):
        with pytest.raises(InvalidCredentialsError, match="invalid user name or password"):
            accounts.login(ws, name, password, now=NOW, settings=LIMITS)


def test_failed_logins_are_rate_limited_until_the_window_passes(ws: Workspace) -> None:
    for minute in range(3):
        with pytest.raises(InvalidCredentialsError):
            accounts.login(ws, "amina", "wrong password!", now=NOW + timedelta(minutes=minute),
                           settings=LIMITS)
    # refused even with the right password while three failures are within 15 minutes
    with pytest.raises(LoginRateLimitedError, match="09:15:00"):
        accounts.login(ws, "amina", PASSWORD, now=NOW + timedelta(minutes=5), settings=LIMITS)
    with pytest.raises(LoginRateLimitedError):
        accounts.login(ws, "amina", PASSWORD, now=NOW + timedelta(minutes=14, seconds=59),
                       settings=LIMITS)
    # the first failure leaves the window: open again
    assert accounts.login(ws, "amina", PASSWORD, now=NOW + timedelta(minutes=15),
                          settings=LIMITS).name == "amina"
    # every attempt is on the audit record, the refused ones too (they are not counted)
    actions = [r[0] for r in accounts.workspace_rows(
        ws, "SELECT action FROM audit_log WHERE object_id = 'amina' AND action LIKE 'login.%' "
            "ORDER BY sequence")]
    assert actions == ["login.failure"] * 3 + ["login.refused"] * 2 + ["login.success"]


def test_a_success_resets_the_failure_count(ws: Workspace) -> None:
    t = NOW
    for _ in range(2):
        t += timedelta(seconds=10)
        with pytest.raises(InvalidCredentialsError):
            accounts.login(ws, "amina", "wrong password!", now=t, settings=LIMITS)
    t += timedelta(seconds=10)
    accounts.login(ws, "amina", PASSWORD, now=t, settings=LIMITS)
    for _ in range(2):
        t += timedelta(seconds=10)
        with pytest.raises(InvalidCredentialsError):
            accounts.login(ws, "amina", "wrong password!", now=t, settings=LIMITS)
    accounts.login(ws, "amina", PASSWORD, now=t + timedelta(seconds=1), settings=LIMITS)


def test_unknown_names_are_limited_too(ws: Workspace) -> None:
    for second in range(3):
        with pytest.raises(InvalidCredentialsError):
            accounts.login(ws, "ghost", PASSWORD, now=NOW + timedelta(seconds=second),
                           settings=LIMITS)
    with pytest.raises(LoginRateLimitedError):
        accounts.login(ws, "ghost", PASSWORD, now=NOW + timedelta(seconds=5), settings=LIMITS)


def test_deactivated_users_cannot_log_in_and_lose_their_sessions(ws: Workspace) -> None:
    session = accounts.create_session(ws, "amina", now=NOW, settings=LIMITS)
    accounts.deactivate_user(ws, "amina", now=NOW)
    assert not accounts.get_user(ws, "amina").active
    with pytest.raises(InvalidCredentialsError):
        accounts.login(ws, "amina", PASSWORD, now=NOW, settings=LIMITS)
    with pytest.raises(InvalidCredentialsError):
        accounts.validate_session(ws, session.session_id, now=NOW)


def test_set_password_replaces_it_and_ends_sessions(ws: Workspace) -> None:
    session = accounts.create_session(ws, "amina", now=NOW, settings=LIMITS)
    accounts.set_password(ws, "amina", "a brand new passphrase", now=NOW)
    with pytest.raises(InvalidCredentialsError):
        accounts.validate_session(ws, session.session_id, now=NOW)
    with pytest.raises(InvalidCredentialsError):
        accounts.login(ws, "amina", PASSWORD, now=NOW, settings=LIMITS)
    accounts.login(ws, "amina", "a brand new passphrase", now=NOW, settings=LIMITS)


def test_sessions_expire_and_store_only_a_digest_of_their_id(ws: Workspace) -> None:
    created = accounts.create_session(ws, "amina", now=NOW, settings=LIMITS)
    stored = accounts.workspace_rows(ws, "SELECT * FROM sessions")
    assert created.session_id not in repr(stored)
    principal, session = accounts.validate_session(
        ws, created.session_id, now=NOW + timedelta(minutes=59))
    assert principal.name == "amina" and session.csrf_token == created.session.csrf_token
    assert session.expires_at == NOW + timedelta(minutes=60)
    with pytest.raises(InvalidCredentialsError, match="invalid or expired session") as expired:
        accounts.validate_session(ws, created.session_id, now=NOW + timedelta(minutes=60))
    assert expired.value.reason == "expired"
    assert accounts.workspace_rows(ws, "SELECT count(*) FROM sessions") == [(0,)]
    with pytest.raises(InvalidCredentialsError):
        accounts.validate_session(ws, "forged-session-id", now=NOW)


def test_logout_and_purge(ws: Workspace) -> None:
    first = accounts.create_session(ws, "amina", now=NOW, settings=LIMITS)
    accounts.create_session(ws, "amina", now=NOW, settings=LIMITS)
    assert accounts.end_session(ws, first.session_id)
    assert not accounts.end_session(ws, first.session_id)
    assert accounts.purge_expired_sessions(ws, now=NOW + timedelta(hours=2)) == 1


def test_api_key_secret_is_shown_once_and_stored_hashed(workspace: Workspace) -> None:
    created = accounts.create_key(workspace, "asycuda", "system", expires_days=30, now=NOW)
    prefix, secret = split_token(created.token)
    rows = accounts.workspace_rows(workspace, "SELECT * FROM api_keys")
    assert len(rows) == 1 and secret not in repr(rows) and created.token not in repr(rows)
    assert secret_digest(secret) in rows[0]
    listed = accounts.list_keys(workspace)
    assert [k.prefix for k in listed] == [prefix] and secret not in repr(listed)
    principal = accounts.authenticate_key(workspace, created.token, now=NOW)
    assert (principal.name, principal.role, principal.kind) == ("asycuda", "system", "api key")


def test_api_keys_expire_and_revoke(workspace: Workspace) -> None:
    created = accounts.create_key(workspace, "asycuda", "system", expires_days=1, now=NOW)
    accounts.authenticate_key(workspace, created.token, now=NOW + timedelta(hours=23))
    with pytest.raises(InvalidCredentialsError, match=INVALID_KEY):
        accounts.authenticate_key(workspace, created.token, now=NOW + timedelta(days=1))
    other = accounts.create_key(workspace, "portal", "system", expires_days=10, now=NOW)
    revoked = accounts.revoke_key(workspace, other.key.prefix, now=NOW)
    assert revoked.status(NOW) == "revoked"
    with pytest.raises(InvalidCredentialsError, match=INVALID_KEY) as refused:
        accounts.authenticate_key(workspace, other.token, now=NOW)
    assert refused.value.reason == "revoked"
    with pytest.raises(NotFoundError):
        accounts.revoke_key(workspace, "clk_00000000")


def test_a_forged_key_with_a_known_prefix_fails(workspace: Workspace) -> None:
    created = accounts.create_key(workspace, "asycuda", "system", now=NOW)
    prefix, secret = split_token(created.token)
    forged = f"{prefix}.{'A' * len(secret)}"
    with pytest.raises(InvalidCredentialsError, match=INVALID_KEY) as refused:
        accounts.authenticate_key(workspace, forged, now=NOW)
    assert refused.value.reason == "wrong secret"
    with pytest.raises(InvalidCredentialsError, match=INVALID_KEY):
        accounts.authenticate_key(workspace, f"clk_00000000.{secret}", now=NOW)


def test_account_changes_and_logins_are_audited_without_secrets(ws: Workspace) -> None:
    from clearlane.services import audit

    with pytest.raises(InvalidCredentialsError):
        accounts.login(ws, "amina", "wrong password!", now=NOW)
    accounts.login(ws, "amina", PASSWORD, now=NOW + timedelta(seconds=1))
    accounts.set_password(ws, "amina", "another long password", now=NOW)
    created = accounts.create_key(ws, "asycuda", "system", now=NOW)
    accounts.revoke_key(ws, created.key.prefix, now=NOW)
    accounts.deactivate_user(ws, "amina", now=NOW)
    entries = audit.log(ws)
    assert [(e.action, e.object_id) for e in entries] == [
        ("user.add", "amina"), ("login.failure", "amina"), ("login.success", "amina"),
        ("user.password", "amina"), ("key.create", created.key.prefix),
        ("key.revoke", created.key.prefix), ("user.deactivate", "amina"),
    ]
    assert '"reason":"wrong password"' in entries[1].change
    secret = split_token(created.token)[1]
    assert not any(secret in e.change or secret_digest(secret) in e.change for e in entries)
    assert audit.verify_workspace(ws).ok
