"""Account use cases: users, API keys, logins (rate-limited) and server-side sessions.

Every function takes ``now`` (naive UTC) so that tests can move the clock; None means now.
Limits come from :class:`~clearlane.settings.Settings`, read at call time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from clearlane.accounts.keys import ApiKey, NewApiKey, authenticate, check_prefix, generate_key
from clearlane.accounts.keys import split_token as split_key_token
from clearlane.accounts.passwords import (
    burn_verify_time,
    hash_password,
    verify_and_rehash,
)
from clearlane.accounts.roles import Principal, check_role, normalise_offices
from clearlane.accounts.sessions import LoginLimit, NewSession, Session, new_session, session_digest
from clearlane.accounts.users import User, check_user_name
from clearlane.errors import (
    ConflictError,
    InvalidCredentialsError,
    LoginRateLimitedError,
    NotFoundError,
)
from clearlane.services import audit
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

INVALID_LOGIN = "invalid user name or password"
INVALID_SESSION = "invalid or expired session"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- users -----------------------------------------------------------------------------------
_USER_COLUMNS = "name, role, offices, password_hash, active, created_at"


def _user(row: tuple[Any, ...]) -> User:
    return User(name=row[0], role=row[1], offices=frozenset(row[2] or ()), password_hash=row[3],
                active=bool(row[4]), created_at=row[5])


def add_user(workspace: Workspace, name: str, role: str, password: str,
             offices: Iterable[str] = (), now: datetime | None = None) -> User:
    """Add an active user; an officer needs at least one office. A taken name is a conflict."""
    now = now or utcnow()
    check_user_name(name)
    check_role(role)
    scoped = normalise_offices(role, offices)
    password_hash = hash_password(password)
    with workspace.transaction() as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchall():
            raise ConflictError(f"user {name!r} already exists; choose another name")
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?, TRUE, ?, ?)",
                    [name, role, sorted(scoped), password_hash, now, now])
        audit.record(con, action="user.add", object_type="user", object_id=name,
                     change={"role": role, "offices": sorted(scoped)})
    return User(name, role, scoped, password_hash, True, now)


def get_user(workspace: Workspace, name: str) -> User:
    rows = workspace_rows(workspace, f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", [name])
    if not rows:
        raise NotFoundError(f"no user {name!r}; see `clearlane users list`")
    return _user(rows[0])


def list_users(workspace: Workspace) -> list[User]:
    return [_user(r) for r in workspace_rows(
        workspace, f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")]


def set_password(workspace: Workspace, name: str, password: str,
                 now: datetime | None = None) -> None:
    """Replace a user's password; their sessions end."""
    now = now or utcnow()
    password_hash = hash_password(password)
    get_user(workspace, name)
    with workspace.transaction() as con:
        con.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?",
                    [password_hash, now, name])
        con.execute("DELETE FROM sessions WHERE user_name = ?", [name])
        audit.record(con, action="user.password", object_type="user", object_id=name,
                     change={"sessions_ended": True})


def deactivate_user(workspace: Workspace, name: str, now: datetime | None = None) -> User:
    """Deactivate a user: they can no longer log in, and their sessions end."""
    now = now or utcnow()
    user = get_user(workspace, name)
    with workspace.transaction() as con:
        con.execute("UPDATE users SET active = FALSE, updated_at = ? WHERE name = ?", [now, name])
        con.execute("DELETE FROM sessions WHERE user_name = ?", [name])
        audit.record(con, action="user.deactivate", object_type="user", object_id=name,
                     change={"active": False})
    return User(user.name, user.role, user.offices, user.password_hash, False, user.created_at)


# -- logins ----------------------------------------------------------------------------------
def login_limit(settings: Settings | None = None) -> LoginLimit:
    settings = settings or Settings()
    return LoginLimit(settings.login_max_failures,
                      timedelta(minutes=settings.login_window_minutes))


