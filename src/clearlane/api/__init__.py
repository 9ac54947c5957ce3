"""The HTTP API: an app factory (:func:`create_app`), thin routes over ``services/``.

Importing this package imports FastAPI; nothing else in Clearlane imports it except ``web/``.
"""

from __future__ import annotations

from clearlane.api.app import create_app

__all__ = ["create_app"]
