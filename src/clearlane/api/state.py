"""What one running app holds: its settings, its workspace and caches owned by services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from clearlane.settings import Settings
from clearlane.store.workspace import Workspace


@dataclass
class AppState:
    """The state of one app: built by :func:`clearlane.api.create_app`, one per process."""

    settings: Settings
    workspace: Workspace
    started_at: datetime
    dev: bool = False
    cache: dict[str, Any] = field(default_factory=dict)
    """Objects services keep between requests (loaded models), keyed by the service."""


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.clearlane
    return state


def workspace_of(request: Request) -> Workspace:
    return app_state(request).workspace


StateDep = Annotated[AppState, Depends(app_state)]
WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]
