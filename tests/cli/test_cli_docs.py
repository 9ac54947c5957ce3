"""Every CLI command is documented in the generated reference (docs/cli.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from clearlane.cli.main import app

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from gen_cli_reference import command_paths  # noqa: E402


def test_every_command_is_in_the_cli_reference() -> None:
    paths = command_paths(typer.main.get_command(app))
    assert ("ingest",) in paths and ("profile", "suggest") in paths  # the walk reaches sub-commands
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [
        " ".join(("clearlane", *path))
        for path in command_paths(typer.main.get_command(app))
        if f"## `{' '.join(('clearlane', *path))}`" not in text
    ]
    assert not missing, f"undocumented commands (run `make docs-cli`): {missing}"


def test_every_setting_is_documented() -> None:
    from clearlane.settings import Settings

    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"CLEARLANE_{name.upper()}" in text, (
            f"setting {name} is not in docs/configuration.md"
        )
