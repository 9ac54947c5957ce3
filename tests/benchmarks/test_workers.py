"""A benchmark stopped with SIGTERM takes its spawn-pool workers with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import multiprocessing, sys, time
from concurrent.futures import ProcessPoolExecutor
from benchmarks._workers import stop_workers_on_termination

def nap(seconds):
    time.sleep(seconds)

if __name__ == "__main__":
    stop_workers_on_termination()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(nap, 120) for _ in range(2)]
        time.sleep(1)
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        for f in futures:
            f.result()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has exited: only its parent's wait is missing
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_sigterm_stops_the_pool_workers(tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    workers = [int(p) for p in proc.stdout.readline().split()]
    try:
        assert workers and all(_alive(p) for p in workers)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers)
    finally:  # a failing run must not leave sleepers behind
        proc.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
