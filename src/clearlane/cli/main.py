"""Entry point of the ``clearlane`` command."""

from __future__ import annotations

import importlib
import sys

from clearlane.cli.app import app
from clearlane.cli.common import err_console
from clearlane.errors import (
    ClearlaneError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

# Every command module, declared once, in the order `clearlane --help` lists them:
# (module in clearlane.cli, "command" or "group", name on the command line, attribute).
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("demo", "command", "demo", "demo"),
    ("synth", "command", "synth", "synth"),
    ("quality", "command", "quality", "quality"),
    ("risk", "command", "train", "train"),
    ("risk", "command", "assess", "assess"),
    ("risk", "command", "evaluate", "evaluate"),
    ("models", "group", "models", "app"),
    ("selection", "command", "select", "select"),
    ("selection", "command", "override", "override"),
    ("outcomes", "group", "outcomes", "app"),
    ("report", "group", "report", "app"),
    ("simulate", "command", "simulate", "simulate"),
    ("rules", "group", "rules", "app"),
    ("hs", "group", "hs", "app"),
    ("valuation", "group", "valuation", "app"),
    ("readiness", "group", "readiness", "app"),
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

EXIT_CODES: dict[type[ClearlaneError], int] = {
    ValidationError: 2,
    NotFoundError: 3,
    ConflictError: 4,
    PermissionDeniedError: 5,
}


def run() -> None:
    """Console-script entry: run the app and map Clearlane errors to exit codes."""
    try:
        app()
    except ClearlaneError as exc:
        code = next((c for t, c in EXIT_CODES.items() if isinstance(exc, t)), 1)
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(code)
