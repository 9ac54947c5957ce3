"""Roles and the one permission table: which role may do what. Deny by default.

An unknown role or an unknown permission is never granted. Officers are scoped to their
offices: a principal that carries offices sees only declarations and cases of those offices.

>>> has_permission("officer", "cases:work"), has_permission("officer", "rules:publish")
(True, False)
>>> has_permission("nobody", "declarations:read"), has_permission("admin", "no:such")
(False, False)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from clearlane.errors import PermissionDeniedError, Problem, ValidationError

ROLES: tuple[str, ...] = ("admin", "analyst", "officer", "auditor", "system")
"""Every role, in the order the docs list them."""

ROLE_DESCRIPTIONS: Mapping[str, str] = MappingProxyType({
    "admin": "manages users, API keys and settings; publishes rules and promotes models",
    "analyst": "ingests and assesses declarations, runs selection, drafts, back-tests and "
               "publishes rules (never a version they drafted: a second person publishes it), "
               "trains, compares and promotes models",
    "officer": "works the cases of their own offices and records inspection outcomes",
    "auditor": "reads declarations, reports and the audit chain; changes nothing",
    "system": "a clearance system calling the API: lodges and assesses declarations, "
              "returns outcomes",
})

PERMISSIONS: Mapping[str, str] = MappingProxyType({
    "declarations:read": "read declarations, their risk assessments and lanes",
    "declarations:ingest": "ingest or lodge declarations",
    "declarations:assess": "assess the risk of declarations",
    "selections:run": "select declarations for lanes under inspection capacity",
    "selections:override": "override a lane decision, with a reason",
    "outcomes:record": "record inspection outcomes",
    "cases:work": "take, comment on, refer and close cases",
    "rules:edit": "draft and back-test risk rules",
    "rules:publish": "publish a rule set for use (a version drafted by someone else) or "
                     "retire one",
    "models:train": "train and evaluate models",
    "models:promote": "promote a trained model for use",
    "reports:read": "read performance, valuation and readiness reports",
    "readiness:answer": "answer the readiness questionnaire",
    "users:manage": "add, change and deactivate users",
    "keys:manage": "create, list and revoke API keys",
    "audit:read": "read and verify the audit chain",
})
"""Every permission and what it allows."""

_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "analyst": frozenset({
        "declarations:read", "declarations:ingest", "declarations:assess", "selections:run",
        "selections:override", "outcomes:record", "rules:edit", "rules:publish",
        "models:train", "models:promote", "reports:read", "readiness:answer",
    }),
    "officer": frozenset({"declarations:read", "outcomes:record", "cases:work"}),
    "auditor": frozenset({"declarations:read", "reports:read", "audit:read"}),
    "system": frozenset({
        "declarations:read", "declarations:ingest", "declarations:assess", "outcomes:record",
    }),
}

ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(_ROLE_PERMISSIONS)
"""Role → the permissions it grants: the one table, printed in docs/security.md."""

OFFICE_SCOPED_ROLES: frozenset[str] = frozenset({"officer"})
"""Roles that must name at least one office and see only those offices."""


def has_permission(role: str, permission: str) -> bool:
    """Whether ``role`` grants ``permission``; False for an unknown role or permission."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def check_role(role: str) -> str:
    """``role`` if it is a known role, else a :class:`ValidationError` listing the valid ones."""
    if role not in ROLE_PERMISSIONS:
        raise ValidationError(
            f"unknown role {role!r}",
            [Problem("role", role, f"valid roles: {', '.join(ROLES)}")],
        )
    return role


def check_permission_name(permission: str) -> str:
    """``permission`` if it is a known permission, else an error listing the valid ones."""
    if permission not in PERMISSIONS:
        raise ValidationError(
            f"unknown permission {permission!r}",
            [Problem("permission", permission, f"valid permissions: {', '.join(PERMISSIONS)}")],
        )
    return permission


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user (after a login or with a session) or an API key.

    ``offices`` empty means not scoped to offices (only roles outside
    :data:`OFFICE_SCOPED_ROLES` may have none).
    """

    name: str
    role: str
    kind: str = "user"
    offices: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return has_permission(self.role, permission)

    def require(self, permission: str) -> None:
        """Raise :class:`PermissionDeniedError` unless the role grants ``permission``."""
        check_permission_name(permission)
        if not self.can(permission):
            raise PermissionDeniedError(
                f"{self.kind} {self.name!r} (role {self.role!r}) may not {permission!r}"
            )

    def may_see_office(self, office: str | None) -> bool:
        """Whether this principal may see a declaration or case of ``office``.

        A principal scoped to offices sees only those; an office-scoped role with no
        office sees nothing (deny by default), and neither does a scoped one an item with
        no office.
        """
        if self.role in OFFICE_SCOPED_ROLES and not self.offices:
            return False
        if not self.offices:
            return True
        return office is not None and office in self.offices


def normalise_offices(role: str, offices: Iterable[str]) -> frozenset[str]:
    """The offices of a user or key: stripped, non-empty; an office-scoped role needs one."""
    cleaned = frozenset(o.strip() for o in offices)
    if "" in cleaned:
        raise ValidationError("an office code cannot be empty",
                              [Problem("office", "", "give an office code such as ABJ01")])
    if role in OFFICE_SCOPED_ROLES and not cleaned:
        raise ValidationError(
            f"role {role!r} is scoped to offices: give at least one",
            [Problem("office", None, "give --office CODE (repeat it for several)")],
        )
    return cleaned


def permission_table_markdown() -> str:
    """The permission table as Markdown: one row per permission, one column per role."""
    lines = [
        "| Permission | What it allows | " + " | ".join(ROLES) + " |",
        "|---|---|" + "---|" * len(ROLES),
    ]
    for permission, description in PERMISSIONS.items():
        marks = " | ".join("yes" if has_permission(r, permission) else "–" for r in ROLES)
        lines.append(f"| `{permission}` | {description} | {marks} |")
    lines.append("")
    for role in ROLES:
        scope = " Scoped to their offices." if role in OFFICE_SCOPED_ROLES else ""
        lines.append(f"- **{role}**: {ROLE_DESCRIPTIONS[role]}.{scope}")
    return "\n".join(lines) + "\n"
