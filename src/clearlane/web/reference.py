"""The HS assistant (suggest codes for a goods description, search the nomenclature) and the
value bands explorer (the reference unit values a price is checked against)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.errors import ClearlaneError
from clearlane.services import hs, valuation
from clearlane.web.access import page
from clearlane.web.render import render

router = APIRouter(include_in_schema=False)
BAND_ROWS = 300


@router.get("/hs")
def hs_page(request: Request, caller: Annotated[Caller, page("declarations:read")],
            state: StateDep, description: str = "", search: str = "") -> Response:
    """Suggested HS codes (at 6, 4 and 2 digits, with confidence and the words that drove
    them) for a goods description, and a search of the nomenclature's texts."""
    suggestion: Any = None
    note: str | None = None
    description = description.strip()[:500]
    if description:
        try:
            suggestion = hs.suggest_codes(state.workspace, [description], k=5,
                                          cache=state.cache)[0]
        except ClearlaneError as exc:
            note = str(exc)
    hits = hs.search_codes(search.strip()[:200], limit=15) if search.strip() else []
    return render(request, "hs.html", description=description, search=search.strip(),
                  suggestion=suggestion, note=note, hits=hits)


@router.get("/valuation")
def bands_page(request: Request, caller: Annotated[Caller, page("reports:read")],
               state: StateDep, hs_code: str = "", origin: str = "",
               version: str = "") -> Response:
    """The stored value bands (per HS code, origin and period: the 5th-95th percentile of
    accepted unit values around the median), filtered by HS prefix and origin."""
    versions = [b.meta for b in valuation.list_bands(state.workspace)]
    if not versions:
        return render(request, "valuation.html", versions=[], meta=None, rows=[], note=None,
                      filters={"hs_code": hs_code, "origin": origin, "version": version},
                      limit=BAND_ROWS)
    note = None
    rows: list[dict[str, Any]] = []
    meta = None
    try:
        bands, table = valuation.show_bands(state.workspace, version=version or None,
                                            hs=hs_code or None, origin=origin or None)
        meta = bands.meta
        rows = table.sort("hs", "origin", "period_start").head(BAND_ROWS).to_dicts() \
            if hs_code or origin else []
    except ClearlaneError as exc:
        note = str(exc)
    return render(request, "valuation.html", versions=versions, meta=meta, rows=rows,
                  note=note, filters={"hs_code": hs_code, "origin": origin,
                                      "version": version}, limit=BAND_ROWS)
