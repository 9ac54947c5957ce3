from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.accounts.roles import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    Principal,
    check_permission_name,
    check_role,
    has_permission,
    normalise_offices,
    permission_table_markdown,
)
from clearlane.errors import PermissionDeniedError, ValidationError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"


@given(st.text(max_size=30), st.text(max_size=30))
def test_unknown_role_or_permission_is_denied(role: str, permission: str) -> None:
    if role not in ROLE_PERMISSIONS or permission not in PERMISSIONS:
        assert not has_permission(role, permission)


def test_every_role_grants_only_known_permissions() -> None:
    assert set(ROLE_PERMISSIONS) == set(ROLES)
    for role in ROLES:
        assert ROLE_PERMISSIONS[role] <= set(PERMISSIONS)
        for permission in PERMISSIONS:
            assert has_permission(role, permission) == (permission in ROLE_PERMISSIONS[role])


@pytest.mark.parametrize(("role", "allowed", "denied"), [
    ("admin", {"users:manage", "keys:manage", "rules:publish", "models:promote"}, set()),
    ("analyst", {"declarations:assess", "rules:edit", "rules:publish", "readiness:answer",
                 "models:promote"},
     {"users:manage", "keys:manage", "audit:read"}),
    ("officer", {"declarations:read", "cases:work", "outcomes:record"},
     {"declarations:assess", "rules:edit", "users:manage", "audit:read"}),
    ("auditor", {"declarations:read", "audit:read"},
     {"outcomes:record", "cases:work", "rules:edit", "users:manage", "declarations:assess"}),
    ("system", {"declarations:ingest", "declarations:assess", "outcomes:record"},
     {"users:manage", "keys:manage", "audit:read", "cases:work", "rules:publish"}),
])
def test_each_roles_permissions(role: str, allowed: set[str], denied: set[str]) -> None:
    assert all(has_permission(role, p) for p in allowed)
    assert not any(has_permission(role, p) for p in denied)


def test_admin_alone_manages_accounts_analysts_also_publish_rules() -> None:
    for permission in ("users:manage", "keys:manage"):
        assert [r for r in ROLES if has_permission(r, permission)] == ["admin"]
    # maker-checker: analysts draft and publish rules, never a version they drafted (the
    # four-eyes rule is the rules service's: tests/services/test_rules_lifecycle.py)
    for permission in ("rules:edit", "rules:publish"):
        assert [r for r in ROLES if has_permission(r, permission)] == ["admin", "analyst"]
    # models are promoted by the analyst (issue #21), never by an officer or a system
    assert [r for r in ROLES if has_permission(r, "models:promote")] == ["admin", "analyst"]


def test_unknown_names_are_errors_listing_the_valid_ones() -> None:
    with pytest.raises(ValidationError, match="analyst"):
        check_role("boss")
    with pytest.raises(ValidationError, match="cases:work"):
        check_permission_name("cases:burn")
    with pytest.raises(ValidationError):
        Principal("x", "admin").require("cases:burn")


def test_require_raises_permission_denied() -> None:
    officer = Principal("amina", "officer", offices=frozenset({"ABJ01"}))
    officer.require("cases:work")
    with pytest.raises(PermissionDeniedError, match="rules:publish"):
        officer.require("rules:publish")
    with pytest.raises(PermissionDeniedError):
        Principal("ghost", "nobody").require("declarations:read")


def test_officers_are_scoped_to_their_offices() -> None:
    officer = Principal("amina", "officer", offices=frozenset({"ABJ01", "LOS02"}))
    assert officer.may_see_office("ABJ01") and officer.may_see_office("LOS02")
    assert not officer.may_see_office("KAN03")
    assert not officer.may_see_office(None)
    assert not Principal("lost", "officer").may_see_office("ABJ01")
    assert Principal("ana", "analyst").may_see_office("KAN03")
    assert not Principal("k", "system", offices=frozenset({"ABJ01"})).may_see_office("KAN03")
    with pytest.raises(ValidationError, match="office"):
        normalise_offices("officer", [])
    with pytest.raises(ValidationError):
        normalise_offices("analyst", [" "])
    assert normalise_offices("officer", [" ABJ01 "]) == {"ABJ01"}


def test_docs_print_the_permission_table() -> None:
    table = permission_table_markdown()
    assert table in DOCS.read_text(encoding="utf-8"), (
        "docs/security.md must contain permission_table_markdown() exactly")
    for permission in PERMISSIONS:
        assert f"`{permission}`" in table


@given(st.sampled_from([*ROLES, "root", "", "Admin"]),
       st.sampled_from([*PERMISSIONS, "users:*", "*", "ADMIN"]))
def test_a_principal_may_act_exactly_when_the_table_says(role: str, permission: str) -> None:
    principal = Principal("p", role)
    granted = role in ROLE_PERMISSIONS and permission in ROLE_PERMISSIONS[role]
    assert principal.can(permission) == granted
    if granted:
        principal.require(permission)
    else:
        with pytest.raises((PermissionDeniedError, ValidationError)):
            principal.require(permission)
