"""Who is calling and what they may do: every route declares one access rule; deny by default.

A caller authenticates with an API key (``Authorization: Bearer clk_…`` or ``X-API-Key``) or a
session cookie set by ``POST /api/v1/auth/login``. A request authenticated by cookie that
changes state must carry the session's CSRF token in ``X-CSRF-Token``. Each route states its
rule with :class:`Allow` (a permission from the one table in
:mod:`clearlane.accounts.roles`), :data:`AUTHENTICATED` or :data:`PUBLIC`;
:func:`guard_routes` refuses to build an app in which a route states none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Mount, Route

from clearlane.accounts.keys import split_token as split_key_token
from clearlane.accounts.roles import Principal, check_permission_name
from clearlane.api.state import app_state
from clearlane.audit.log import _ACTOR
from clearlane.errors import InvalidCredentialsError, PermissionDeniedError
from clearlane.services import accounts

SESSION_COOKIE = "clearlane_session"
CSRF_HEADER = "X-CSRF-Token"
API_KEY_HEADER = "X-API-Key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = "public"
AUTHENTICATED = "authenticated"


def sign_session(session_id: str, secret: str) -> str:
    """The cookie value: the session id and an HMAC of it under the server secret."""
    mac = hmac.new(secret.encode(), session_id.encode(), hashlib.sha256).digest()
    return f"{session_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def unsign_session(cookie: str, secret: str) -> str | None:
    """The session id of a cookie signed with ``secret``, else None."""
    session_id, _, _mac = cookie.rpartition(".")
    # bytes: compare_digest refuses str with non-ASCII characters (a forged cookie may have any)
    expected = sign_session(session_id, secret).encode()
    if not session_id or not secrets.compare_digest(expected, cookie.encode()):
        return None
    return session_id


@dataclass(frozen=True)
class Caller:
    """An authenticated principal and how it authenticated (``key`` or ``session``)."""

    principal: Principal
    via: str
    csrf_token: str | None = None
    session_id: str | None = None
    key_prefix: str | None = None

    @property
    def actor(self) -> str:
        """The audit trail's name for the caller: ``user:NAME`` or ``key:NAME/PREFIX`` (key
        names need not be unique; the prefix is)."""
        if self.key_prefix is not None:
            return f"key:{self.principal.name}/{self.key_prefix}"
        return f"user:{self.principal.name}"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get(API_KEY_HEADER) or None


def authenticate(request: Request, csrf_token: str | None = None) -> Caller | None:
    """The caller of ``request``, None when it carries no credentials.

    Credentials that are present but wrong (an unknown, expired or revoked key; a forged,
    unknown or expired session) raise :class:`InvalidCredentialsError`; so does a cookie
    request that changes state without the session's CSRF token (in the ``X-CSRF-Token``
    header, or ``csrf_token`` when the caller read it from a web form).
    """
    state = app_state(request)
    token = _bearer(request)
    if token is not None:
        principal = accounts.authenticate_key(state.workspace, token)
        return Caller(principal, "key", key_prefix=split_key_token(token)[0])
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    session_id = unsign_session(cookie, state.settings.secret_key.get_secret_value())
    if session_id is None:
        raise InvalidCredentialsError(accounts.INVALID_SESSION, reason="bad cookie signature")
    principal, session = accounts.validate_session(state.workspace, session_id)
    if request.method not in SAFE_METHODS:
        sent = csrf_token if csrf_token is not None else request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise PermissionDeniedError(
                f"a request signed in by cookie that changes state needs the session's CSRF "
                f"token in the {CSRF_HEADER} header (from the login response or GET "
                "/api/v1/auth/me)")
    return Caller(principal, "session", session.csrf_token, session_id)


class Allow:
    """A route's access rule: a permission, :data:`AUTHENTICATED` or :data:`PUBLIC`.

    Used as a dependency it authenticates the caller, refuses with 401 (no or bad
    credentials) or 403 (the role lacks the permission), and names the caller as the actor
    of every audit entry the request writes.
    """

    def __init__(self, permission: str) -> None:
        if permission not in (PUBLIC, AUTHENTICATED):
            check_permission_name(permission)
        self.permission = permission

    def __repr__(self) -> str:
        return f"Allow({self.permission!r})"

    async def __call__(self, request: Request) -> Caller | None:
        if self.permission == PUBLIC:
            return None
        caller = await run_in_threadpool(authenticate, request)
        if caller is None:
            raise InvalidCredentialsError(
                "authentication required: send an API key (Authorization: Bearer clk_…) or "
                "log in at POST /api/v1/auth/login", reason="no credentials")
        if self.permission != AUTHENTICATED:
            caller.principal.require(self.permission)
        # an async dependency runs in the request's context: the route (run in a worker
        # thread with a copy of that context) and the services it calls see the actor
        _ACTOR.set(caller.actor)
        request.state.caller = caller
        return caller


def access_rule(route: APIRoute) -> str | None:
    """The permission (or PUBLIC / AUTHENTICATED) a route states, None when it states none.

    Every ``Allow`` of a route is enforced, so with several the strictest is the rule: a
    permission over AUTHENTICATED over PUBLIC; two different permissions are refused (the
    route would need both, which the one-permission ``x-permission`` cannot say).
    """
    rules: set[str] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, Allow):
            rules.add(dependant.call.permission)
        stack.extend(dependant.dependencies)
    permissions = sorted(rules - {PUBLIC, AUTHENTICATED})
    if len(permissions) > 1:
        raise RuntimeError(f"route {sorted(route.methods or ())} {route.path} states several "
                           f"permissions {permissions}; state one")
    if permissions:
        return permissions[0]
    return AUTHENTICATED if AUTHENTICATED in rules else (PUBLIC if rules else None)


def guard_routes(routes: Iterable[BaseRoute], public_paths: Iterable[str] = ()) -> None:
    """Refuse a route that states no access rule (deny by default), and record each route's
    rule in its OpenAPI operation as ``x-permission``.

    Call it on each router *before* it is included (an app lists included routers as one
    entry each) and on the app's own routes; ``public_paths`` names plain routes (the OpenAPI
    document) that are public by design.
    """
    public = set(public_paths)
    for route in routes:
        if isinstance(route, APIRoute):
            rule = access_rule(route)
            if rule is None:
                raise RuntimeError(
                    f"route {sorted(route.methods or ())} {route.path} states no access rule; give "
                    "it a Depends(Allow(...)) (deny by default)")
            route.openapi_extra = {**(route.openapi_extra or {}), "x-permission": rule}
        elif isinstance(route, Route | Mount) and route.path not in public:
            raise RuntimeError(f"{type(route).__name__} {route.path} states no access rule "
                               "and is not declared public")


def allow(permission: str) -> Any:
    """``Depends(Allow(permission))``: annotate a route parameter ``Annotated[Caller, allow(P)]``."""
    return Depends(Allow(permission))
