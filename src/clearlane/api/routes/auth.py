"""Log in and out with a user name and password: a server-side session in a signed cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.security import (
    AUTHENTICATED,
    PUBLIC,
    SESSION_COOKIE,
    Caller,
    allow,
    sign_session,
)
from clearlane.api.state import StateDep
from clearlane.audit.log import acting_as
from clearlane.services import accounts

NO_STORE = "no-store"
"""For answers that carry a secret (a CSRF token, a new API key): never kept by a cache."""

router = APIRouter(prefix="/api/v1/auth", tags=["authentication"], responses=ERROR_RESPONSES)


class LoginRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class Me(BaseModel):
    """The caller: name, role, offices (empty: all), how it authenticated, and for a session
    the CSRF token to send as ``X-CSRF-Token`` on requests that change state."""

    name: str
    role: str
    kind: str
    offices: list[str]
    via: str
    csrf_token: str | None = None
    permissions: list[str]


def _me(caller: Caller) -> Me:
    from clearlane.accounts.roles import ROLE_PERMISSIONS

    p = caller.principal
    return Me(name=p.name, role=p.role, kind=p.kind, offices=sorted(p.offices), via=caller.via,
              csrf_token=caller.csrf_token,
              permissions=sorted(ROLE_PERMISSIONS.get(p.role, frozenset())))


@router.post("/login", dependencies=[allow(PUBLIC)], response_model=Me,
             responses={429: ERROR_RESPONSES[401] | {"description": "Too many failed logins"}})
def login(body: LoginRequest, state: StateDep, response: Response) -> Me:
    """Check a user's password and open a session (cookie ``clearlane_session``, HttpOnly,
    SameSite=Strict). Failed logins of one name are limited; every attempt is audited."""
    with acting_as(f"user:{body.name}"):
        principal = accounts.login(state.workspace, body.name, body.password,
                                   settings=state.settings)
        created = accounts.create_session(state.workspace, principal.name,
                                          settings=state.settings)
    cookie = sign_session(created.session_id, state.settings.secret_key.get_secret_value())
    response.headers["Cache-Control"] = NO_STORE
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict",
                        secure=state.settings.cookie_secure, path="/",
                        max_age=state.settings.session_lifetime_minutes * 60)
    return _me(Caller(principal, "session", created.session.csrf_token, created.session_id))


@router.post("/logout", status_code=204)
def logout(caller: Annotated[Caller, allow(AUTHENTICATED)], state: StateDep) -> Response:
    """End the caller's session (a no-op for an API key) and clear the cookie."""
    if caller.session_id is not None:
        accounts.end_session(state.workspace, caller.session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me)
def me(caller: Annotated[Caller, allow(AUTHENTICATED)], response: Response) -> Me:
    """Who the caller is and what their role may do."""
    response.headers["Cache-Control"] = NO_STORE
    return _me(caller)
