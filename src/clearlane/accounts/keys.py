"""API keys for systems: a visible prefix and a random secret, shown once, stored as SHA-256.

A token reads ``clk_<8 hex>.<secret>``: the prefix names the key in lists and logs; only the
SHA-256 of the secret is stored, and it is compared in constant time. A key is bound to a role
(and optionally to offices), and has an expiry and a revocation time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from clearlane.accounts.roles import Principal, check_role, normalise_offices
from clearlane.errors import InvalidCredentialsError, Problem, ValidationError

KEY_PREFIX = "clk_"
_TOKEN = re.compile(r"^(clk_[0-9a-f]{8})\.([A-Za-z0-9_-]{20,200})$")
_PREFIX = re.compile(r"^clk_[0-9a-f]{8}$")
INVALID_KEY = "invalid or expired API key"
"""The one message a caller sees for any key that does not authenticate."""


@dataclass(frozen=True)
class ApiKey:
    """A stored API key (never its secret). Times are naive UTC."""

    prefix: str
    name: str
    role: str
    offices: frozenset[str]
    secret_sha256: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None

    def status(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def principal(self) -> Principal:
        return Principal(name=self.name, role=self.role, kind="api key", offices=self.offices)


@dataclass(frozen=True)
class NewApiKey:
    """A key just created and its token: the only time the secret exists outside the caller."""

    key: ApiKey
    token: str


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(name: str, role: str, now: datetime, offices: tuple[str, ...] = (),
                 expires_days: int | None = None) -> NewApiKey:
    """A new key for ``role``; ``expires_days`` None means it never expires."""
    name = name.strip()
    if not name:
        raise ValidationError("an API key needs a name",
                              [Problem("name", name, "give the system it is for")])
    if expires_days is not None and expires_days < 1:
        raise ValidationError("expiry refused",
                              [Problem("expires_days", str(expires_days), "must be 1 or more")])
    check_role(role)
    scoped = normalise_offices(role, offices)
    prefix = KEY_PREFIX + secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        prefix=prefix, name=name, role=role, offices=scoped, secret_sha256=secret_digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days is not None else None,
    )
    return NewApiKey(key=key, token=f"{prefix}.{secret}")


def split_token(token: str) -> tuple[str, str]:
    """The prefix and secret of a token, or :class:`InvalidCredentialsError`."""
    match = _TOKEN.match(token.strip())
    if match is None:
        raise InvalidCredentialsError(INVALID_KEY, reason="malformed")
    return match.group(1), match.group(2)


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise ValidationError("not an API key prefix",
                              [Problem("prefix", prefix, "looks like clk_ and 8 hex digits")])
    return prefix


def authenticate(key: ApiKey | None, secret: str, now: datetime) -> Principal:
    """The principal of ``key`` if ``secret`` matches and it is active, else
    :class:`InvalidCredentialsError` (its ``reason`` says why; its message does not)."""
    # compare even for an unknown prefix, so that the answer takes the same time
    expected = key.secret_sha256 if key is not None else secret_digest("")
    matches = hmac.compare_digest(secret_digest(secret), expected)
    if key is None:
        raise InvalidCredentialsError(INVALID_KEY, reason="unknown")
    if not matches:
        raise InvalidCredentialsError(INVALID_KEY, reason="wrong secret")
    status = key.status(now)
    if status != "active":
        raise InvalidCredentialsError(INVALID_KEY, reason=status)
    return key.principal()
