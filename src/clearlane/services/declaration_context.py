"""What an officer needs beside a declaration's scores: the importer's and the HS code's
record before it, the HS check and the price check of its items.

Each part that cannot be computed (no classifier trained, no value bands built) comes back
as a plain sentence saying what to run, never as an error: the declaration page still shows
everything else.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from clearlane.errors import ClearlaneError
from clearlane.schema.reasons import Reason
from clearlane.services.declarations import DeclarationDetail
from clearlane.store.workspace import Workspace

HISTORY_DAYS = 730
"""How far back the importer's and the HS code's record goes (days before the declaration)."""


@dataclass(frozen=True)
class Record:
    """The record of one importer or one HS code (6 digits) before a date: declaration items,
    how many were inspected, how many of those were frauds, and the first date seen."""

    key: str
    items: int
    inspected: int
    frauds: int
    first_seen: date | None

    @property
    def fraud_rate(self) -> float | None:
        """Frauds per inspected item (None with no inspection)."""
        return self.frauds / self.inspected if self.inspected else None


@dataclass(frozen=True)
class ItemChecks:
    """The HS and price checks of one item: the verdict's reasons, or why there is none."""

    item_no: int
    hs_suggested: str | None
    hs_p_wrong: float | None
    hs_reasons: tuple[Reason, ...]
    hs_note: str | None
    price: dict[str, Any] | None
    price_reasons: tuple[Reason, ...]
    price_note: str | None


@dataclass(frozen=True)
class DeclarationContext:
    importer: Record | None
    hs_codes: tuple[Record, ...]
    checks: tuple[ItemChecks, ...]
    since: date | None


def _record(workspace: Workspace, column: str, key: str, since: date, before: date) -> Record:
    expression = "substr(hs_code, 1, 6)" if column == "hs6" else column
    row = workspace.query(
        f"""SELECT count(*) AS items, count(*) FILTER (inspected) AS inspected,
                   count(*) FILTER (inspected AND fraud) AS frauds, min(declared_at) AS first
            FROM declarations
            WHERE {expression} = ? AND declared_at >= ? AND declared_at < ?""",
        [key, since, before]).row(0, named=True)
    return Record(key, int(row["items"]), int(row["inspected"]), int(row["frauds"]),
                  row["first"])


def _hs_checks(workspace: Workspace, frame: pl.DataFrame,
               cache: MutableMapping[str, object] | None) -> tuple[list[Any], str | None]:
    from clearlane.services import hs

    try:
        results = hs.check_codes(workspace, frame["goods_description"].fill_null("").to_list(),
                                 frame["hs_code"].to_list(),
                                 declared_at=frame["declared_at"].to_list(), cache=cache)
    except ClearlaneError as exc:
        return [None] * frame.height, str(exc)
    return list(results), None


def _price_checks(workspace: Workspace, frame: pl.DataFrame) -> tuple[Any, str | None]:
    from clearlane.services import valuation

    try:
        # against the bands alone: the importer's own record is shown beside it, and
        # calibrating on every earlier declaration costs seconds (a batch check does it)
        return valuation.check_declarations(workspace, frame, use_history=False), None
    except ClearlaneError as exc:
        return None, str(exc)


def declaration_context(workspace: Workspace, detail: DeclarationDetail, *,
                        cache: MutableMapping[str, object] | None = None,
                        history_days: int = HISTORY_DAYS) -> DeclarationContext:
    """The importer's and each HS code's record over ``history_days`` before the declaration
    (only data before ``declared_at``), and each item's HS and price check."""
    before = detail.declared_at
    since = before - timedelta(days=history_days) if before is not None else None
    importer = (_record(workspace, "importer_id", detail.importer_id, since, before)
                if detail.importer_id and since is not None and before is not None else None)
    codes = sorted({str(i.fields.get("hs_code") or "")[:6] for i in detail.items} - {""})
    records = tuple(_record(workspace, "hs6", c, since, before) for c in codes
                    ) if since is not None and before is not None else ()
    frame = pl.DataFrame([i.fields for i in detail.items], infer_schema_length=None)
    hs_results, hs_note = _hs_checks(workspace, frame, cache)
    prices, price_note = _price_checks(workspace, frame)
    checks = []
    for index, item in enumerate(detail.items):
        hs_result = hs_results[index]
        price_row = prices.frame.row(index, named=True) if prices is not None else None
        checks.append(ItemChecks(
            item.item_no,
            hs_result.suggested if hs_result is not None else None,
            hs_result.p_wrong if hs_result is not None else None,
            (hs_result.reason,) if hs_result is not None and hs_result.reason else (),
            hs_note,
            price_row,
            prices.reasons(index) if prices is not None else (),
            price_note))
    return DeclarationContext(importer, records, tuple(checks), since)
