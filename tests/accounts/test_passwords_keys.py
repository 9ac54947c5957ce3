from __future__ import annotations

import hmac
from datetime import datetime, timedelta

import pytest

from clearlane.accounts import keys as keys_module
from clearlane.accounts.keys import INVALID_KEY, authenticate, generate_key, split_token
from clearlane.accounts.passwords import hash_password, verify_and_rehash, verify_password
from clearlane.errors import InvalidCredentialsError, ValidationError

NOW = datetime(2026, 12, 1, 9, 0)


def test_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse battery" not in hashed
    assert verify_password("correct horse battery", hashed)
    assert not verify_password("correct horse batterY", hashed)
    assert not verify_password("correct horse battery", "not a hash")
    assert hash_password("correct horse battery") != hashed  # salted
    assert verify_and_rehash("correct horse battery", hashed) == (True, None)


def test_short_passwords_are_refused() -> None:
    with pytest.raises(ValidationError, match="password"):
        hash_password("short")


def test_key_token_has_a_visible_prefix_and_only_a_digest_is_kept() -> None:
    created = generate_key("asycuda", "system", NOW, expires_days=30)
    prefix, secret = split_token(created.token)
    assert prefix == created.key.prefix and prefix.startswith("clk_") and len(prefix) == 12
    assert secret not in repr(created.key)
    assert created.key.expires_at == NOW + timedelta(days=30)
    assert authenticate(created.key, secret, NOW).role == "system"


def test_keys_expire_and_revoke_with_one_message() -> None:
    created = generate_key("asycuda", "system", NOW, expires_days=1)
    _, secret = split_token(created.token)
    with pytest.raises(InvalidCredentialsError, match=INVALID_KEY) as expired:
        authenticate(created.key, secret, NOW + timedelta(days=1))
    assert expired.value.reason == "expired"
    revoked = keys_module.ApiKey(**{**created.key.__dict__, "revoked_at": NOW})
    with pytest.raises(InvalidCredentialsError, match=INVALID_KEY) as refused:
        authenticate(revoked, secret, NOW)
    assert refused.value.reason == "revoked"


def test_a_forged_secret_with_a_known_prefix_fails() -> None:
    created = generate_key("asycuda", "system", NOW)
    prefix, secret = split_token(created.token)
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with pytest.raises(InvalidCredentialsError, match=INVALID_KEY) as wrong:
        authenticate(created.key, forged, NOW)
    assert wrong.value.reason == "wrong secret"
    with pytest.raises(InvalidCredentialsError, match=INVALID_KEY):
        authenticate(None, secret, NOW)
    for bad in ("", prefix, f"{prefix}.", "Bearer " + created.token, "clk_XYZ.abc"):
        with pytest.raises(InvalidCredentialsError, match=INVALID_KEY):
            split_token(bad)


def test_secrets_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    compare = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    created = generate_key("asycuda", "system", NOW)
    _, secret = split_token(created.token)
    authenticate(created.key, secret, NOW)
    with pytest.raises(InvalidCredentialsError):
        authenticate(None, secret, NOW)  # an unknown prefix compares too (same timing)
    assert len(calls) == 2


def test_keys_are_bound_to_a_known_role() -> None:
    with pytest.raises(ValidationError, match="valid roles"):
        generate_key("x", "root", NOW)
    with pytest.raises(ValidationError):
        generate_key("x", "system", NOW, expires_days=0)
    scoped = generate_key("x", "system", NOW, offices=("ABJ01",))
    assert scoped.key.principal().offices == {"ABJ01"}
