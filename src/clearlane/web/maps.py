"""The trade maps: a choropleth of the countries of origin (declarations, fraud rate, revenue
at stake) and the routes origin → departure, drawn server-side as inline SVG (they read with
JavaScript off), each with a table of the same numbers; and their GeoJSON downloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.errors import Problem, ValidationError
from clearlane.maps import geojson, svg
from clearlane.maps.geometry import load
from clearlane.services import maps
from clearlane.web.access import page
from clearlane.web.render import render

router = APIRouter(include_in_schema=False)
READ = "reports:read"
FLOWS_SHOWN = 60
"""Routes drawn and listed on the flows page (the largest; the GeoJSON has them all)."""


@dataclass(frozen=True)
class Layer:
    name: str
    label: str
    palette: str
    method: str
    percent: bool = False

    @property
    def explain(self) -> str:
        return f"maps/explain_{self.name}"


LAYERS: dict[str, Layer] = {
    "declarations": Layer("declarations", "maps/layer_declarations", "blues", "quantile"),
    "fraud_rate": Layer("fraud_rate", "maps/layer_fraud_rate", "reds", "equal", percent=True),
    "revenue_at_stake": Layer("revenue_at_stake", "maps/layer_revenue_at_stake", "purples",
                              "quantile"),
}


def _day(name: str, value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"{name} is not a date", [
            Problem(name, value, "a date YYYY-MM-DD")]) from None


def map_window(date_from: str | None, date_to: str | None, office: str | None) -> maps.MapWindow:
    """The window of a page's or a download's query (empty fields: open)."""
    return maps.MapWindow(_day("date_from", date_from), _day("date_to", date_to),
                          office.strip() if office and office.strip() else None)


def _layer_value(layer: Layer, origin: maps.OriginStats) -> float | None:
    if layer.name == "fraud_rate":
        return origin.fraud_rate
    if layer.name == "revenue_at_stake":
        return origin.revenue_at_stake if origin.assessed else None
    return float(origin.declarations)


def _query(window: maps.MapWindow) -> str:
    """The window as a query string (``?date_from=…``), for the links that keep it."""
    parts = {k: v for k, v in window.properties().items() if v}
    return ("?" + urlencode(parts)) if parts else ""


@router.get("/maps")
def origins_page(request: Request, caller: Annotated[Caller, page(READ)], state: StateDep,
                 layer: str = "declarations", date_from: str | None = None,
                 date_to: str | None = None, office: str | None = None) -> Response:
    """The choropleth of the countries of origin, one layer at a time, and its table; with
    ``HX-Request`` (htmx, the filters changed) only the part under the filters."""
    chosen = LAYERS.get(layer, LAYERS["declarations"])
    window = map_window(date_from, date_to, office)
    report = maps.origins(state.workspace, caller.principal, window)
    geometry = load()
    values = {o.iso_a2: _layer_value(chosen, o) for o in report.origins}
    scale = svg.classify(values.values(), chosen.palette, chosen.method)
    paths = svg.choropleth(geometry, values, scale)
    names = {code: c.name for code, c in geometry.countries.items()}
    template = "_maps_origins.html" if request.headers.get("hx-request") else "maps.html"
    return render(request, template, layer=chosen, layers=LAYERS, window=window,
                  report=report, paths=paths, values=values, legend=scale.legend(),
                  no_data=svg.NO_DATA, names=names, width=svg.WIDTH, height=svg.HEIGHT,
                  query=_query(window),
                  off_map=[o for o in report.origins if o.iso_a2 not in geometry.countries])


@router.get("/maps/flows")
def flows_page(request: Request, caller: Annotated[Caller, page(READ)], state: StateDep,
               date_from: str | None = None, date_to: str | None = None,
               office: str | None = None) -> Response:
    """The routes origin → departure over a grey world, widths by customs value."""
    window = map_window(date_from, date_to, office)
    report = maps.flows(state.workspace, caller.principal, window)
    geometry = load()
    shown = report.flows[:FLOWS_SHOWN]
    lines = svg.flow_lines(geometry, [(f.origin, f.departure, f.customs_value) for f in shown])
    paths = svg.choropleth(geometry, {}, svg.classify([]))
    names = {code: c.name for code, c in geometry.countries.items()}
    template = "_maps_flows.html" if request.headers.get("hx-request") else "maps_flows.html"
    return render(request, template, window=window, report=report, shown=shown,
                  lines=lines, paths=paths, names=names, width=svg.WIDTH, height=svg.HEIGHT,
                  query=_query(window))


def geojson_response(collection: dict[str, Any], filename: str) -> Response:
    """A FeatureCollection as ``application/geo+json``, downloaded as ``filename``."""
    return Response(json.dumps(collection, separators=(",", ":")),
                    media_type=geojson.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@router.get("/maps/origins.geojson")
def origins_download(caller: Annotated[Caller, page(READ)], state: StateDep,
                     date_from: str | None = None, date_to: str | None = None,
                     office: str | None = None) -> Response:
    window = map_window(date_from, date_to, office)
    return geojson_response(maps.origins_geojson(state.workspace, caller.principal, window),
                            "clearlane-origins.geojson")


@router.get("/maps/flows.geojson")
def flows_download(caller: Annotated[Caller, page(READ)], state: StateDep,
                   date_from: str | None = None, date_to: str | None = None,
                   office: str | None = None) -> Response:
    window = map_window(date_from, date_to, office)
    return geojson_response(maps.flows_geojson(state.workspace, caller.principal, window),
                            "clearlane-flows.geojson")
