"""Messages, not tracebacks: the real command on a busy, read-only or full workspace, on
unreadable files and on files of which no row can be stored; each ends in one plain message
and its documented exit code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEADER = "declaration_id,item_no,declared_at,hs_code,origin_country,net_mass_kg,customs_value\n"


def clearlane(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command (this checkout's code), as a user runs it."""
    env = {
        "COLUMNS": "200",
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "PYTHONPATH": str(REPO / "src"),
        "HOME": str(cwd),
    }
    return subprocess.run(
        [sys.executable, "-m", "clearlane.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def plain(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """One plain error message with ``code``, naming ``words``; no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()  # a progress bar may come first
    assert lines[-1].startswith("Error:"), result.stderr
    assert sum(line.startswith("Error:") for line in lines) == 1
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def write(path: Path, *lines: str) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _rows(n: int) -> list[str]:
    return [
        f"DECL{i:08d},1,2024-01-{1 + i % 28:02d},851713,CN,{i % 97 + 1},{(i * 7919) % 100_003}"
        for i in range(n)
    ]


def _can_mount() -> str | None:
    """None when tmpfs mounts work here, else why not (the skip reason)."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root, and this test runs as a normal user"
    if shutil.which("mount") is None:
        return "no mount command on this machine"
    return None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs folder (root only); skipped with the reason when it cannot be mounted."""
    reason = _can_mount()
    if reason:
        pytest.skip(reason)
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"tmpfs cannot be mounted here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.duckdb_only(reason="the DuckDB file lock")
def test_busy_workspace_names_the_process_that_holds_it(tmp_path: Path) -> None:
    assert clearlane("init", "-w", "ws", cwd=tmp_path).returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " time.sleep(120)",
            str(tmp_path / "ws" / "clearlane.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = clearlane("ingest", str(write(tmp_path / "a.csv", *_rows(3))), "-w", "ws", cwd=tmp_path)
        plain(result, 6, "busy", f"PID {holder.pid}", f"kill {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    assert clearlane("ingest", "a.csv", "-w", "ws", cwd=tmp_path).returncode == 0


@pytest.mark.duckdb_only(reason="a read-only .duckdb file or folder")
def test_read_only_workspace(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    source = write(tmp_path / "a.csv", *_rows(3))
    if os.geteuid() != 0:
        assert clearlane("init", "-w", "ws", cwd=tmp_path).returncode == 0
        folder = tmp_path / "ws"
        database = folder / "clearlane.duckdb"
        database.chmod(0o444)
        folder.chmod(0o555)
        request.addfinalizer(lambda: (folder.chmod(0o755), database.chmod(0o644)))
        result = clearlane("ingest", str(source), "-w", str(folder), cwd=tmp_path)
    else:
        # root ignores file modes: make the folder truly read-only with a read-only mount
        disk = request.getfixturevalue("small_disk")
        assert clearlane("init", "-w", str(disk / "ws"), cwd=tmp_path).returncode == 0
        remount = subprocess.run(
            ["mount", "-o", "remount,ro", str(disk)], capture_output=True, text=True
        )
        if remount.returncode != 0:
            pytest.skip(f"cannot remount the tmpfs read-only: {remount.stderr.strip()}")
        result = clearlane("ingest", str(source), "-w", str(disk / "ws"), cwd=tmp_path)
    plain(result, 7, "read-only", "writable")


@pytest.mark.duckdb_only(reason="the database file on a full disk")
def test_full_disk_changes_nothing(tmp_path: Path, small_disk: Path) -> None:
    ws = small_disk / "ws"
    assert clearlane("init", "-w", str(ws), cwd=tmp_path).returncode == 0
    small = write(tmp_path / "small.csv", "S1,1,2024-01-02,851713,CN,10,100")
    assert clearlane("ingest", str(small), "-w", str(ws), cwd=tmp_path).returncode == 0
    # leave ~300 KiB free, far less than the big file needs
    stats = os.statvfs(small_disk)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - 300 * 1024))
    big = write(tmp_path / "big.csv", *_rows(60_000))
    result = clearlane("ingest", str(big), "-w", str(ws), cwd=tmp_path)
    plain(result, 7, "full", "nothing was changed")
    filler.unlink()
    info = clearlane("info", "-w", str(ws), cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "Declaration items: 1 " in info.stdout  # the one stored before, and nothing else


def test_missing_unreadable_and_folder_inputs(tmp_path: Path) -> None:
    assert clearlane("init", "-w", "ws", cwd=tmp_path).returncode == 0
    plain(clearlane("ingest", "nowhere.csv", "-w", "ws", cwd=tmp_path), 3, "nowhere.csv", "no such file")
    (tmp_path / "folder.csv").mkdir()
    plain(clearlane("ingest", "folder.csv", "-w", "ws", cwd=tmp_path), 2, "folder.csv", "folder")
    if os.geteuid() == 0:
        return  # root reads any file: an unreadable file cannot be made here
    locked = write(tmp_path / "locked.csv", *_rows(2))
    locked.chmod(0)
    plain(clearlane("ingest", "locked.csv", "-w", "ws", cwd=tmp_path), 5, "locked.csv", "cannot be read")


def test_an_unreadable_input_is_a_permission_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # root reads files whatever their mode, so the refusal the OS would give is simulated
    from clearlane.errors import PermissionDeniedError
    from clearlane.services.ingest import check_readable

    locked = write(tmp_path / "locked.csv", *_rows(2))

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(PermissionDeniedError, match=r"locked\.csv.*cannot be read"):
        check_readable(locked)


def test_a_file_with_no_storable_row_exits_2(tmp_path: Path) -> None:
    assert clearlane("init", "-w", "ws", cwd=tmp_path).returncode == 0
    bad = write(tmp_path / "bad.csv", "D1,1,2024-01-02,851713,Atlantis,1,1", "D2,1,2024-01-02,851713,CN,-1,1")
    good = write(tmp_path / "good.csv", "G1,1,2024-01-02,851713,CN,1,1")
    result = clearlane("ingest", str(bad), str(good), "-w", "ws", cwd=tmp_path)
    plain(result, 2, "bad.csv", "2 of 2 rows rejected", "--allow-empty")
    assert "good.csv" in result.stdout  # the next file was still ingested
    # the same file again: already ingested, a success
    again = clearlane("ingest", str(bad), "-w", "ws", cwd=tmp_path)
    assert again.returncode == 0 and "already ingested" in again.stdout
    other = write(tmp_path / "bad2.csv", "D3,1,2024-01-02,851713,Atlantis,1,1")
    allowed = clearlane("ingest", str(other), "--allow-empty", "-w", "ws", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr


def test_batches_drop_refused_is_a_conflict(tmp_path: Path) -> None:
    assert clearlane("init", "-w", "ws", cwd=tmp_path).returncode == 0
    clearlane("ingest", str(write(tmp_path / "a.csv", *_rows(3))), "-w", "ws", cwd=tmp_path)
    clearlane("ingest", str(write(tmp_path / "b.csv", *_rows(4))), "-w", "ws", cwd=tmp_path)
    listed = clearlane("batches", "list", "-w", "ws", cwd=tmp_path)
    assert listed.returncode == 0 and "a.csv" in listed.stdout and "b.csv" in listed.stdout
    first = next(line.split()[1] for line in listed.stdout.splitlines() if "a.csv" in line)
    plain(clearlane("batches", "drop", first, "-w", "ws", cwd=tmp_path), 4, "Drop those batches first")
    plain(clearlane("batches", "drop", "zzz", "-w", "ws", cwd=tmp_path), 3, "zzz")
    dropped = clearlane("batches", "drop", "latest", "-w", "ws", cwd=tmp_path)
    assert dropped.returncode == 0 and "Dropped" in dropped.stdout
