"""Every router of the API, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from clearlane.api.routes import (
    accounts,
    audit,
    auth,
    cases,
    declarations,
    lodgement,
    maps,
    models,
    outcomes,
    overrides,
    quality,
    readiness,
    reference,
    rules,
    system,
)

ROUTERS: tuple[APIRouter, ...] = (
    system.router,
    auth.router,
    accounts.router,
    audit.router,
    lodgement.router,
    declarations.router,
    outcomes.router,
    cases.router,
    overrides.router,
    models.router,
    rules.router,
    quality.router,
    reference.router,
    readiness.router,
    maps.router,
)
