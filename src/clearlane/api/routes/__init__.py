"""Every router of the API, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from clearlane.api.routes import accounts, audit, auth, system
from clearlane.api.routes import lodgement as lodgement_routes

ROUTERS: tuple[APIRouter, ...] = (
    system.router,
    auth.router,
    accounts.router,
    audit.router,
    lodgement_routes.router,
)
