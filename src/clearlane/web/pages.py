"""Signing in and out, the home page of each role, and how errors look in a browser."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from clearlane.api.problems import clearlane_error, status_of
from clearlane.api.security import (
    AUTHENTICATED,
    PUBLIC,
    SESSION_COOKIE,
    Caller,
    allow,
    guard_routes,
    sign_session,
)
from clearlane.api.state import StateDep
from clearlane.audit.log import acting_as
from clearlane.errors import ClearlaneError, InvalidCredentialsError, LoginRateLimitedError
from clearlane.services import accounts
from clearlane.web.access import CSRF_FIELD, SignInRequired, page, sign_in_url
from clearlane.web.admin import router as admin_router
from clearlane.web.analyst import router as analyst_router
from clearlane.web.data import router as data_router
from clearlane.web.maps import router as maps_router
from clearlane.web.models import router as models_router
from clearlane.web.officer import router as officer_router
from clearlane.web.readiness import router as readiness_router
from clearlane.web.reference import router as reference_router
from clearlane.web.render import PAGE_HEADERS, render
from clearlane.web.rules import router as rules_router

LOGIN_CSRF_COOKIE = "clearlane_login_csrf"
"""Double-submit token of the sign-in form (there is no session yet to hold one)."""
STATIC_PATH = "/static"

router = APIRouter(include_in_schema=False)


def _local(path: str | None) -> str:
    """``path`` if it is a path of this site, else ``/`` (never a redirect to elsewhere)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def home_of(role: str) -> str:
    """The first page of a role."""
    return {"officer": "/queue", "auditor": "/audit"}.get(role, "/home")


@router.get("/", dependencies=[allow(PUBLIC)])
def root() -> Response:
    return RedirectResponse("/home", 303)


@router.get("/login", dependencies=[allow(PUBLIC)])
def login_form(request: Request, next: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", next_path=_local(next), login_token=token,
                      error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login", dependencies=[allow(PUBLIC)])
def login(request: Request, state: StateDep, name: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=1000)],
          csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_again(request, next, "login/expired", 400)
    try:
        with acting_as(f"user:{name}"):
            principal = accounts.login(state.workspace, name, password, settings=state.settings)
            created = accounts.create_session(state.workspace, principal.name,
                                              settings=state.settings)
    except LoginRateLimitedError:
        return _login_again(request, next, "login/locked", 429)
    except InvalidCredentialsError:
        return _login_again(request, next, "login/refused", 401)
    target = _local(next)
    response = RedirectResponse(home_of(principal.role) if target == "/" else target, 303)
    cookie = sign_session(created.session_id, state.settings.secret_key.get_secret_value())
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict",
                        secure=state.settings.cookie_secure, path="/",
                        max_age=state.settings.session_lifetime_minutes * 60)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _login_again(request: Request, next_path: str, error: str, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status_code=status, next_path=_local(next_path),
                      login_token=token, error=error)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/logout")
def logout(caller: Annotated[Caller, page(AUTHENTICATED)], state: StateDep) -> Response:
    if caller.session_id is not None:
        accounts.end_session(state.workspace, caller.session_id)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/home")
def home(request: Request, caller: Annotated[Caller, page(AUTHENTICATED)]) -> Response:
    """The landing page: an officer's is the queue; the others see their menu."""
    if home_of(caller.principal.role) != "/home":
        return RedirectResponse(home_of(caller.principal.role), 303)
    return render(request, "home.html")


async def _web_or_problem(request: Request, error: Exception) -> Response:
    """Errors of a page as a page (sign-in redirect, 403, 404, …); of the API as a problem."""
    if request.url.path.startswith("/api/"):
        return await clearlane_error(request, error)
    if isinstance(error, SignInRequired):
        return RedirectResponse(sign_in_url(error.next_path), 303, headers=PAGE_HEADERS)
    assert isinstance(error, ClearlaneError)
    status, _slug, title = status_of(error)
    if status == 401:
        return RedirectResponse(sign_in_url(request.url.path), 303, headers=PAGE_HEADERS)
    return await run_in_threadpool(render, request, "error.html", status, title=title,
                                   message=str(error),
                                   problems=getattr(error, "problems", None) or [])


def install_web(app: FastAPI) -> None:
    """Add the pages (each router guarded: deny by default), their static files (public by
    design) and their error pages to ``app``."""
    for web_router in (router, officer_router, analyst_router, maps_router, models_router,
                       rules_router, data_router, reference_router, admin_router,
                       readiness_router):
        guard_routes(web_router.routes)
        app.include_router(web_router)
    app.mount(STATIC_PATH, StaticFiles(packages=[("clearlane.web", "static")]), name="static")
    app.add_exception_handler(ClearlaneError, _web_or_problem)

