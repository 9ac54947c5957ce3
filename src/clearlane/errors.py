"""One exception tree for Clearlane.

Only ``cli/`` maps these to exit codes and only ``api/`` to HTTP statuses. Messages name the
thing, the value received and what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass


class ClearlaneError(Exception):
    """Base class of every error Clearlane raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem with one value of one input row.

    ``row`` is the 1-based line number in the source file (header = line 1) where known.
    """

    field: str
    value: str | None
    reason: str
    row: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.row is not None:
            where.append(f"row {self.row}")
        prefix = (", ".join(where) + ": ") if where else ""
        return f"{prefix}field {self.field!r} value {self.value!r}: {self.reason}"


class ValidationError(ClearlaneError):
    """Input that does not satisfy a contract; carries the row/field problems."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.message = message
        """The message alone, without the listed problems (an API puts those in a field)."""
        self.problems = list(problems or [])
        details = "".join(f"\n  - {p}" for p in self.problems[:20])
        more = len(self.problems) - 20
        if more > 0:
            details += f"\n  … and {more} more"
        super().__init__(message + details)


class ProfileError(ValidationError):
    """A column-mapping profile that cannot be used."""


class NotFoundError(ClearlaneError):
    """A named thing (workspace, model, profile, file) does not exist."""


class ConflictError(ClearlaneError):
    """A write that would overwrite different existing content."""


class PermissionDeniedError(ClearlaneError):
    """The caller may not do this."""


class UntrustedArtifactError(PermissionDeniedError):
    """A model artifact from outside the workspace was loaded without the trust flag."""


class MissingExtraError(ClearlaneError, ImportError):
    """An optional capability whose extra is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module!r} is not installed; install the extra with: pip install 'clearlane[{extra}]'"
        )


class WorkspaceBusyError(ClearlaneError):
    """Another process holds the workspace database open for writing."""


class StorageError(ClearlaneError):
    """The workspace cannot be written: a read-only folder or file, or a full disk."""


class ClusterError(ClearlaneError):
    """A Dask cluster job could not run or did not finish: the scheduler cannot be reached, or
    a worker died on a partition too often. Nothing of the job was written; run it again."""


class NothingStoredError(ValidationError):
    """An input file of which no row could be stored: every row was rejected (or it had none)."""


class ArtifactError(ValidationError):
    """A model or band artifact that cannot be read: corrupt, truncated, foreign or old."""


class ArtifactIntegrityError(ArtifactError):
    """An artifact whose SHA-256 differs from the one recorded in the workspace registry."""


class LegacyArtifactError(ArtifactError):
    """An artifact in a format this Clearlane no longer loads (e.g. a pickle envelope)."""


class InvalidCredentialsError(PermissionDeniedError):
    """A login, API key or session that does not authenticate.

    The message never says which part was wrong (unknown name, wrong password, expired,
    revoked); ``reason`` keeps that for the server's own log and audit trail.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class LoginRateLimitedError(PermissionDeniedError):
    """Too many failed logins for one user name within the window; refused until it passes."""


class AuditChainError(ClearlaneError):
    """The audit chain does not verify: an entry was edited, deleted, reordered or truncated,
    or the chain no longer holds its signed checkpoint."""

    def __init__(self, message: str, sequence: int, kind: str) -> None:
        self.sequence = sequence
        self.kind = kind
        super().__init__(message)
