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
