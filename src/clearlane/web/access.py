"""Who may see a page: the API's access rules, answered the way a browser expects.

A page states its rule with :func:`page` (a permission from :mod:`clearlane.accounts.roles`, or
:data:`~clearlane.api.security.AUTHENTICATED`), exactly as an API route does with ``allow``:
:func:`~clearlane.api.security.guard_routes` refuses a page that states none. Without a
session the browser is sent to the sign-in page; a role without the permission gets a page
that says so (403). A form that changes state carries the session's CSRF token in a hidden
``csrf_token`` field (htmx sends it as the ``X-CSRF-Token`` header).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from clearlane.api.security import AUTHENTICATED, SAFE_METHODS, Allow, Caller, authenticate
from clearlane.audit.log import _ACTOR
from clearlane.errors import ClearlaneError, InvalidCredentialsError

CSRF_FIELD = "csrf_token"
FORM_MAX_PART_BYTES = 11 * 1024 * 1024
"""Largest part of a form the pages read: a case attachment (10 MiB, checked by the case
service) and room for its headers. The form is parsed once, here, for the CSRF token."""


class SignInRequired(ClearlaneError):
    """A page was asked for without a (valid) session: the browser goes to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in to see this page")
        self.next_path = next_path


def sign_in_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


class Page(Allow):
    """A page's access rule (an :class:`Allow`, so the guard and the permission table apply)."""

    async def __call__(self, request: Request) -> Caller | None:
        token: str | None = None
        if request.method not in SAFE_METHODS:
            form = await request.form(max_part_size=FORM_MAX_PART_BYTES)  # kept on request
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        try:
            caller = await run_in_threadpool(authenticate, request, token)
        except InvalidCredentialsError as exc:  # expired or unknown session: sign in again
            raise SignInRequired(request.url.path) from exc
        if caller is None:
            raise SignInRequired(request.url.path)
        if self.permission != AUTHENTICATED:
            caller.principal.require(self.permission)
        _ACTOR.set(caller.actor)
        request.state.caller = caller
        return caller


def page(permission: str) -> Any:
    """``Depends(Page(permission))``: annotate a page parameter ``Annotated[Caller, page(P)]``."""
    return Depends(Page(permission))
