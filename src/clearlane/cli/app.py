"""The root Typer application; command modules attach to it (see ``cli/main.py``)."""

from __future__ import annotations

import typer

from clearlane import __version__

app = typer.Typer(
    name="clearlane",
    help=(
        "Clearlane turns customs declaration data into risk decisions, offline.\n\n"
        "Ingest declarations from any layout, check their quality, assess the risk of each one, "
        "select them for red/yellow/blue/green lanes under inspection capacity, and learn from "
        "inspection outcomes.\n\nStart with `clearlane init`, then `clearlane synth` or "
        "`clearlane ingest FILE --profile P`."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clearlane {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Clearlane: customs risk management, offline."""
