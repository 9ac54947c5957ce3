"""Write one benchmark's section of docs/benchmarks.md, leaving the other sections alone.

Each benchmark owns the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``.
Set ``CLEARLANE_BENCH_REPORT`` to another file for a trial run.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Every number here was written by the benchmark script named in its section, run with the "
    "command shown. Rerun the command to reproduce it; the machine is described in each section.\n"
)


def verdict(met: bool) -> str:
    """How every benchmark marks a target in docs/benchmarks.md."""
    return "**met**" if met else "**not met**"


def machine() -> str:
    """A one-line description of the machine the benchmark ran on."""
    cpus = os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cpus} CPU cores, Python {sys.version.split()[0]}"


def write_section(name: str, title: str, command: str, body: str) -> Path:
    """Replace (or append) the section ``name`` of docs/benchmarks.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Command: `{command}`  \nMachine: {machine()}  \nRun: {stamp}\n\n{body.strip()}\n"
        f"<!-- /bench:{name} -->"
    )
    # CLEARLANE_BENCH_REPORT sends a trial run elsewhere, leaving docs/benchmarks.md alone.
    report = Path(os.environ.get("CLEARLANE_BENCH_REPORT") or REPORT)
    text = report.read_text(encoding="utf-8") if report.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text, encoding="utf-8")
    return report