def login(workspace: Workspace, name: str, password: str, now: datetime | None = None,
          settings: Settings | None = None) -> Principal:
    """The principal of an active user whose password matches.

    After ``login_max_failures`` failures of one user name within ``login_window_minutes``,
    every login of that name is refused with :class:`LoginRateLimitedError` (even with the
    right password) until the window passes; a refused attempt is not counted, so the lock
    cannot be extended forever. A success resets the count. Any other failure is one
    :class:`InvalidCredentialsError` that does not say whether the name exists.
    """
    now = now or utcnow()
    limit = login_limit(settings)
    with workspace.transaction() as con:
        failures = [r[0] for r in con.execute(
            """SELECT attempted_at FROM login_attempts
               WHERE user_name = ? AND NOT succeeded AND attempted_at > ?
                 AND attempted_at > coalesce((SELECT max(attempted_at) FROM login_attempts
                                              WHERE user_name = ? AND succeeded),
                                             TIMESTAMP '1970-01-01')""",
            [name, now - limit.window, name]).fetchall()]
        blocked_until = limit.blocked_until(failures, now)
        if blocked_until is not None:
            # refused attempts are on the record but not counted (the lock cannot be extended)
            audit.record(con, action="login.refused", object_type="user", object_id=name,
                         change={"succeeded": False, "reason": "rate limited",
                                 "until": blocked_until})
        else:
            ok, user, _, reason = _check_password(con, name, password, now)
    if blocked_until is not None:
        raise LoginRateLimitedError(
            f"too many failed logins for {name!r} ({limit.max_failures} within "
            f"{int(limit.window.total_seconds() // 60)} minutes); try again after "
            f"{blocked_until:%Y-%m-%d %H:%M:%S} UTC")
    if not ok or user is None:
        raise InvalidCredentialsError(INVALID_LOGIN, reason=reason)
    return user.principal()


def _check_password(con: Any, name: str, password: str, now: datetime
                    ) -> tuple[bool, User | None, str | None, str]:
    """Check one login attempt inside the login transaction; record and audit it."""
    rows = con.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?",
                       [name]).fetchall()
    user = _user(rows[0]) if rows else None
    if user is None:
        burn_verify_time(password)
        ok, new_hash, reason = False, None, "unknown user"
    else:
        ok, new_hash = verify_and_rehash(password, user.password_hash)
        reason = "wrong password"
        if ok and not user.active:
            ok, reason = False, "inactive user"
    con.execute("INSERT INTO login_attempts VALUES (?, ?, ?)", [name, now, ok])
    # the reason stays in the audit trail; the caller only ever sees INVALID_LOGIN
    audit.record(con, action="login.success" if ok else "login.failure",
                 object_type="user", object_id=name,
                 change={"succeeded": ok} if ok else {"succeeded": False, "reason": reason})
    if ok and new_hash is not None:
        con.execute("UPDATE users SET password_hash = ? WHERE name = ?", [new_hash, name])
    return ok, user, new_hash, reason


# -- sessions --------------------------------------------------------------------------------
def create_session(workspace: Workspace, user_name: str, now: datetime | None = None,
                   settings: Settings | None = None) -> NewSession:
    """A new session for an active user (after :func:`login`); its id goes in the cookie."""
    now = now or utcnow()
    lifetime = timedelta(minutes=(settings or Settings()).session_lifetime_minutes)
    user = get_user(workspace, user_name)
    if not user.active:
        raise InvalidCredentialsError(INVALID_SESSION, reason="inactive user")
    created = new_session(user_name, now, lifetime)
    s = created.session
    with workspace.transaction() as con:
        con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                    [s.id_sha256, s.user_name, s.csrf_token, s.created_at, s.expires_at])
    return created


def validate_session(workspace: Workspace, session_id: str,
                     now: datetime | None = None) -> tuple[Principal, Session]:
    """The principal and session of a live session id, else :class:`InvalidCredentialsError`.

    An expired session is deleted when met.
    """
    now = now or utcnow()
    digest = session_digest(session_id)
    with workspace.transaction() as con:
        rows = con.execute(
            "SELECT s.id_sha256, s.user_name, s.csrf_token, s.created_at, s.expires_at, "
            f"{', '.join('u.' + c.strip() for c in _USER_COLUMNS.split(','))} "
            "FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_sha256 = ?",
            [digest]).fetchall()
        if not rows:
            raise InvalidCredentialsError(INVALID_SESSION, reason="unknown session")
        session = Session(*rows[0][:5])
        user = _user(rows[0][5:])
        if session.expired(now):
            con.execute("DELETE FROM sessions WHERE id_sha256 = ?", [digest])
    if session.expired(now):
        raise InvalidCredentialsError(INVALID_SESSION, reason="expired")
    if not user.active:
        raise InvalidCredentialsError(INVALID_SESSION, reason="inactive user")
    return user.principal(), session


