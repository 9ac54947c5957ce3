"""Entry point of the ``clearlane`` command."""

from __future__ import annotations

import importlib
import sys

from rich.markup import escape

from clearlane.cli.app import app
from clearlane.cli.common import EXIT_CODES, err_console, exit_code, plain_error
from clearlane.errors import ClearlaneError

# Every command module, declared once, in the order `clearlane --help` lists them:
# (module in clearlane.cli, "command" or "group", name on the command line, attribute).
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("demo", "command", "demo", "demo"),
    ("synth", "command", "synth", "synth"),
    ("batches", "group", "batches", "app"),
    ("quality", "command", "quality", "quality"),
    ("risk", "command", "train", "train"),
    ("risk", "command", "assess", "assess"),
    ("risk", "command", "evaluate", "evaluate"),
    ("scale", "command", "export", "export"),
    ("scale", "group", "scale", "app"),
    ("models", "group", "models", "app"),
    ("selection", "command", "select", "select"),
    ("selection", "command", "override", "override"),
    ("outcomes", "group", "outcomes", "app"),
    ("cases", "group", "cases", "app"),
    ("notify", "group", "notify", "app"),
    ("report", "group", "report", "app"),
    ("simulate", "command", "simulate", "simulate"),
    ("rules", "group", "rules", "app"),
    ("hs", "group", "hs", "app"),
    ("valuation", "group", "valuation", "app"),
    ("readiness", "group", "readiness", "app"),
    ("users", "group", "users", "app"),
    ("keys", "group", "keys", "app"),
    ("audit", "group", "audit", "app"),
    ("workspaces", "group", "workspace", "app"),
    ("serve", "command", "serve", "serve"),
)


def _register() -> None:
    # The data commands (init, info, fields, ingest, quarantine, profile) attach themselves.
    importlib.import_module("clearlane.cli.commands_data")
    for module_name, kind, name, attribute in COMMANDS:
        target = getattr(importlib.import_module(f"clearlane.cli.{module_name}"), attribute)
        if kind == "group":
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)


_register()

__all__ = ["COMMANDS", "EXIT_CODES", "app", "run"]


def run() -> None:
    """Console-script entry: run the app; a Clearlane error, a busy or unwritable workspace,
    a full disk or an unreadable file ends in one plain message and its exit code (see
    ``EXIT_CODES`` in ``cli/common.py``, documented in docs/cli.md)."""
    try:
        app()
    except ClearlaneError as exc:
        _fail(exc)
    except Exception as exc:  # a known storage or file failure is mapped, a bug re-raised
        mapped = plain_error(exc)
        if mapped is None:
            raise
        _fail(mapped)


def _fail(exc: ClearlaneError) -> None:
    err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    sys.exit(exit_code(exc))


if __name__ == "__main__":
    run()
