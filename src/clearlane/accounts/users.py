"""Users: a name, a role, the offices an officer is scoped to, an argon2 hash, an active flag."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from clearlane.accounts.roles import Principal
from clearlane.errors import Problem, ValidationError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class User:
    """A user account. ``created_at`` is naive UTC."""

    name: str
    role: str
    offices: frozenset[str]
    password_hash: str
    active: bool
    created_at: datetime

    def principal(self) -> Principal:
        return Principal(name=self.name, role=self.role, kind="user", offices=self.offices)


def check_user_name(name: str) -> str:
    """``name`` if it is a valid user name, else a :class:`ValidationError`."""
    if not _NAME.match(name):
        raise ValidationError(
            f"invalid user name {name!r}",
            [Problem("name", name, "1 to 64 letters, digits, '.', '_', '@' or '-', "
                     "starting with a letter or digit")],
        )
    return name
