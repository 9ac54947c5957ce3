"""Inspection outcomes: read from a file or built one at a time, validated row by row.

An outcome says what an inspection found for one declaration item: ``fraud`` (required),
``revenue_recovered`` (additional duties and taxes raised, national currency, >= 0),
``critical``, ``finding`` (text), ``inspected_at`` (date) and ``officer_id``. Once recorded they
are the labels the fraud model retrains on.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from clearlane.errors import NotFoundError, Problem, ValidationError

OUTCOME_SCHEMA: dict[str, Any] = {
    "declaration_id": pl.String,
    "item_no": pl.Int64,
    "fraud": pl.Boolean,
    "revenue_recovered": pl.Float64,
    "critical": pl.Boolean,
    "finding": pl.String,
    "inspected_at": pl.Date,
    "officer_id": pl.String,
}
"""Columns of a validated outcomes frame (``declaration_id`` and ``fraud`` are required)."""

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def read_outcomes(path: Path | str) -> pl.DataFrame:
    """Read outcomes from CSV, Parquet or JSON lines and validate them (see :func:`validate_outcomes`)."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"outcomes file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = pl.read_csv(path, infer_schema=False)
    elif suffix == ".parquet":
        raw = pl.read_parquet(path)
    elif suffix in (".jsonl", ".ndjson"):
        raw = pl.read_ndjson(path)
    else:
        raise ValidationError(f"outcomes file {str(path)!r}: format {suffix!r} is not supported; "
                              "use .csv, .parquet or .jsonl")
    return validate_outcomes(raw, source=str(path))


def validate_outcomes(raw: pl.DataFrame | list[dict[str, Any]], source: str = "<input>",
                      first_row: int = 2) -> pl.DataFrame:
    """Check and convert outcomes to :data:`OUTCOME_SCHEMA`; raise naming each bad row and field.

    Row numbers in problems are file lines (header = line 1) by default; ``first_row`` is the
    number of the first row (0: positions in a JSON list).
    """
    rows = raw.to_dicts() if isinstance(raw, pl.DataFrame) else list(raw)
    columns = set(raw.columns) if isinstance(raw, pl.DataFrame) else {k for r in rows for k in r}
    unknown = sorted(columns - set(OUTCOME_SCHEMA))
    problems: list[Problem] = []
    if unknown:
        problems.append(Problem(unknown[0], None, "unknown column; valid: "
                                + ", ".join(OUTCOME_SCHEMA), None, source))
    for required in ("declaration_id", "fraud"):
        if required not in columns:
            problems.append(Problem(required, None, "required column is missing", None, source))
    if problems:
        raise ValidationError(f"{source}: outcomes cannot be read", problems)
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        line = i + first_row

        def bad(name: str, reason: str, row: dict[str, Any] = row, line: int = line) -> None:
            value = row.get(name)
            problems.append(Problem(name, None if value is None else str(value), reason, line,
                                    source))

        clean: dict[str, Any] = {}
        did = row.get("declaration_id")
        if did is None or str(did).strip() == "":
            bad("declaration_id", "is required")
        clean["declaration_id"] = None if did is None else str(did).strip()
        item = row.get("item_no")
        try:
            clean["item_no"] = 1 if item in (None, "") else int(str(item))
            if clean["item_no"] < 1:
                bad("item_no", "must be >= 1")
        except ValueError:
            bad("item_no", "must be a whole number >= 1")
        for name in ("fraud", "critical"):
            value = _bool(row.get(name))
            if value is _INVALID:
                bad(name, "must be true/false (or 1/0, yes/no)")
            elif value is None and name == "fraud":
                bad(name, "is required")
            clean[name] = None if value is _INVALID else value
        revenue = row.get("revenue_recovered")
        try:
            clean["revenue_recovered"] = None if revenue in (None, "") else float(revenue)
            if clean["revenue_recovered"] is not None and clean["revenue_recovered"] < 0:
                bad("revenue_recovered", "must be >= 0 (national currency)")
        except (TypeError, ValueError):
            bad("revenue_recovered", "must be a number (national currency)")
            clean["revenue_recovered"] = None
        if clean.get("fraud") is False and (clean.get("revenue_recovered") or 0) > 0:
            bad("revenue_recovered", "revenue recovered on an inspection that found no fraud")
        when = row.get("inspected_at")
        try:
            clean["inspected_at"] = (None if when in (None, "") else when if isinstance(when, date)
                                     else date.fromisoformat(str(when)[:10]))
        except ValueError:
            bad("inspected_at", "must be a date YYYY-MM-DD")
            clean["inspected_at"] = None
        for name in ("finding", "officer_id"):
            value = row.get(name)
            clean[name] = None if value in (None, "") else str(value)
        out.append(clean)
    if problems:
        raise ValidationError(f"{source}: {len(problems)} problem(s) in the outcomes", problems)
    frame = pl.DataFrame(out, schema=OUTCOME_SCHEMA)
    duplicated = frame.filter(pl.struct("declaration_id", "item_no").is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise ValidationError(f"{source}: the same declaration item appears twice", [
            Problem("declaration_id", f"{first['declaration_id']} item {first['item_no']}",
                    "one outcome per declaration item", None, source)])
    return frame


class _Invalid:
    pass


_INVALID = _Invalid()


def _bool(value: Any) -> bool | _Invalid | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return _INVALID
