"""Interactive API docs (Swagger UI) from assets installed from npm, never from a CDN.

``make assets`` (run by ``make demo`` and ``make test``) installs ``swagger-ui-dist`` at the
version pinned in ``package.json``/``package-lock.json`` and copies the two files the page needs
into ``clearlane/api/static/swagger-ui/``. Without them the docs page says how to install them;
the OpenAPI document itself never needs them.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from clearlane.api.problems import problem_response
from clearlane.api.security import PUBLIC, allow

ASSETS_DIR = Path(__file__).parent / "static" / "swagger-ui"
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
DOCS_PATH = "/api/v1/docs"
DOCS_PATHS: tuple[str, ...] = ()
"""Paths served outside API routes (none: the docs page and its assets are public routes)."""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clearlane API</title>
<link rel="stylesheet" href="{docs}/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{docs}/assets/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "{openapi}", dom_id: "#swagger-ui", deepLinking: true,
                 validatorUrl: null}});</script>
</body></html>
"""


def assets_installed() -> bool:
    return all((ASSETS_DIR / name).is_file() for name in ASSETS)


def mount_docs(app: FastAPI, openapi_url: str) -> None:
    @app.get(DOCS_PATH, include_in_schema=False, dependencies=[allow(PUBLIC)])
    def docs_page(request: Request) -> Response:
        if not assets_installed():
            return problem_response(
                503, "docs-assets-missing", "API docs assets are not installed",
                "the interactive docs need swagger-ui-dist from npm: run `make assets`; the "
                f"OpenAPI document is at {openapi_url}", request)
        return HTMLResponse(_PAGE.format(docs=DOCS_PATH, openapi=openapi_url))

    @app.get(DOCS_PATH + "/assets/{name}", include_in_schema=False,
             dependencies=[allow(PUBLIC)])
    def docs_asset(name: str, request: Request) -> Response:
        path = ASSETS_DIR / name
        if name not in ASSETS or not path.is_file():
            return problem_response(404, "not-found", "Not found", f"no docs asset {name!r}",
                                    request)
        return FileResponse(path, media_type=ASSETS[name],
                            headers={"Cache-Control": "public, max-age=86400"})