def end_session(workspace: Workspace, session_id: str) -> bool:
    """Log out: delete the session; whether there was one."""
    digest = session_digest(session_id)
    with workspace.transaction() as con:
        found = bool(con.execute("SELECT 1 FROM sessions WHERE id_sha256 = ?",
                                 [digest]).fetchall())
        con.execute("DELETE FROM sessions WHERE id_sha256 = ?", [digest])
    return found


def purge_expired_sessions(workspace: Workspace, now: datetime | None = None) -> int:
    """Delete expired sessions; how many."""
    now = now or utcnow()
    with workspace.transaction() as con:
        count = con.execute("SELECT count(*) FROM sessions WHERE expires_at <= ?",
                            [now]).fetchall()[0][0]
        con.execute("DELETE FROM sessions WHERE expires_at <= ?", [now])
    return int(count)


# -- API keys --------------------------------------------------------------------------------
_KEY_COLUMNS = "prefix, name, role, offices, secret_sha256, created_at, expires_at, revoked_at"


def _key(row: tuple[Any, ...]) -> ApiKey:
    return ApiKey(prefix=row[0], name=row[1], role=row[2], offices=frozenset(row[3] or ()),
                  secret_sha256=row[4], created_at=row[5], expires_at=row[6], revoked_at=row[7])


def create_key(workspace: Workspace, name: str, role: str, offices: Iterable[str] = (),
               expires_days: int | None = None, now: datetime | None = None) -> NewApiKey:
    """Create an API key; the returned token is the only copy of its secret."""
    now = now or utcnow()
    created = generate_key(name, role, now, tuple(offices), expires_days)
    k = created.key
    with workspace.transaction() as con:
        con.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [k.prefix, k.name, k.role, sorted(k.offices), k.secret_sha256,
                     k.created_at, k.expires_at, k.revoked_at])
        # never the secret nor its digest: the entry names the key by its visible prefix
        audit.record(con, action="key.create", object_type="api_key", object_id=k.prefix,
                     change={"name": k.name, "role": k.role, "offices": sorted(k.offices),
                             "expires_at": k.expires_at})
    return created


def list_keys(workspace: Workspace) -> list[ApiKey]:
    return [_key(r) for r in workspace_rows(
        workspace, f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, prefix")]


def revoke_key(workspace: Workspace, prefix: str, now: datetime | None = None) -> ApiKey:
    """Revoke a key by its prefix (from then on it authenticates nothing)."""
    now = now or utcnow()
    check_prefix(prefix)
    rows = workspace_rows(workspace, f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE prefix = ?",
                          [prefix])
    if not rows:
        raise NotFoundError(f"no API key {prefix!r}; see `clearlane keys list`")
    key = _key(rows[0])
    if key.revoked_at is not None:
        return key
    with workspace.transaction() as con:
        con.execute("UPDATE api_keys SET revoked_at = ? WHERE prefix = ?", [now, prefix])
        audit.record(con, action="key.revoke", object_type="api_key", object_id=prefix,
                     change={"revoked_at": now})
    return _key((*rows[0][:7], now))


def authenticate_key(workspace: Workspace, token: str, now: datetime | None = None) -> Principal:
    """The principal of an API key token, else :class:`InvalidCredentialsError` with one
    message ("invalid or expired API key") whatever was wrong."""
    now = now or utcnow()
    prefix, secret = split_key_token(token)
    rows = workspace_rows(workspace, f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE prefix = ?",
                          [prefix])
    return authenticate(_key(rows[0]) if rows else None, secret, now)


def workspace_rows(workspace: Workspace, sql: str,
                   params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with workspace.connect() as con:
        return con.execute(sql, params or []).fetchall()
