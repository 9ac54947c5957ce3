"""Trade-map numbers: per country of origin over a date window (and optionally one office),
and the routes from country of origin to country of departure, weighted by customs value.

Per origin (an item counts in its ``origin_country``; a declaration counts once per origin of
its items):

- ``declarations``, ``items``, ``customs_value`` (sum, national currency);
- ``inspected``: items with ``inspected`` true (recorded outcomes: `clearlane outcomes record`,
  a closed case, or the outcome columns of ingested data); ``frauds``: those with ``fraud``
  true; ``fraud_rate`` = frauds / inspected (None when nothing was inspected);
- ``revenue_at_stake``: sum of ``expected_revenue`` of each item's latest risk assessment
  (latest ``assessed_at``), ``assessed`` the items that have one;
- ``revenue_recovered``: sum of ``revenue_recovered`` of the items where fraud was found.

Flows: items whose ``departure_country`` differs from their ``origin_country`` (goods made in
one country, shipped from another: the route that origin checks look at). The offices of the
administration have no coordinates in the data, so the map draws the leg the declarations do
record, origin → departure; items shipped from their country of origin are counted as
``direct``.

Office scope: a principal scoped to offices counts only declarations of those offices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from clearlane.accounts.roles import Principal
from clearlane.errors import Problem, ValidationError
from clearlane.maps import geojson
from clearlane.maps.geometry import load
from clearlane.services.declarations import DeclarationQuery, declaration_filters, office_scope
from clearlane.store.workspace import Workspace


@dataclass(frozen=True)
class MapWindow:
    """What was counted: acceptance dates ``date_from``..``date_to`` (inclusive; None = open)
    and one ``office`` (None = every office the caller may see)."""

    date_from: date | None = None
    date_to: date | None = None
    office: str | None = None

    def properties(self) -> dict[str, Any]:
        return {"date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None,
                "office": self.office}


@dataclass(frozen=True)
class OriginStats:
    iso_a2: str
    declarations: int
    items: int
    customs_value: float
    inspected: int
    frauds: int
    fraud_rate: float | None
    revenue_at_stake: float
    assessed: int
    revenue_recovered: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Flow:
    origin: str
    departure: str
    declarations: int
    items: int
    customs_value: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OriginReport:
    window: MapWindow
    origins: tuple[OriginStats, ...]
    """By customs value, largest first."""
    unknown_origin_items: int
    """Items of the window without a country of origin (not on the map)."""
    first_date: date | None
    last_date: date | None
    """The acceptance dates of the data the caller may see (whatever the window)."""


@dataclass(frozen=True)
class FlowReport:
    window: MapWindow
    flows: tuple[Flow, ...]
    """By customs value, largest first."""
    direct_items: int
    direct_value: float
    """Items (and their customs value) shipped from their country of origin."""


def check_window(window: MapWindow) -> None:
    if window.date_from and window.date_to and window.date_from > window.date_to:
        raise ValidationError("the window ends before it starts", [
            Problem("date_to", window.date_to.isoformat(), f"on or after {window.date_from}")])


def _where(window: MapWindow, principal: Principal) -> tuple[str, list[Any]]:
    parts, params = declaration_filters(
        DeclarationQuery(date_from=window.date_from, date_to=window.date_to,
                         office_id=window.office), office_scope(principal))
    return ("WHERE " + " AND ".join(parts)) if parts else "", params


def origins(workspace: Workspace, principal: Principal,
            window: MapWindow | None = None) -> OriginReport:
    """The numbers of each country of origin in ``window`` (see the module docstring)."""
    window = window or MapWindow()
    check_window(window)
    where, params = _where(window, principal)
    # two steps (per origin and declaration, then per origin) count the declarations faster
    # than count(DISTINCT …); the latest assessment of an item is one arg_max per item (of the
    # window's items only when there is a window: the left join drops the others anyway)
    frame = workspace.query(f"""
      WITH d AS (
        SELECT declaration_id, item_no, origin_country, customs_value,
               coalesce(inspected, FALSE) AS inspected,
               coalesce(inspected, FALSE) AND coalesce(fraud, FALSE) AS fraud,
               revenue_recovered
        FROM declarations {where}),
      latest AS (
        SELECT r.declaration_id, r.item_no,
               arg_max(r.expected_revenue, (r.assessed_at, r.model_version)) AS expected_revenue
        FROM risk_assessments r {"SEMI JOIN d USING (declaration_id, item_no)" if where else ""}
        GROUP BY ALL),
      per_declaration AS (
        SELECT d.origin_country, d.declaration_id, count(*) AS items,
               sum(d.customs_value) AS customs_value,
               count(*) FILTER (WHERE d.inspected) AS inspected,
               count(*) FILTER (WHERE d.fraud) AS frauds,
               sum(l.expected_revenue) AS revenue_at_stake,
               count(l.expected_revenue) AS assessed,
               sum(d.revenue_recovered) FILTER (WHERE d.fraud) AS revenue_recovered
        FROM d LEFT JOIN latest l USING (declaration_id, item_no)
        GROUP BY ALL)
      SELECT origin_country AS iso_a2, count(*) AS declarations, sum(items) AS items,
             coalesce(sum(customs_value), 0) AS customs_value,
             sum(inspected) AS inspected, sum(frauds) AS frauds,
             coalesce(sum(revenue_at_stake), 0) AS revenue_at_stake,
             sum(assessed) AS assessed,
             coalesce(sum(revenue_recovered), 0) AS revenue_recovered
      FROM per_declaration
      GROUP BY origin_country
      ORDER BY customs_value DESC, iso_a2""", params)
    stats: list[OriginStats] = []
    unknown = 0
    for row in frame.iter_rows(named=True):
        if row["iso_a2"] is None:
            unknown = int(row["items"])
            continue
        inspected, frauds = int(row["inspected"]), int(row["frauds"])
        stats.append(OriginStats(
            iso_a2=str(row["iso_a2"]), declarations=int(row["declarations"]),
            items=int(row["items"]), customs_value=float(row["customs_value"]),
            inspected=inspected, frauds=frauds,
            fraud_rate=frauds / inspected if inspected else None,
            revenue_at_stake=float(row["revenue_at_stake"]), assessed=int(row["assessed"]),
            revenue_recovered=float(row["revenue_recovered"])))
    scope_where, scope_params = _where(MapWindow(office=window.office), principal)
    first, last = workspace.query(
        f"SELECT min(declared_at) AS first, max(declared_at) AS last FROM declarations "
        f"{scope_where}", scope_params).row(0)
    return OriginReport(window, tuple(stats), unknown, first, last)


def flows(workspace: Workspace, principal: Principal,
          window: MapWindow | None = None) -> FlowReport:
    """The routes origin → departure in ``window`` (see the module docstring)."""
    window = window or MapWindow()
    check_window(window)
    where, params = _where(window, principal)
    frame = workspace.query(f"""
      WITH per_declaration AS (
        SELECT origin_country AS origin, departure_country AS departure, declaration_id,
               count(*) AS items, sum(customs_value) AS customs_value
        FROM declarations {where}
        GROUP BY ALL)
      SELECT origin, departure, count(*) AS declarations, sum(items) AS items,
             coalesce(sum(customs_value), 0) AS customs_value
      FROM per_declaration
      GROUP BY ALL
      HAVING origin IS NOT NULL AND departure IS NOT NULL
      ORDER BY customs_value DESC, origin, departure""", params)
    routes: list[Flow] = []
    direct_items, direct_value = 0, 0.0
    for row in frame.iter_rows(named=True):
        if row["origin"] == row["departure"]:
            direct_items += int(row["items"])
            direct_value += float(row["customs_value"])
            continue
        routes.append(Flow(str(row["origin"]), str(row["departure"]),
                           int(row["declarations"]), int(row["items"]),
                           float(row["customs_value"])))
    return FlowReport(window, tuple(routes), direct_items, direct_value)


def origins_geojson(workspace: Workspace, principal: Principal,
                    window: MapWindow | None = None) -> dict[str, Any]:
    """:func:`origins` as a GeoJSON FeatureCollection: every country of the map, with the
    properties of :data:`clearlane.maps.geojson.ORIGIN_PROPERTIES`."""
    window = window or MapWindow()
    report = origins(workspace, principal, window)
    return geojson.origins_collection(load(), [o.as_dict() for o in report.origins],
                                      window.properties())


def flows_geojson(workspace: Workspace, principal: Principal,
                  window: MapWindow | None = None) -> dict[str, Any]:
    """:func:`flows` as a GeoJSON FeatureCollection of LineStrings origin → departure, with the
    properties of :data:`clearlane.maps.geojson.FLOW_PROPERTIES`."""
    window = window or MapWindow()
    report = flows(workspace, principal, window)
    return geojson.flows_collection(load(), [f.as_dict() for f in report.flows],
                                    window.properties())
