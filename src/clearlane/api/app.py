"""The app factory: one ASGI app per settings, its workspace held open while it runs."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from clearlane import __version__
from clearlane.api.docs import DOCS_PATHS, mount_docs
from clearlane.api.problems import (
    PROBLEM_MEDIA_TYPE,
    ProblemDetails,
    document_problems,
    install_handlers,
)
from clearlane.api.routes import ROUTERS
from clearlane.api.security import guard_routes
from clearlane.api.state import AppState
from clearlane.errors import ClearlaneError
from clearlane.services import audit, model_jobs, notifications
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace

log = logging.getLogger("clearlane.api")
API_PREFIX = "/api/v1"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"

DESCRIPTION = """\
Clearlane's risk service for a clearance system and a risk unit: assess declarations at
lodgement, record inspection outcomes, read assessments, models, rules, performance, data
quality and the readiness self-assessment. Every error is an RFC 9457 problem
(`application/problem+json`). Authenticate with an API key (`Authorization: Bearer clk_…`) or a
session cookie from `POST /api/v1/auth/login`; each operation's `x-permission` names what the
caller's role must grant.
"""


def checkpoint_audit(workspace: Workspace, settings: Settings) -> None:
    """Sign the audit head into the checkpoint file when it moved; log a broken chain (the
    server keeps serving: ``GET /api/v1/audit/verify`` names the break)."""
    try:
        result = audit.verify_workspace(workspace, settings)
        if result.ok and result.head is not None and (
                result.checkpoint is None or result.checkpoint.hash != result.head.hash):
            audit.sign_head(result, settings)  # verified just above: no second pass
        elif not result.ok and result.broken is not None:
            log.error("audit chain broken at entry %s (%s): not checkpointed",
                      result.broken.sequence, result.broken.kind)
    except ClearlaneError as exc:
        log.error("audit checkpoint failed: %s", exc)


def _record_if_intact(workspace: Workspace, settings: Settings, action: str, served_at: str,
                      change: dict[str, object]) -> None:
    """Record a server event, unless the chain is broken: an entry appended on top of a
    truncated or edited chain would hide where it broke (the break is logged instead)."""
    result = audit.verify_workspace(workspace, settings)
    if result.broken is not None:
        log.error("audit chain broken at entry %s (%s): %s not recorded; see GET "
                  "/api/v1/audit/verify", result.broken.sequence, result.broken.kind, action)
        return
    audit.record_event(workspace, action=action, object_type="server", object_id=served_at,
                       change=change)


def _jobs_at(step: Callable[[Workspace], object], workspace: Workspace) -> None:
    """Mark unfinished jobs interrupted at start-up or shutdown; a failure is logged, never a
    reason not to serve or not to stop."""
    try:
        step(workspace)
    except ClearlaneError as exc:
        log.error("background jobs: %s", exc)


async def _checkpoint_every(workspace: Workspace, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.audit_checkpoint_seconds)
        await run_in_threadpool(checkpoint_audit, workspace, settings)


def create_app(settings: Settings | None = None, *, url: str | None = None,
               dev: bool = False) -> FastAPI:
    """The app for ``settings`` (built from the environment when None).

    The workspace must exist; it is migrated and held open (one process) from start-up to
    shutdown, with ``url`` written beside it so that a CLI refused by the lock can say where
    the server is.
    """
    settings = settings or Settings()
    workspace = Workspace.open(settings.workspace)
    served_at = url or f"http://{settings.host}:{settings.port}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with workspace.hold(served_at):
            # the settings are audited at each start, so a change between runs is on record
            _record_if_intact(workspace, settings, "server.start", served_at,
                              {"pid": os.getpid(), "dev": dev,
                               "settings": audit.public_settings(settings)})
            _jobs_at(model_jobs.recover_jobs, workspace)  # left unfinished by a previous run
            task = asyncio.create_task(_checkpoint_every(workspace, settings))
            # webhooks (docs/notifications.md): a thread, only when a webhook_url is set
            dispatcher = notifications.start_dispatcher(workspace, settings)
            try:
                yield
            finally:
                task.cancel()
                await run_in_threadpool(_jobs_at, model_jobs.stop_jobs, workspace)
                if dispatcher is not None:
                    await run_in_threadpool(dispatcher.stop)
                _record_if_intact(workspace, settings, "server.stop", served_at, {"pid": os.getpid()})
                await run_in_threadpool(checkpoint_audit, workspace, settings)

    app = FastAPI(
        title="Clearlane", version=__version__, description=DESCRIPTION,
        openapi_url=OPENAPI_URL, docs_url=None, redoc_url=None, lifespan=lifespan,
        responses={422: {"model": ProblemDetails,
                         "description": "Invalid input (RFC 9457 problem)",
                         "content": {PROBLEM_MEDIA_TYPE: {}}}},
    )
    app.state.clearlane = AppState(settings=settings, workspace=workspace,
                                   started_at=datetime.now(UTC), dev=dev)
    install_handlers(app)
    for router in ROUTERS:
        guard_routes(router.routes)
        app.include_router(router)
    mount_docs(app, OPENAPI_URL)
    guard_routes(app.routes, public_paths=(OPENAPI_URL, *DOCS_PATHS))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
