"""Trade maps as GeoJSON (RFC 7946, EPSG:4326): the countries of origin with their numbers, and
the routes origin → departure weighted by customs value (see docs/maps.md for the
properties). The same files as the web workspace's downloads; QGIS opens them as they are."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.maps.geojson import MEDIA_TYPE
from clearlane.services import maps as service

router = APIRouter(prefix="/api/v1/maps", tags=["maps"], responses=ERROR_RESPONSES)

DateFrom = Annotated[date | None, Query(description="First acceptance date counted "
                                                    "(inclusive; default: the first).")]
DateTo = Annotated[date | None, Query(description="Last acceptance date counted "
                                                  "(inclusive; default: the last).")]
Office = Annotated[str | None, Query(min_length=1, max_length=100,
                                     description="Count only this customs office.")]
GEOJSON_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "A GeoJSON FeatureCollection (RFC 7946, longitude/latitude WGS84).",
    "content": {MEDIA_TYPE: {"schema": {"type": "object"}}}}}


def _geojson(collection: dict[str, Any]) -> Response:
    return Response(json.dumps(collection, separators=(",", ":")), media_type=MEDIA_TYPE)


@router.get("/origins", response_class=Response, responses=GEOJSON_RESPONSE)
def origins(caller: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
            date_from: DateFrom = None, date_to: DateTo = None,
            office: Office = None) -> Response:
    """Every country of the map as a MultiPolygon with its declarations, customs value,
    inspections, frauds, fraud rate, revenue at stake and revenue recovered in the window
    (zeros and a null fraud rate where there is no declaration)."""
    window = service.MapWindow(date_from, date_to, office)
    return _geojson(service.origins_geojson(workspace, caller.principal, window))


@router.get("/flows", response_class=Response, responses=GEOJSON_RESPONSE)
def flows(caller: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
          date_from: DateFrom = None, date_to: DateTo = None,
          office: Office = None) -> Response:
    """One LineString per route country of origin → country of departure (items shipped from
    another country than their origin) with its declarations, items and customs value."""
    window = service.MapWindow(date_from, date_to, office)
    return _geojson(service.flows_geojson(workspace, caller.principal, window))
