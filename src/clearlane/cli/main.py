"""Entry point of the ``clearlane`` command."""

from __future__ import annotations

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


def _register() -> None:
    # Command groups register themselves on `app`; one module per group.
    from clearlane.cli import commands_data  # noqa: F401

    from clearlane.cli import demo as _demo; app.command("demo")(_demo.demo)  # noqa: E702
    # -- command groups added by capabilities (one line each) --
    from clearlane.cli import quality as _quality; app.command("quality")(_quality.quality)  # noqa: E702
    from clearlane.cli import synth as _synth; app.command("synth")(_synth.synth)  # noqa: E702
    from clearlane.cli import valuation as _valuation; app.add_typer(_valuation.app, name="valuation")  # noqa: E702
    from clearlane.cli import models as _models; app.add_typer(_models.app, name="models")  # noqa: E702
    from clearlane.cli import risk as _risk; app.command("train")(_risk.train); app.command("assess")(_risk.assess); app.command("evaluate")(_risk.evaluate)  # noqa: E501, E702
    from clearlane.cli import readiness as _readiness; app.add_typer(_readiness.app, name="readiness")  # noqa: E702
    from clearlane.cli import rules as _rules; app.add_typer(_rules.app, name="rules")  # noqa: E702
    from clearlane.cli import selection as _selection; app.command("select")(_selection.select); app.command("override")(_selection.override)  # noqa: E501, E702
    from clearlane.cli import outcomes as _outcomes; app.add_typer(_outcomes.app, name="outcomes")  # noqa: E702
    from clearlane.cli import report as _report; app.add_typer(_report.app, name="report")  # noqa: E702
    from clearlane.cli import simulate as _simulate; app.command("simulate")(_simulate.simulate)  # noqa: E702


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
