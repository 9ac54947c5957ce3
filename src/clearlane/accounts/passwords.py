"""Password hashing with argon2id (pwdlib): hash, verify, and rehash when parameters change."""

from __future__ import annotations

from functools import cache

from argon2.exceptions import Argon2Error
from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError
from pwdlib.hashers.argon2 import Argon2Hasher

from clearlane.errors import Problem, ValidationError

MIN_PASSWORD_LENGTH = 12
"""Fewer characters are refused (NIST SP 800-63B asks for at least 8; we ask for 12)."""

MAX_PASSWORD_LENGTH = 1024
"""More are refused, so that hashing a huge input cannot be used to exhaust the server."""

MALFORMED_HASH = (PwdlibError, Argon2Error, ValueError)
"""What pwdlib and argon2 raise for a stored hash they cannot read (unknown scheme, damaged)."""


@cache
def _hasher() -> PasswordHash:
    # argon2id with pwdlib's defaults (time 3, memory 64 MiB, parallelism 4)
    return PasswordHash((Argon2Hasher(),))


def check_password_strength(password: str) -> str:
    """``password`` if its length is acceptable, else a :class:`ValidationError`."""
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            "password refused",
            [Problem("password", None,
                     f"needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, "
                     f"got {len(password)}")],
        )
    return password


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string, ``$argon2id$…``) of an acceptable password."""
    return _hasher().hash(check_password_strength(password))


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches ``password_hash``; False for a malformed hash."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher().verify(password, password_hash)
    except MALFORMED_HASH:
        return False


def verify_and_rehash(password: str, password_hash: str) -> tuple[bool, str | None]:
    """Whether it matches, and a new hash when the stored one uses outdated parameters."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False, None
    try:
        return _hasher().verify_and_update(password, password_hash)
    except MALFORMED_HASH:
        return False, None


def burn_verify_time(password: str) -> None:
    """Spend the time of one verification, so that an unknown user name answers as slowly
    as a wrong password (no user enumeration by timing)."""
    verify_password(password, _dummy_hash())


@cache
def _dummy_hash() -> str:
    return _hasher().hash("clearlane-dummy-password")
