"""One error shape: RFC 9457 problem details from Clearlane's exception tree.

Only this module maps errors to HTTP statuses. Bad input is a 4xx naming the field; a foreseeable
condition of the server (a busy or full workspace, a model that cannot be loaded) is a 503 or
507 with a plain message; a bug is a 500 whose body names no internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearlane.errors import (
    ArtifactError,
    AuditChainError,
    ClearlaneError,
    ConflictError,
    InvalidCredentialsError,
    LoginRateLimitedError,
    MissingExtraError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    StorageError,
    ValidationError,
    WorkspaceBusyError,
)
from clearlane.store.workspace import SchemaVersionError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("clearlane.api")

# most specific first: the first class an error is an instance of decides
_STATUS: tuple[tuple[type[ClearlaneError], int, str, str], ...] = (
    (LoginRateLimitedError, 429, "too-many-login-attempts", "Too many failed logins"),
    (InvalidCredentialsError, 401, "unauthenticated", "Authentication required"),
    (PermissionDeniedError, 403, "forbidden", "Not allowed"),
    (ArtifactError, 503, "model-unavailable", "A model cannot be loaded"),
    (ValidationError, 422, "validation", "Invalid input"),
    (NotFoundError, 404, "not-found", "Not found"),
    (ConflictError, 409, "conflict", "Conflict with stored content"),
    (AuditChainError, 409, "audit-chain-broken", "The audit chain does not verify"),
    (WorkspaceBusyError, 503, "workspace-busy", "The workspace is busy"),
    (SchemaVersionError, 503, "workspace-version", "The workspace needs another Clearlane"),
    (StorageError, 507, "storage", "The workspace cannot be written"),
    (MissingExtraError, 501, "missing-extra", "An optional capability is not installed"),
)


class FieldProblem(BaseModel):
    """One problem with one field of the input."""

    field: str = Field(description="The field, e.g. `customs_value` or `items[3].hs_code`.")
    value: str | None = Field(None, description="The value received, as text.")
    reason: str = Field(description="Why it was refused and what is valid.")
    row: int | None = Field(None, description="The item's position in a batch (0-based).")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: every error response of the API has this shape."""

    type: str = Field(description="A URN naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str | None = Field(None, description="The request path.")
    errors: list[FieldProblem] = Field(default_factory=list)


def problem_type(slug: str) -> str:
    return f"urn:clearlane:problem:{slug}"


def problem_response(status: int, slug: str, title: str, detail: str, request: Request,
                     errors: list[FieldProblem] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = ProblemDetails(type=problem_type(slug), title=title, status=status, detail=detail,
                          instance=request.url.path, errors=errors or [])
    return JSONResponse(body.model_dump(mode="json"), status_code=status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def field_problem(problem: Problem) -> FieldProblem:
    return FieldProblem(field=problem.field, value=problem.value, reason=problem.reason,
                        row=problem.row)


def status_of(error: ClearlaneError) -> tuple[int, str, str]:
    for cls, status, slug, title in _STATUS:
        if isinstance(error, cls):
            return status, slug, title
    return 400, "bad-request", "Bad request"


def _message(error: ClearlaneError) -> str:
    # a ValidationError's text lists its problems; the body carries them structured instead
    if isinstance(error, ValidationError):
        return error.message
    return str(error.args[0]) if error.args else type(error).__name__


async def clearlane_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ClearlaneError)
    status, slug, title = status_of(error)
    problems = getattr(error, "problems", None) or []
    headers = {"WWW-Authenticate": 'Bearer realm="clearlane"'} if status == 401 else None
    return problem_response(status, slug, title, _message(error), request,
                            [field_problem(p) for p in problems], headers)


def _loc_name(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or str(loc[0] if loc else "body")


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


async def request_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [FieldProblem(field=_loc_name(tuple(e.get("loc", ()))),
                             value=_shown(e.get("input")), reason=str(e.get("msg", "invalid")))
                for e in error.errors()]
    names = ", ".join(dict.fromkeys(p.field for p in problems)) or "the request"
    return problem_response(422, "validation", "Invalid input",
                            f"the request does not match the schema: {names}", request, problems)


async def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    slug = {400: "malformed", 404: "not-found", 405: "method-not-allowed",
            401: "unauthenticated", 403: "forbidden"}.get(error.status_code, "http")
    headers = dict(error.headers) if error.headers else None
    # FastAPI's only 400 is a body it cannot parse (not JSON, not UTF-8): name the field
    errors = ([FieldProblem(field="body", reason=str(error.detail))]
              if error.status_code == 400 else None)
    return problem_response(error.status_code, slug, str(error.detail), str(error.detail),
                            request, errors, headers=headers)


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(500, "internal", "Internal error",
                            "an unexpected error occurred; it was logged on the server",
                            request)


class UnexpectedErrors:
    """ASGI middleware: an exception no handler took is answered with a 500 problem, and the
    request ends there.

    (Starlette's handler for ``Exception`` answers and then re-raises to the server, which
    then closes the connection: the client may see a reset instead of the answer.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:  # too late for an answer: let the server close the connection
                raise
            response = await unexpected_error(Request(scope), exc)
            await response(scope, receive, send)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClearlaneError, clearlane_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(UnexpectedErrors)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetails, "description": title,
             "content": {PROBLEM_MEDIA_TYPE: {}}}
    for status, title in ((401, "Not authenticated"), (403, "Not allowed"),
                          (422, "Invalid input"), (503, "The workspace is busy"))
}
"""The error responses every protected route documents."""

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
_FASTAPI_VALIDATION = "#/components/schemas/HTTPValidationError"


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the server does for errors, for every route.

    Every 4xx/5xx response is ``application/problem+json`` with the :class:`ProblemDetails`
    schema (FastAPI files a ``model`` under ``application/json`` and its own 422 shape, which
    this server never sends); an operation with a path parameter documents 404 (the thing it
    names may not exist), one with a body documents 400 (a body that cannot be parsed).
    Changes ``openapi`` in place and returns it.
    """
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    if "ProblemDetails" not in schemas:
        generated = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(generated.pop("$defs", {}))
        schemas["ProblemDetails"] = generated
    for item in openapi.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                responses.setdefault("404", {"description": "Not found"})
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "The body cannot be parsed"})
            for status, response in responses.items():
                if status[:1] not in ("4", "5"):
                    continue
                content = response.get("content", {})
                schema = next((c["schema"] for c in (content.get(PROBLEM_MEDIA_TYPE, {}),
                                                     content.get("application/json", {}))
                               if "schema" in c), _PROBLEM_REF)
                if schema.get("$ref") == _FASTAPI_VALIDATION:
                    schema = _PROBLEM_REF
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": schema}}
    return openapi
