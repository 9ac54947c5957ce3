"""``/health`` (the process answers) and ``/ready`` (its workspace answers and verifies)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from clearlane import __version__
from clearlane.api.problems import problem_response
from clearlane.api.security import PUBLIC, allow
from clearlane.api.state import StateDep
from clearlane.errors import ClearlaneError

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    version: str


class Ready(BaseModel):
    status: str
    version: str
    schema_version: int
    declarations: int


@router.get("/health", dependencies=[allow(PUBLIC)], response_model=Health)
def health() -> Health:
    """The process is up (no workspace access): for a load balancer's liveness probe."""
    return Health(status="ok", version=__version__)


@router.get("/ready", dependencies=[allow(PUBLIC)], response_model=Ready,
            responses={503: {"description": "The workspace cannot be read"}})
def ready(state: StateDep, request: Request) -> Ready | JSONResponse:
    """The workspace answers: for a readiness probe (503 with the reason when it does not)."""
    try:
        with state.workspace.connect() as con:
            version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
            count = con.execute("SELECT count(*) FROM declarations").fetchone()
    except ClearlaneError as exc:
        return problem_response(503, "not-ready", "Not ready", str(exc), request)
    return Ready(status="ready", version=__version__,
                 schema_version=int(version[0]) if version else 0,
                 declarations=int(count[0]) if count else 0)
