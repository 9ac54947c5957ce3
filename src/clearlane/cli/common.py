"""Shared CLI pieces: the console, the workspace option, progress bars and error exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from clearlane.errors import (
    AuditChainError,
    ClearlaneError,
    ClusterError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    StorageError,
    ValidationError,
    WorkspaceBusyError,
)
from clearlane.settings import Settings

if TYPE_CHECKING:
    from clearlane.accounts.roles import Principal
    from clearlane.store.workspace import Workspace

console = Console()
err_console = Console(stderr=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (env CLEARLANE_WORKSPACE; default ./clearlane-workspace).",
        show_default=False,
    ),
]


def workspace_path(option: Path | None) -> Path:
    """The workspace folder from the option, else from settings (environment or default)."""
    return option if option is not None else Settings().workspace


def seed_value(option: int | None) -> int:
    """The random seed from the option, else from settings (``CLEARLANE_SEED`` or 42).

    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"CLEARLANE_SEED": "7"}):
    ...     seed_value(None), seed_value(3)
    (7, 3)
    """
    return option if option is not None else Settings().seed


@contextmanager
def progress_bar(description: str, total: float | None = None) -> Iterator[ProgressCallback]:
    """A Rich progress bar; yields ``advance(done, total=None, description=None)``."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total)

        def advance(
            done: float, total: float | None = None, description: str | None = None
        ) -> None:
            progress.update(task, completed=done, total=total, description=description)

        yield advance


class ProgressCallback(Protocol):
    def __call__(
        self, done: float, total: float | None = None, description: str | None = None
    ) -> None: ...


# Exit codes of every command, most specific class first; documented in docs/cli.md (the
# table is generated from EXIT_CODE_TABLE by scripts/gen_cli_reference.py).
EXIT_CODES: dict[type[ClearlaneError], int] = {
    ValidationError: 2,
    NotFoundError: 3,
    ConflictError: 4,
    PermissionDeniedError: 5,
    WorkspaceBusyError: 6,
    StorageError: 7,
    AuditChainError: 8,
    ClusterError: 9,
}

EXIT_CODE_TABLE: tuple[tuple[int, str], ...] = (
    (0, "success"),
    (1, "an unexpected error (a bug: please report it with the message)"),
    (2, "invalid input: a wrong option or value, a profile or file that cannot be used, "
        "or a file of which no row could be stored (`ingest --allow-empty` accepts that)"),
    (3, "not found: no workspace, file, batch, model or profile of that name"),
    (4, "conflict: refused because it would overwrite or lose other content "
        "(for example `batches drop` of a batch others rely on)"),
    (5, "permission denied: an untrusted model artifact, or a file this user may not read"),
    (6, "workspace busy: another program has the workspace open (the message names it)"),
    (7, "storage: the workspace folder is read-only, or the disk is full "
        "(nothing was changed)"),
    (8, "audit chain broken: `audit verify` found an edited, deleted, reordered or truncated "
        "entry, or a chain that no longer holds its signed checkpoint (the message names the "
        "first broken entry)"),
    (9, "cluster: the Dask scheduler cannot be reached, or a worker died on a partition too "
        "often (nothing was written; run the job again)"),
)


def exit_code(exc: ClearlaneError) -> int:
    """The documented exit code of ``exc`` (1 for an error with no code of its own)."""
    return next((code for kind, code in EXIT_CODES.items() if isinstance(exc, kind)), 1)


def plain_error(exc: BaseException) -> ClearlaneError | None:
    """A Clearlane error for a failure met outside the workspace code, or None.

    DuckDB and OS errors that say the disk is full, a folder is read-only, the database is
    locked by another process, or a file is missing or unreadable become one plain message;
    anything else is a bug and is left to raise with its traceback.
    """
    import errno

    import duckdb

    from clearlane.store.workspace import storage_error

    name = getattr(exc, "filename", None)
    folder = Path(str(name)).parent if name is not None else Path.cwd()
    if isinstance(exc, duckdb.Error):
        return storage_error(exc, folder)
    if not isinstance(exc, OSError):
        return None
    reason = exc.strerror or str(exc)
    shown = repr(str(name)) if name is not None else "a file"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        return storage_error(exc, folder)
    if exc.errno == errno.ENOENT:
        return NotFoundError(f"{shown}: {reason}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return PermissionDeniedError(f"{shown}: {reason}; this user may not use it")
    if exc.errno in (errno.EISDIR, errno.ENOTDIR):
        return ValidationError(f"{shown}: {reason}")
    return None


def workspace_user(workspace: Workspace, name: str, option: str,
                   permission: str) -> Principal:
    """The principal of the workspace user ``name`` a command acts for (given with
    ``option``): an active user whose role grants ``permission``."""
    from clearlane.services import accounts

    try:
        user = accounts.get_user(workspace, name)
    except NotFoundError:
        raise ValidationError(f"no user {name!r} in this workspace", [
            Problem(option, name, "a user of `clearlane users list`")]) from None
    if not user.active:
        raise PermissionDeniedError(f"user {name!r} is deactivated")
    principal = user.principal()
    principal.require(permission)
    return principal
