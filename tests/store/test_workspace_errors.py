"""Storage failures become plain Clearlane errors: the messages DuckDB and the OS really give."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from clearlane.cli.common import EXIT_CODE_TABLE, EXIT_CODES, exit_code, plain_error
from clearlane.errors import (
    ClearlaneError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    ValidationError,
    WorkspaceBusyError,
)
from clearlane.store.workspace import Workspace, storage_error

WS = Path("/data/customs ws")

# DuckDB 1.x/2.x wording, copied from real failures (lock, read-only mount, full tmpfs)
LOCKED = (
    'IO Error: Could not set lock on file "/data/customs ws/clearlane.duckdb": Conflicting lock '
    "is held in /usr/bin/python3.11 (PID 8985). See also "
    "https://duckdb.org/docs/current/connect/concurrency"
)
READ_ONLY = 'IO Error: Cannot open file "/data/customs ws/clearlane.duckdb": Read-only file system'
DENIED = 'IO Error: Cannot open file "/data/customs ws/clearlane.duckdb": Permission denied'
FULL = 'IO Error: Could not write file "/data/customs ws/clearlane.duckdb": No space left on device'


def test_a_lock_conflict_names_the_program_and_its_pid() -> None:
    error = storage_error(duckdb.IOException(LOCKED), WS)
    assert isinstance(error, WorkspaceBusyError)
    text = str(error)
    assert "/usr/bin/python3.11 (PID 8985)" in text and "kill 8985" in text
    assert "/data/customs ws" in text
    assert exit_code(error) == 6


def test_a_lock_conflict_without_a_holder_still_says_busy() -> None:
    error = storage_error(duckdb.IOException('IO Error: Could not set lock on file "x"'), WS)
    assert isinstance(error, WorkspaceBusyError) and "another process" in str(error)


@pytest.mark.parametrize("message", [READ_ONLY, DENIED])
def test_a_read_only_workspace(message: str) -> None:
    error = storage_error(duckdb.IOException(message), WS)
    assert isinstance(error, StorageError)
    assert "read-only" in str(error) and "writable" in str(error)
    assert exit_code(error) == 7


@pytest.mark.parametrize(
    "exc",
    [
        duckdb.IOException(FULL),
        OSError(errno.ENOSPC, "No space left on device", str(WS / "reports" / "quality.html")),
        OSError(errno.EDQUOT, "Disk quota exceeded", str(WS / "artifacts" / "m.json")),
    ],
)
def test_a_full_disk(exc: BaseException) -> None:
    error = storage_error(exc, WS)
    assert isinstance(error, StorageError)
    assert "full" in str(error) and "nothing was changed" in str(error)


def test_permission_on_a_file_outside_the_workspace_is_not_a_workspace_failure() -> None:
    outside = duckdb.IOException('IO Error: Cannot open file "/home/me/in.csv": Permission denied')
    assert storage_error(outside, WS) is None
    assert storage_error(PermissionError(errno.EACCES, "Permission denied", "/home/me/in.csv"), WS) is None


@pytest.mark.parametrize(
    "exc",
    [
        duckdb.CatalogException("Catalog Error: Table with name t does not exist!"),
        duckdb.ConversionException("Conversion Error: Could not convert string 'x' to INT32"),
        ValueError("bug"),
    ],
)
def test_other_errors_are_not_storage_failures(exc: BaseException) -> None:
    assert storage_error(exc, WS) is None
    assert plain_error(exc) is None  # left to raise: a bug shows its traceback


def test_os_errors_outside_the_workspace_code() -> None:
    assert isinstance(plain_error(FileNotFoundError(errno.ENOENT, "No such file", "a.csv")), NotFoundError)
    assert isinstance(
        plain_error(PermissionError(errno.EACCES, "Permission denied", "a.csv")), PermissionDeniedError
    )
    assert isinstance(plain_error(IsADirectoryError(errno.EISDIR, "Is a directory", "d")), ValidationError)
    full = plain_error(OSError(errno.ENOSPC, "No space left on device", "/x/report.html"))
    assert isinstance(full, StorageError)
    assert isinstance(plain_error(duckdb.IOException(LOCKED)), WorkspaceBusyError)


def test_every_exit_code_is_documented() -> None:
    documented = {code for code, _ in EXIT_CODE_TABLE}
    assert set(EXIT_CODES.values()) | {0, 1} == documented
    assert exit_code(ClearlaneError("x")) == 1


@pytest.mark.duckdb_only(reason="the DuckDB file lock")
def test_a_real_lock_held_by_another_process(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " time.sleep(60)",
            str(ws.database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WorkspaceBusyError, match=rf"\(PID {holder.pid}\)"):
            Workspace.open(ws.path)
    finally:
        holder.kill()
        holder.wait()
    assert Workspace.open(ws.path).schema_version() > 0  # free again once it ended
