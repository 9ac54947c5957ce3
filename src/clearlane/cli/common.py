"""Shared CLI pieces: the console, the workspace option, progress bars and error exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Protocol

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

from clearlane.settings import Settings

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
