"""Users and API keys, for admins: the same services as ``clearlane users`` and ``keys``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from clearlane.accounts.keys import ApiKey
from clearlane.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from clearlane.accounts.roles import ROLES
from clearlane.accounts.users import User
from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.routes.auth import NO_STORE
from clearlane.api.security import Caller, allow
from clearlane.api.state import StateDep, WorkspaceDep
from clearlane.services import accounts

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ERROR_RESPONSES)

UserName = Annotated[str, Path(min_length=1, max_length=200)]


class UserPublic(BaseModel):
    name: str
    role: str
    offices: list[str]
    active: bool
    created_at: datetime


ROLE_FIELD = Field(description="The role: " + ", ".join(ROLES),
                   json_schema_extra={"enum": list(ROLES)})
PASSWORD_FIELD = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    role: str = ROLE_FIELD
    offices: list[str] = Field(default_factory=list, description="Officers need at least one.")
    password: str = PASSWORD_FIELD


class PasswordChange(BaseModel):
    password: str = PASSWORD_FIELD


class KeyPublic(BaseModel):
    prefix: str = Field(description="The key's visible, non-secret part (identifies it).")
    name: str
    role: str
    offices: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = ROLE_FIELD
    offices: list[str] = Field(default_factory=list)
    expires_days: int | None = Field(None, ge=1, le=3650,
                                     description="Default: the `api_key_expiry_days` setting.")


class KeyCreated(KeyPublic):
    token: str = Field(description="The whole key: shown once, stored only as a digest.")


def _utc(moment: datetime | None) -> datetime | None:
    """A stored time (naive UTC) as an aware one: RFC 3339 date-times carry their offset."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _user(user: User) -> UserPublic:
    return UserPublic(name=user.name, role=user.role, offices=sorted(user.offices),
                      active=user.active, created_at=_utc(user.created_at))


def _key(key: ApiKey) -> KeyPublic:
    return KeyPublic(prefix=key.prefix, name=key.name, role=key.role,
                     offices=sorted(key.offices), created_at=_utc(key.created_at),
                     expires_at=_utc(key.expires_at), revoked_at=_utc(key.revoked_at))


@router.get("/users", response_model=list[UserPublic], tags=["accounts"])
def list_users(_: Annotated[Caller, allow("users:manage")],
               workspace: WorkspaceDep) -> list[UserPublic]:
    """Every user (never a password hash)."""
    return [_user(u) for u in accounts.list_users(workspace)]


@router.post("/users", response_model=UserPublic, status_code=201,
             responses={409: ERROR_RESPONSES[422] | {"description": "The name is taken"}})
def add_user(body: UserCreate, _: Annotated[Caller, allow("users:manage")],
             workspace: WorkspaceDep) -> UserPublic:
    """Add an active user with a role (and offices for an officer)."""
    return _user(accounts.add_user(workspace, body.name, body.role, body.password,
                                   body.offices))


@router.put("/users/{name}/password", status_code=204)
def set_password(name: UserName, body: PasswordChange,
                 _: Annotated[Caller, allow("users:manage")], workspace: WorkspaceDep) -> None:
    """Replace a user's password; their sessions end."""
    accounts.set_password(workspace, name, body.password)


@router.post("/users/{name}:deactivate", response_model=UserPublic)
def deactivate_user(name: UserName, _: Annotated[Caller, allow("users:manage")],
                    workspace: WorkspaceDep) -> UserPublic:
    """Deactivate a user: no more logins, and their sessions end."""
    return _user(accounts.deactivate_user(workspace, name))


@router.get("/keys", response_model=list[KeyPublic])
def list_keys(_: Annotated[Caller, allow("keys:manage")],
              workspace: WorkspaceDep) -> list[KeyPublic]:
    """Every API key by its prefix (never a secret)."""
    return [_key(k) for k in accounts.list_keys(workspace)]


@router.post("/keys", response_model=KeyCreated, status_code=201)
def create_key(body: KeyCreate, _: Annotated[Caller, allow("keys:manage")],
               state: StateDep, response: Response) -> KeyCreated:
    """Create an API key bound to a role; the token in the answer is the only copy."""
    response.headers["Cache-Control"] = NO_STORE
    days = body.expires_days or state.settings.api_key_expiry_days
    created = accounts.create_key(state.workspace, body.name, body.role, body.offices, days)
    return KeyCreated(**_key(created.key).model_dump(), token=created.token)


@router.post("/keys/{prefix}:revoke", response_model=KeyPublic)
def revoke_key(prefix: Annotated[str, Path(pattern=r"^clk_[0-9a-f]{8}$",
                                           description="The key's prefix, clk_ and 8 hex digits")],
               _: Annotated[Caller, allow("keys:manage")], workspace: WorkspaceDep) -> KeyPublic:
    """Revoke a key: from then on it authenticates nothing."""
    return _key(accounts.revoke_key(workspace, prefix))
