"""`CLEARLANE_SEED` is the default of every `--seed` option; an explicit `--seed` wins."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.settings import Settings


def _synth(tmp_path: Path, name: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run `clearlane synth` in-process; the SHA-256 of the declarations it wrote."""
    out = tmp_path / name
    result = CliRunner().invoke(
        app,
        ["synth", "--items", "300", "--days", "30", "--format", "csv", "--out", str(out), *args],
        env=env,
    )
    assert result.exit_code == 0, result.output
    return hashlib.sha256((out / "declarations.csv").read_bytes()).hexdigest()


def test_synth_seed_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLEARLANE_SEED", raising=False)
    default = _synth(tmp_path, "default")
    explicit_42 = _synth(tmp_path, "s42", "--seed", "42")
    explicit_7 = _synth(tmp_path, "s7", "--seed", "7")
    from_env = _synth(tmp_path, "env7", env={"CLEARLANE_SEED": "7"})
    env_overridden = _synth(tmp_path, "env7-s42", "--seed", "42", env={"CLEARLANE_SEED": "7"})
    assert default == explicit_42
    assert from_env == explicit_7
    assert from_env != default
    assert env_overridden == explicit_42


def test_settings_seed_default_matches_the_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLEARLANE_SEED", raising=False)
    assert Settings().seed == 42
    monkeypatch.setenv("CLEARLANE_SEED", "7")
    assert Settings().seed == 7


def test_every_seed_option_defaults_to_the_setting() -> None:
    """No command hard-codes its seed: each `--seed` is unset by default (then settings)."""
    import typer.main

    def commands(group: object, path: str) -> list[tuple[str, object]]:
        # typer's groups need not subclass click's (see scripts/gen_cli_reference.py)
        found: list[tuple[str, object]] = [(path, group)]
        for name, sub in (getattr(group, "commands", None) or {}).items():
            found += commands(sub, f"{path} {name}".strip())
        return found

    seeded = {
        path: param
        for path, command in commands(typer.main.get_command(app), "")
        for param in getattr(command, "params", [])
        if param.name == "seed"
    }
    assert {"demo", "synth", "train", "select", "simulate"} <= set(seeded)
    for path, param in seeded.items():
        assert param.default is None, f"`clearlane {path} --seed` hard-codes {param.default}"
        assert "CLEARLANE_SEED" in (getattr(param, "help", None) or ""), path
