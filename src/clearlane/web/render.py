"""Rendering pages: one Jinja environment (autoescaped), the request's language and caller in
every template, and the headers every page carries (a Content-Security-Policy that allows only
the app's own scripts and styles, so no page can load anything from outside)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from clearlane import __version__
from clearlane.accounts.roles import has_permission
from clearlane.api.security import Caller
from clearlane.web.i18n import LANG_COOKIE, catalogue, direction, languages, pick_language

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'self'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

MENU: tuple[tuple[str, str, str], ...] = (
    # (path, message key, permission that shows the entry)
    ("/queue", "menu/queue", "cases:work"),
    ("/overview", "menu/overview", "reports:read"),
    ("/maps", "maps/menu", "reports:read"),
    ("/performance", "menu/performance", "reports:read"),
    ("/models", "menu/models", "reports:read"),
    ("/rules", "menu/rules", "reports:read"),
    ("/quality", "menu/quality", "reports:read"),
    ("/quarantine", "menu/quarantine", "reports:read"),
    ("/hs", "menu/hs", "declarations:read"),
    ("/valuation", "menu/bands", "reports:read"),
    ("/readiness", "menu/readiness", "reports:read"),
    ("/audit", "menu/audit", "audit:read"),
    ("/admin/users", "menu/users", "users:manage"),
    ("/admin/keys", "menu/keys", "keys:manage"),
)
"""The menu: each entry is shown to the roles holding its permission (the page itself may
allow more, e.g. the quarantine page answers an officer with an explanation)."""


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.{digits}f}"


def _plain(value: Any) -> str:
    """A stored field as an officer reads it: floats without binary noise (5,915.2, not
    5915.200000000001), everything else as it is."""
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "–"


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("clearlane.web", "templates"),
                      autoescape=select_autoescape(("html",)), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = _number
    env.filters["when"] = _when
    env.filters["plain"] = _plain
    return env


def language_of(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                         request.headers.get("accept-language"))


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """The page ``template`` for ``request``: ``t`` (the texts), ``lang``, ``dir``, ``caller``,
    ``menu`` (the entries the caller's role may open) and ``csrf_token`` are always there."""
    lang = language_of(request)
    caller: Caller | None = getattr(request.state, "caller", None)
    role = caller.principal.role if caller is not None else None
    menu = [(path, key) for path, key, permission in MENU
            if role is not None and has_permission(role, permission)]
    texts = catalogue(lang)
    html = environment().get_template(template).render(
        t=texts.get, lang=lang, dir=direction(lang), languages=languages(), caller=caller,
        menu=menu, csrf_token=caller.csrf_token if caller is not None else None,
        path=request.url.path, version=__version__, **context)
    response = HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
    if request.query_params.get("lang") in languages():
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="strict",
                            path="/")
    return response
