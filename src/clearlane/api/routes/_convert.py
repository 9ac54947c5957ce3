"""Conversions shared by the read routes: JSON has no NaN, and an RFC 3339 date-time needs an
offset (the workspace stores UTC times without one)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field


def as_utc(value: datetime) -> datetime:
    """A naive datetime (stored as UTC) with its UTC offset; an aware one unchanged."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""A date-time field of a response: always with an offset."""


EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
"""The range of dates the API accepts (a declaration, an inspection, a filter)."""

ApiDate = Annotated[date, Field(ge=EARLIEST, le=LATEST)]
"""A date in a request body, within :data:`EARLIEST` … :data:`LATEST`."""


def finite(value: Any) -> Any:
    """``value``, with a NaN or infinite float as None."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as null and dates as ISO text, recursively."""
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def day(value: Any) -> date | None:
    """A date of a date or datetime value; None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None
