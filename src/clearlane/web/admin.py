"""The administrator's and auditor's pages: users, API keys, and the audit log with "verify
chain"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from clearlane.accounts.roles import ROLES
from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.services import accounts, audit
from clearlane.web.access import page
from clearlane.web.render import render

router = APIRouter(include_in_schema=False)
AUDIT_LIMIT = 200


@router.get("/audit")
def audit_page(request: Request, caller: Annotated[Caller, page("audit:read")],
               state: StateDep, actor: str = "", action: str = "",
               object_id: str = "", verify: bool = False) -> Response:
    """The newest audit entries (filtered), and the chain's verification when asked."""
    filters = {"actor": actor.strip()[:200], "action": action.strip()[:200],
               "object_id": object_id.strip()[:200]}
    entries = audit.search(state.workspace, limit=AUDIT_LIMIT, **filters)
    verification = audit.verify_workspace(state.workspace, state.settings) if verify else None
    template = "_audit_rows.html" if request.headers.get("hx-request") and not verify \
        else "audit.html"
    return render(request, template, entries=entries, filters=filters,
                  verification=verification, limit=AUDIT_LIMIT)


def _offices(text: str) -> list[str]:
    return [o.strip() for o in text.replace(";", ",").split(",") if o.strip()]


@router.get("/admin/users")
def users_page(request: Request, caller: Annotated[Caller, page("users:manage")],
               state: StateDep) -> Response:
    return render(request, "users.html", users=accounts.list_users(state.workspace),
                  roles=ROLES)


@router.post("/admin/users")
def add_user(caller: Annotated[Caller, page("users:manage")], state: StateDep,
             name: Annotated[str, Form(max_length=100)], role: Annotated[str, Form()],
             password: Annotated[str, Form(max_length=1000)],
             offices: Annotated[str, Form(max_length=1000)] = "") -> Response:
    accounts.add_user(state.workspace, name.strip(), role, password, _offices(offices))
    return RedirectResponse("/admin/users", 303)


@router.post("/admin/users/{name}/deactivate")
def deactivate_user(name: str, caller: Annotated[Caller, page("users:manage")],
                    state: StateDep) -> Response:
    accounts.deactivate_user(state.workspace, name)
    return RedirectResponse("/admin/users", 303)


@router.get("/admin/keys")
def keys_page(request: Request, caller: Annotated[Caller, page("keys:manage")],
              state: StateDep) -> Response:
    return _keys(request, state, created=None)


def _keys(request: Request, state: StateDep, created: str | None) -> Response:
    now = accounts.utcnow()
    keys = [(k, k.status(now)) for k in accounts.list_keys(state.workspace)]
    return render(request, "keys.html", keys=keys, roles=ROLES, created=created)


@router.post("/admin/keys")
def create_key(request: Request, caller: Annotated[Caller, page("keys:manage")],
               state: StateDep, name: Annotated[str, Form(max_length=100)],
               role: Annotated[str, Form()], offices: Annotated[str, Form(max_length=1000)] = "",
               days: Annotated[int, Form(ge=1, le=3650)] = 90) -> Response:
    """Create a key; its token is shown once, on this answer only (never stored)."""
    created = accounts.create_key(state.workspace, name.strip(), role, _offices(offices), days)
    return _keys(request, state, created=created.token)


@router.post("/admin/keys/{prefix}/revoke")
def revoke_key(prefix: str, caller: Annotated[Caller, page("keys:manage")],
               state: StateDep) -> Response:
    accounts.revoke_key(state.workspace, prefix)
    return RedirectResponse("/admin/keys", 303)
