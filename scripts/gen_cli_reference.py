"""Generate docs/cli.md from the `clearlane` command tree (`--help` of every command).

python scripts/gen_cli_reference.py          # rewrite docs/cli.md
python scripts/gen_cli_reference.py --check  # exit 1 if docs/cli.md is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from clearlane.cli.common import EXIT_CODE_TABLE
from clearlane.cli.main import app

TARGET = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def command_paths(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path below ``group`` (typer's groups need not subclass click's)."""
    paths = [prefix]
    commands = getattr(group, "commands", None) or {}
    for name in sorted(commands):
        paths += command_paths(commands[name], (*prefix, name))
    return paths


def exit_codes() -> str:
    """The exit-code table every command follows (from ``clearlane.cli.common``)."""
    rows = "\n".join(f"| {code} | {meaning} |" for code, meaning in EXIT_CODE_TABLE)
    return (
        "## Exit codes\n\n"
        "Every command ends with one of these codes; an error prints one plain message "
        "(`Error: ...`) on standard error; only an unexpected error (a bug, code 1) shows a "
        "Python traceback.\n\n"
        f"| code | meaning |\n|---|---|\n{rows}\n"
    )


def render() -> str:
    runner = CliRunner()
    root = typer.main.get_command(app)
    parts = [
        "# CLI reference\n",
        "Generated from `--help` by `python scripts/gen_cli_reference.py`; do not edit by hand.\n",
        exit_codes(),
    ]
    for path in command_paths(root):
        result = runner.invoke(
            app, [*path, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
        )
        title = " ".join(("clearlane", *path))
        parts.append(f"## `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        return 0 if current == text else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
