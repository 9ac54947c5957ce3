"""Authentication over a real uvicorn server: session cookies and CSRF, expiry, the login rate
limit, API key expiry and revocation, and answers that never say which part was wrong.

Time is moved by rewriting the stored times (``expires_at`` of a session or key, the
``attempted_at`` of failed logins) through a connection of this process to the database the
server holds: the server then meets exactly what it would meet once the time has passed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import OFFICE, PASSWORD, Server
from tests.api.guard_fixtures import (
    audit_environment,
    cookie_of,
    database,
    entries,
    new_workspace,
    running,
)

from clearlane.accounts.roles import ROLE_PERMISSIONS
from clearlane.api.security import CSRF_HEADER, SESSION_COOKIE, sign_session
from clearlane.services.accounts import INVALID_SESSION

ME = "/api/v1/auth/me"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"


def login(http: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return http.post(LOGIN, json={"name": name, "password": password})


@contextmanager
def logged_in(server: Server, name: str = "admin") -> Iterator[tuple[httpx.Client, str]]:
    """A client holding a session cookie of ``name``, and the session's CSRF token."""
    with server.client() as http:
        response = login(http, name)
        assert response.status_code == 200, response.text
        yield http, response.json()["csrf_token"]


def assert_unauthenticated(response: httpx.Response) -> str:
    """A 401 problem with a WWW-Authenticate challenge; returns its detail."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "urn:clearlane:problem:unauthenticated"
    return str(body["detail"])


# -- sessions ---------------------------------------------------------------------------------
def test_login_sets_an_httponly_strict_cookie_and_returns_the_csrf_token(server: Server) -> None:
    with server.client() as http:
        response = login(http, "analyst")
        assert response.status_code == 200
        body = response.json()
        header = cookie_of(response, SESSION_COOKIE)
        attributes = {part.strip().split("=")[0].lower(): part.strip()
                      for part in header.split(";")[1:]}
        assert "httponly" in attributes
        assert attributes["samesite"].lower() == "samesite=strict"
        assert attributes["path"] == "Path=/"
        assert attributes["max-age"] == f"Max-Age={server.settings.session_lifetime_minutes * 60}"
        assert "secure" not in attributes  # cookie_secure is off in the test settings
        assert (body["name"], body["role"], body["via"]) == ("analyst", "analyst", "session")
        assert len(body["csrf_token"]) >= 32
        me = http.get(ME).json()
    assert (me["name"], me["via"], me["csrf_token"]) == ("analyst", "session", body["csrf_token"])
    assert set(me["permissions"]) == ROLE_PERMISSIONS["analyst"]


def test_answers_that_carry_a_secret_are_not_cached(server: Server) -> None:
    with server.client() as http:
        assert login(http, "auditor").headers["cache-control"] == "no-store"
        assert http.get(ME).headers["cache-control"] == "no-store"
    with server.client("admin") as admin:
        created = admin.post("/api/v1/keys", json={"name": "k", "role": "system"})
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"


def test_a_copy_of_the_database_holds_no_usable_secret(server: Server) -> None:
    """Read every text of every table after logins and key use: no password, API key secret,
    session id or server secret is there (only their hashes and digests)."""
    with logged_in(server) as (http, csrf):
        session_id = http.cookies[SESSION_COOKIE].rpartition(".")[0]
        created = http.post("/api/v1/keys", headers={CSRF_HEADER: csrf},
                            json={"name": "asycuda", "role": "system"}).json()
    secrets_ = {
        "password": PASSWORD,
        "session id": session_id,
        "server secret": server.settings.secret_key.get_secret_value(),
        **{f"{role} key": token.split(".")[1] for role, token in server.tokens.items()},
        "new key": created["token"].split(".")[1],
    }
    with server.client("system") as system:
        assert system.get(ME).status_code == 200
    with database(server.workspace) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'").fetchall()]
        text = "\n".join(str(row) for table in tables
                         for row in con.execute(f'SELECT * FROM "{table}"').fetchall())
        stored = [r[0] for r in con.execute("SELECT id_sha256 FROM sessions").fetchall()]
    assert {"users", "api_keys", "sessions", "audit_log"} <= set(tables)
    assert "argon2" in text and created["prefix"] in text  # the table dump is not empty
    found = [what for what, secret in secrets_.items() if secret in text]
    assert not found, f"stored in the database: {found}"
    assert hashlib.sha256(session_id.encode()).hexdigest() in stored


def test_cookie_secure_marks_the_cookie_secure(tmp_path: Path) -> None:
    with audit_environment(tmp_path):
        workspace, tokens = new_workspace(tmp_path)
        with running(workspace, tokens, cookie_secure=True) as server, server.client() as http:
            header = cookie_of(login(http, "admin"), SESSION_COOKIE)
    assert "secure" in [p.strip().lower() for p in header.split(";")]


def test_a_state_change_by_cookie_needs_the_csrf_token(server: Server) -> None:
    new_user = {"name": "dana", "role": "auditor", "password": "another long password"}
    with logged_in(server) as (http, csrf):
        missing = http.post("/api/v1/users", json=new_user)
        wrong = http.post("/api/v1/users", json=new_user,
                          headers={CSRF_HEADER: secrets.token_urlsafe(32)})
        for refused in (missing, wrong):
            assert refused.status_code == 403
            assert CSRF_HEADER in refused.json()["detail"]
        assert "dana" not in {u["name"] for u in http.get("/api/v1/users").json()}
        created = http.post("/api/v1/users", json=new_user, headers={CSRF_HEADER: csrf})
        assert created.status_code == 201, created.text
        assert "dana" in {u["name"] for u in http.get("/api/v1/users").json()}
    # an API key is not a cookie: no CSRF token needed
    with server.client("admin") as keyed:
        assert keyed.post("/api/v1/users", json={**new_user, "name": "erin"}).status_code == 201


@pytest.mark.parametrize("forge", ["mac", "session id", "other secret", "unsigned", "unknown"])
def test_a_forged_or_tampered_cookie_is_refused(server: Server, forge: str) -> None:
    with logged_in(server) as (http, _):
        cookie = http.cookies[SESSION_COOKIE]
    session_id, _, mac = cookie.rpartition(".")
    secret = server.settings.secret_key.get_secret_value()
    flip = {"A": "B"}.get(mac[0], "A")
    forged = {
        "mac": f"{session_id}.{flip}{mac[1:]}",
        "session id": f"{session_id[:-1]}{'x' if session_id[-1] != 'x' else 'y'}.{mac}",
        "other secret": sign_session(session_id, "s" * 40),
        "unsigned": session_id,
        "unknown": sign_session(secrets.token_urlsafe(32), secret),  # signed, never issued
    }[forge]
    with server.client() as stranger:
        stranger.cookies.set(SESSION_COOKIE, forged)
        # the one answer for every bad session: it never says the signature was the problem
        assert assert_unauthenticated(stranger.get(ME)) == INVALID_SESSION


def test_logout_ends_the_session(server: Server) -> None:
    with logged_in(server) as (http, csrf):
        cookie = http.cookies[SESSION_COOKIE]
        response = http.post(LOGOUT, headers={CSRF_HEADER: csrf})
        assert response.status_code == 204
        assert f"{SESSION_COOKIE}=" in response.headers["set-cookie"]
    with server.client() as replay:  # the old cookie, kept by someone who copied it
        replay.cookies.set(SESSION_COOKIE, cookie)
        assert_unauthenticated(replay.get(ME))
    with database(server.workspace) as con:
        assert con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def test_an_expired_session_is_refused_and_deleted(server: Server) -> None:
    with logged_in(server) as (http, _):
        assert http.get(ME).status_code == 200
        with database(server.workspace) as con:  # the session's lifetime passes
            con.execute("UPDATE sessions SET expires_at = now()::TIMESTAMP - INTERVAL 1 SECOND")
        assert assert_unauthenticated(http.get(ME)) == INVALID_SESSION
    with database(server.workspace) as con:
        assert con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def test_a_session_lasts_the_configured_lifetime(tmp_path: Path) -> None:
    with audit_environment(tmp_path):
        workspace, tokens = new_workspace(tmp_path)
        with running(workspace, tokens, session_lifetime_minutes=2) as server, \
                server.client() as http, database(workspace) as con:
            response = login(http, "admin")
            assert "Max-Age=120" in cookie_of(response, SESSION_COOKIE)
            lifetime = con.execute(
                "SELECT epoch(expires_at) - epoch(created_at) FROM sessions").fetchone()
            assert lifetime == (120,)
            # a minute before the end it still works; at the end it does not
            con.execute("UPDATE sessions SET expires_at = now()::TIMESTAMP + INTERVAL 1 MINUTE")
            assert http.get(ME).status_code == 200
            con.execute("UPDATE sessions SET expires_at = now()::TIMESTAMP")
            assert_unauthenticated(http.get(ME))


@pytest.mark.parametrize("change", ["deactivate", "password"])
def test_deactivating_a_user_or_changing_the_password_ends_their_sessions(
        server: Server, change: str) -> None:
    with logged_in(server, "analyst") as (http, _), server.client("admin") as admin:
        assert http.get(ME).status_code == 200
        if change == "deactivate":
            done = admin.post("/api/v1/users/analyst:deactivate")
        else:
            done = admin.put("/api/v1/users/analyst/password",
                             json={"password": "a brand new long password"})
        assert done.status_code in (200, 204), done.text
        assert_unauthenticated(http.get(ME))
        again = login(http, "analyst")
    if change == "deactivate":
        assert_unauthenticated(again)
    else:
        assert_unauthenticated(again)  # the old password no longer works


# -- the login rate limit ---------------------------------------------------------------------
def test_failed_logins_are_limited_audited_and_the_limit_ends_with_the_window(
        server: Server) -> None:
    limit = server.settings.login_max_failures
    assert limit == 3
    with server.client() as http:
        details = {assert_unauthenticated(login(http, "officer", f"wrong guess {i:02d}"))
                   for i in range(limit)}
        refused = login(http, "officer")  # the right password, too late
        assert refused.status_code == 429
        body = refused.json()
        assert body["type"] == "urn:clearlane:problem:too-many-login-attempts"
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert PASSWORD not in refused.text
        # another name is not limited by officer's failures
        assert login(http, "auditor").status_code == 200
        failures = [e for e in entries(server.workspace)
                    if e.action == "login.failure" and e.object_id == "officer"]
        assert len(failures) == limit  # the refused attempt is not one of them
        assert {e.actor for e in failures} == {"user:officer"}
        assert all('"reason":"wrong password"' in e.change for e in failures)
        assert details == {"invalid user name or password"}
        with database(server.workspace) as con:  # the window passes
            con.execute("UPDATE login_attempts SET attempted_at = attempted_at - INTERVAL "
                        f"{server.settings.login_window_minutes} MINUTE")
        assert login(http, "officer").status_code == 200


def test_a_login_never_says_which_part_was_wrong(server: Server) -> None:
    with server.client("admin") as admin:
        admin.post("/api/v1/users/system:deactivate").raise_for_status()
    with server.client() as http:
        details = {
            assert_unauthenticated(login(http, "nobody-at-all")),
            assert_unauthenticated(login(http, "analyst", "not the password at all")),
            assert_unauthenticated(login(http, "system")),  # right password, inactive user
        }
    assert len(details) == 1


# -- API keys ---------------------------------------------------------------------------------
def test_an_api_key_authenticates_by_either_header(server: Server) -> None:
    token = server.tokens["auditor"]
    with server.client() as http:
        bearer = http.get(ME, headers={"Authorization": f"Bearer {token}"}).json()
        header = http.get(ME, headers={"X-API-Key": token}).json()
    assert bearer == header
    assert (bearer["name"], bearer["kind"], bearer["via"]) == ("auditor-key", "api key", "key")


def _create_key(server: Server, **body: object) -> dict[str, str]:
    with server.client("admin") as admin:
        response = admin.post("/api/v1/keys", json={"name": "clearance", "role": "system",
                                                    **body})
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


def test_an_expired_key_is_refused(server: Server) -> None:
    key = _create_key(server, expires_days=1)
    with server.client() as http:
        headers = {"Authorization": f"Bearer {key['token']}"}
        assert http.get(ME, headers=headers).status_code == 200
        with database(server.workspace) as con:  # the day passes
            con.execute("UPDATE api_keys SET expires_at = now()::TIMESTAMP - INTERVAL 1 SECOND "
                        "WHERE prefix = ?", [key["prefix"]])
        assert_unauthenticated(http.get(ME, headers=headers))


def test_a_revoked_key_is_refused_and_the_revocation_is_listed(server: Server) -> None:
    key = _create_key(server)
    assert key["token"].startswith(key["prefix"] + ".")
    with server.client() as http:
        headers = {"Authorization": f"Bearer {key['token']}"}
        assert http.get(ME, headers=headers).status_code == 200
        with server.client("admin") as admin:
            revoked = admin.post(f"/api/v1/keys/{key['prefix']}:revoke")
            assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
            listed = {k["prefix"]: k for k in admin.get("/api/v1/keys").json()}
            assert listed[key["prefix"]]["revoked_at"] is not None
            assert "token" not in listed[key["prefix"]]
            assert key["token"].split(".")[1] not in admin.get("/api/v1/keys").text
        assert_unauthenticated(http.get(ME, headers=headers))


def test_a_key_lasts_the_servers_default_expiry(tmp_path: Path) -> None:
    with audit_environment(tmp_path):
        workspace, tokens = new_workspace(tmp_path)
        with running(workspace, tokens, api_key_expiry_days=7) as server:
            key = _create_key(server)
            explicit = _create_key(server, expires_days=2)
    for created, days in ((key, 7), (explicit, 2)):
        lifetime = (datetime.fromisoformat(created["expires_at"])
                    - datetime.fromisoformat(created["created_at"]))
        assert lifetime == timedelta(days=days)


def test_a_key_that_does_not_authenticate_never_says_why(server: Server) -> None:
    expired, revoked, good = (_create_key(server, name=n) for n in ("old", "gone", "good"))
    with database(server.workspace) as con:
        con.execute("UPDATE api_keys SET expires_at = TIMESTAMP '2000-01-01' WHERE prefix = ?",
                    [expired["prefix"]])
    with server.client("admin") as admin:
        admin.post(f"/api/v1/keys/{revoked['prefix']}:revoke").raise_for_status()
    prefix, _, secret = good["token"].partition(".")
    tokens = {
        "malformed": "not-a-key",
        "unknown prefix": f"clk_{'0' * 8}.{secret}",
        "wrong secret": f"{prefix}.{secrets.token_urlsafe(32)}",
        "expired": expired["token"],
        "revoked": revoked["token"],
    }
    details = {}
    with server.client() as http:
        for why, token in tokens.items():
            response = http.get(ME, headers={"Authorization": f"Bearer {token}"})
            details[why] = assert_unauthenticated(response)
            assert token not in response.text
        assert http.get(ME, headers={"Authorization": f"Bearer {good['token']}"}).is_success
    assert len(set(details.values())) == 1, details


@pytest.mark.parametrize("header", [
    (b"cookie", SESSION_COOKIE.encode() + b"=forged\xe9.mac\xff"),
    (b"authorization", b"Bearer clk_0000\xe9000.secret-with-latin-1-\xff"),
    (b"x-api-key", b"\xff\xfe"),
], ids=["cookie", "bearer", "x-api-key"])
def test_credentials_with_non_ascii_bytes_are_refused_not_crashed_on(
        server: Server, header: tuple[bytes, bytes]) -> None:
    with server.client() as http:
        assert_unauthenticated(http.get(ME, headers=[header]))


def test_no_credentials_is_a_401_with_a_challenge(server: Server) -> None:
    with server.client() as http:
        detail = assert_unauthenticated(http.get(ME))
    assert "API key" in detail


# -- office scope -----------------------------------------------------------------------------
def test_an_officer_key_is_scoped_to_its_offices(server: Server) -> None:
    with server.client("officer") as http:
        me = http.get(ME).json()
        assert (me["role"], me["offices"]) == ("officer", [OFFICE])
        assert set(me["permissions"]) == ROLE_PERMISSIONS["officer"]
        assert http.get("/api/v1/keys").status_code == 403
    with server.client("admin") as admin:
        unscoped = admin.post("/api/v1/keys", json={"name": "o", "role": "officer"})
        assert unscoped.status_code == 422
        assert unscoped.json()["errors"][0]["field"] == "office"
        scoped = admin.post("/api/v1/keys", json={"name": "o", "role": "officer",
                                                  "offices": ["LOS02"]})
        assert scoped.status_code == 201
    with server.client() as http:
        me = http.get(ME, headers={"Authorization": f"Bearer {scoped.json()['token']}"}).json()
    assert me["offices"] == ["LOS02"]
