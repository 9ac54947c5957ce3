"""ISO 4217 currencies from pycountry."""

from __future__ import annotations

from functools import cache

import pycountry


@cache
def _codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@cache
def _numeric() -> dict[str, str]:
    return {
        str(int(c.numeric)): c.alpha_3 for c in pycountry.currencies if getattr(c, "numeric", None)
    }


def normalise_currency(value: str) -> str | None:
    """ISO 4217 alpha-3 code for an alpha-3 or numeric code (any case); None if unknown.

    >>> normalise_currency(" usd "), normalise_currency("978"), normalise_currency("XYZ")
    ('USD', 'EUR', None)
    """
    text = value.strip().upper() if value else ""
    if text in _codes():
        return text
    if text.isdigit():
        return _numeric().get(str(int(text)))
    return None
