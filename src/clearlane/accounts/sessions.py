"""Server-side sessions and the failed-login limit.

A session id is random; the cookie holds only the id and the store keeps only its SHA-256, so
someone who reads the database cannot take over a session. Each session has a CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Session:
    """A stored session (times naive UTC); ``id_sha256`` is the SHA-256 of its id."""

    id_sha256: str
    user_name: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class NewSession:
    """A session just created and its id (for the cookie), which is not stored."""

    session: Session
    session_id: str


def session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_session(user_name: str, now: datetime, lifetime: timedelta) -> NewSession:
    session_id = secrets.token_urlsafe(32)
    session = Session(
        id_sha256=session_digest(session_id), user_name=user_name,
        csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=now + lifetime,
    )
    return NewSession(session=session, session_id=session_id)


@dataclass(frozen=True)
class LoginLimit:
    """At most ``max_failures`` failed logins per user name within ``window``."""

    max_failures: int
    window: timedelta

    def blocked_until(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """When logins open again, given the failures since the last success; None if open.

        >>> from datetime import datetime, timedelta
        >>> limit = LoginLimit(2, timedelta(minutes=15))
        >>> t = datetime(2026, 1, 1, 12, 0)
        >>> limit.blocked_until([t], t) is None
        True
        >>> limit.blocked_until([t, t + timedelta(minutes=1)], t + timedelta(minutes=2))
        datetime.datetime(2026, 1, 1, 12, 15)
        >>> limit.blocked_until([t, t], t + timedelta(minutes=15)) is None
        True
        """
        recent = sorted(f for f in failures if now - self.window < f <= now)
        if len(recent) < self.max_failures:
            return None
        # open again once the oldest failure that still counts leaves the window
        return recent[len(recent) - self.max_failures] + self.window
