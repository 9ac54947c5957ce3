"""The served app: the REST API (:func:`clearlane.api.create_app`) with the web workspace's
pages on top. ``clearlane serve`` runs this one; the API alone stays available for an
integration that wants no pages."""

from __future__ import annotations

from fastapi import FastAPI

from clearlane.api import create_app as create_api_app
from clearlane.settings import Settings
from clearlane.web.pages import install_web


def create_app(settings: Settings | None = None, *, url: str | None = None,
               dev: bool = False) -> FastAPI:
    """The API of ``settings`` (see :func:`clearlane.api.create_app`) and the web pages."""
    app = create_api_app(settings, url=url, dev=dev)
    install_web(app)
    return app
