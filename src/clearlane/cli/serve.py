"""`clearlane serve`: the REST API (and, later, the web workspace) under uvicorn."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from pydantic import SecretStr

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.errors import Problem, ValidationError
from clearlane.settings import PLACEHOLDER_SECRET, Settings


def serve_settings(workspace: WorkspaceOption, host: str | None, port: int | None,
                   workers: int | None, dev: bool) -> Settings:
    """Settings for the server: options over the environment, checked before start-up."""
    overrides: dict[str, object] = {"workspace": workspace_path(workspace)}
    for name, value in (("host", host), ("port", port), ("workers", workers)):
        if value is not None:
            overrides[name] = value
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.secret_key.get_secret_value() == PLACEHOLDER_SECRET:
        if not dev:
            raise ValidationError(
                "refusing to serve with the placeholder secret key",
                [Problem("CLEARLANE_SECRET_KEY", PLACEHOLDER_SECRET,
                         "set it from a secret store (at least 32 random characters, e.g. "
                         "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), "
                         "or pass --dev on a development machine")])
        # a development server gets a fresh secret per run: its sessions end at restart
        settings.secret_key = SecretStr(secrets.token_urlsafe(32))
    elif len(settings.secret_key.get_secret_value()) < 32:
        raise ValidationError("the secret key is too short",
                              [Problem("CLEARLANE_SECRET_KEY", None,
                                       "give at least 32 random characters")])
    if settings.workers != 1:
        raise ValidationError(
            "the embedded workspace is held by one server process",
            [Problem("workers", str(settings.workers),
                     "use 1 with the embedded DuckDB store (one process serves it; requests "
                     "run on its threads)")])
    return settings


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (env CLEARLANE_HOST; "
                                             "default 127.0.0.1).", show_default=False)] = None,
    port: Annotated[int | None, typer.Option(help="Port (env CLEARLANE_PORT; default 8000).",
                                             show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes (env CLEARLANE_WORKERS; 1 with the embedded store).",
        show_default=False)] = None,
    dev: Annotated[bool, typer.Option(
        "--dev", help="Development: allow the placeholder secret (a random one is used).")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Serve the REST API on the workspace (docs at /api/v1/docs); Ctrl-C stops it.

    While it runs the server holds the workspace: other `clearlane` commands on it say that
    it is being served and where; use the API, or stop the server first.
    """
    import uvicorn

    from clearlane.web.app import create_app

    settings = serve_settings(workspace, host, port, workers, dev)
    url = f"http://{settings.host}:{settings.port}"
    app = create_app(settings, url=url, dev=dev)
    console.print(f"Serving workspace {str(settings.workspace)!r} at {url} "
                  f"(API docs: {url}/api/v1/docs){' [dev]' if dev else ''}")
    uvicorn.run(app, host=settings.host, port=settings.port, workers=1, log_level="info",
                server_header=False)
