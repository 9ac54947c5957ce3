from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from clearlane.cli.common import exit_code
from clearlane.cli.main import app
from clearlane.errors import ClearlaneError
from clearlane.services import accounts
from clearlane.store.workspace import Workspace

PASSWORD = "correct horse battery"


def _run(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    """Exit code, stdout and stderr; a Clearlane error gets the code and message that
    ``clearlane.cli.main.run`` gives it."""
    result = CliRunner().invoke(app, args, input=stdin)
    if isinstance(result.exception, ClearlaneError):
        return exit_code(result.exception), result.stdout, str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_users_add_list_deactivate(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    w = ["-w", str(ws.path)]
    code, out, _ = _run(["users", "add", "amina", "--role", "officer", "--office", "ABJ01",
                         "--office", "LOS02", "--password-stdin", *w], stdin=PASSWORD + "\n")
    assert code == 0, out
    assert accounts.login(ws, "amina", PASSWORD).offices == {"ABJ01", "LOS02"}
    code, out, _ = _run(["users", "list", *w])
    assert code == 0 and "amina" in out and "officer" in out and "$argon2" not in out
    code, _, _ = _run(["users", "password", "amina", "--password-stdin", *w],
                      stdin="another long passphrase\n")
    assert code == 0
    accounts.login(ws, "amina", "another long passphrase")
    code, _, _ = _run(["users", "deactivate", "amina", *w])
    assert code == 0 and not accounts.get_user(ws, "amina").active


def test_users_add_refuses_without_stdin_or_with_bad_input(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    w = ["-w", str(ws.path)]
    code, _, err = _run(["users", "add", "bob", "--role", "analyst", *w])
    assert code == 2 and "--password-stdin" in err
    code, _, err = _run(["users", "add", "bob", "--role", "boss", "--password-stdin", *w],
                        stdin=PASSWORD)
    assert code == 2 and "valid roles" in err
    code, _, err = _run(["users", "add", "bob", "--role", "officer", "--password-stdin", *w],
                        stdin=PASSWORD)
    assert code == 2 and "office" in err
    code, _, _ = _run(["users", "deactivate", "nobody", *w])
    assert code == 3
    assert accounts.list_users(ws) == []


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    w = ["-w", str(ws.path)]
    code, out, err = _run(["keys", "create", "--name", "asycuda", "--role", "system",
                           "--expires-days", "30", *w])
    assert code == 0, err
    token = out.strip()
    assert re.fullmatch(r"clk_[0-9a-f]{8}\.\S+", token)
    prefix = token.split(".")[0]
    assert accounts.authenticate_key(ws, token).role == "system"
    code, out, _ = _run(["keys", "list", *w])
    assert code == 0 and prefix in out and "active" in out
    assert token.split(".")[1] not in out
    code, _, _ = _run(["keys", "revoke", prefix, *w])
    assert code == 0
    code, out, _ = _run(["keys", "list", *w])
    assert "revoked" in out
    code, _, _ = _run(["keys", "revoke", "clk_00000000", *w])
    assert code == 3
