"""The analyst's pages: selection performance against the random control sample."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import Response

from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.errors import NotFoundError
from clearlane.services.outcomes import performance_report
from clearlane.web.access import page
from clearlane.web.charts import LineChart, Series, line_chart
from clearlane.web.render import render

router = APIRouter(include_in_schema=False)


def hit_rate_chart(over_time: pl.DataFrame | None) -> LineChart | None:
    """Hit rate per period, one line per selection basis (model, random, exploration, …)."""
    if over_time is None or over_time.height == 0:
        return None
    periods = over_time["period"].unique().sort().to_list()
    index = {p: i for i, p in enumerate(periods)}
    series = []
    for basis in over_time["basis"].unique().sort().to_list():
        part = over_time.filter(pl.col("basis") == basis)
        rates = dict(zip(part["period"].to_list(), part["hit_rate"].to_list(), strict=True))
        series.append(Series(str(basis), tuple((float(index[p]), rates.get(p)) for p in periods)))
    every = max(1, len(periods) // 8)
    labels = [(float(i), p.strftime("%Y-%m")) for i, p in enumerate(periods) if i % every == 0]
    return line_chart(series, x_labels=labels)


@router.get("/performance")
def performance_page(request: Request, caller: Annotated[Caller, page("reports:read")],
                     state: StateDep) -> Response:
    """Hit rate and revenue per inspection by lane and by selection basis, with 95 %
    intervals, the fraud rate of the random control sample, and the hit rate over time."""
    try:
        report: Any = performance_report(state.workspace)
    except NotFoundError as exc:
        return render(request, "performance.html", report=None, message=str(exc), chart=None)
    return render(request, "performance.html", report=report, message=None,
                  chart=hit_rate_chart(report.over_time))


def _window(date_from: str | None, date_to: str | None) -> tuple[Any, Any]:
    from datetime import date

    from clearlane.errors import Problem, ValidationError

    parsed: list[date | None] = []
    for name, value in (("from", date_from), ("to", date_to)):
        if not value:
            parsed.append(None)
            continue
        try:
            parsed.append(date.fromisoformat(value))
        except ValueError:
            raise ValidationError("not a date", [Problem(name, value, "a date YYYY-MM-DD")]
                                  ) from None
    return parsed[0], parsed[1]


def _overview(state: Any, date_from: str | None, date_to: str | None,
              office: str | None) -> Any:
    from clearlane.services.overview import unit_overview

    start, end = _window(date_from, date_to)
    return unit_overview(state.workspace, date_from=start, date_to=end, office=office or None)


@router.get("/overview")
def overview_page(request: Request, caller: Annotated[Caller, page("reports:read")],
                  state: StateDep, date_from: str | None = None, date_to: str | None = None,
                  office: str | None = None) -> Response:
    """Volumes, lanes, inspections, hit rates, revenue recovered and clearance-time proxies,
    per month; exportable as PDF."""
    overview = _overview(state, date_from, date_to, office)
    monthly = overview.monthly
    labels = [(float(i), str(p)[:7]) for i, p in enumerate(monthly["period"].to_list())
              if i % max(1, monthly.height // 8) == 0]
    volume = line_chart([Series("declarations", tuple(
        (float(i), float(v)) for i, v in enumerate(monthly["declarations"].to_list())))],
        x_labels=labels, y_format="{:,.0f}")
    hits = line_chart([Series("hit rate", tuple(
        (float(i), v) for i, v in enumerate(monthly["hit_rate"].to_list())))],
        x_labels=labels)
    query = request.url.query
    return render(request, "overview.html", overview=overview, volume=volume, hits=hits,
                  filters={"date_from": date_from or "", "date_to": date_to or "",
                           "office": office or ""},
                  pdf_url="/overview.pdf" + (f"?{query}" if query else ""))


@router.get("/overview.pdf")
def overview_pdf_download(request: Request, caller: Annotated[Caller, page("reports:read")],
                          state: StateDep, date_from: str | None = None,
                          date_to: str | None = None, office: str | None = None) -> Response:
    from clearlane.web.i18n import catalogue
    from clearlane.web.overview_pdf import overview_pdf
    from clearlane.web.render import language_of

    overview = _overview(state, date_from, date_to, office)
    texts = catalogue(language_of(request))
    body = overview_pdf(overview, texts.get, texts.get("overview/title"))
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="clearlane-overview.pdf"',
        "Cache-Control": "no-store"})
