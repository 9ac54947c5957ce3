"""Worker processes of a benchmark end with it.

A benchmark that runs seeds in a spawn pool and is stopped with SIGTERM (``kill``, ``pkill``)
would otherwise leave its workers running: they keep the CPUs busy and skew the next
measurement on the same machine.
"""

from __future__ import annotations

import multiprocessing
import signal
from types import FrameType


def stop_workers_on_termination() -> None:
    """On SIGTERM or SIGHUP, terminate this process's multiprocessing children, then exit
    with status 128 + the signal number (as a shell reports a killed process)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        for child in multiprocessing.active_children():
            child.terminate()
        for child in multiprocessing.active_children():
            child.join(timeout=5)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)
