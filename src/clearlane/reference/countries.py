"""ISO 3166-1 countries from pycountry, accepting alpha-2, alpha-3, numeric and common names."""

from __future__ import annotations

import unicodedata
from functools import cache

import pycountry

# Codes used in trade data that are not in ISO 3166-1 but are unambiguous.
_EXTRA_ALIASES = {
    "UK": "GB",
    "EL": "GR",  # Eurostat code for Greece
    "KOSOVO": "XK",
    "XK": "XK",
    "XKX": "XK",
}


def _key(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.upper().replace(",", " ").replace(".", " ").split())


@cache
def _lookup_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for country in pycountry.countries:
        alpha2 = country.alpha_2
        for attr in ("alpha_2", "alpha_3", "numeric", "name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                table[_key(value)] = alpha2
        table[str(int(country.numeric))] = alpha2
    for historic in ("USA", "UNITED STATES OF AMERICA"):
        table[_key(historic)] = "US"
    for name in ("SOUTH KOREA", "KOREA", "REPUBLIC OF KOREA"):
        table[_key(name)] = "KR"
    for name in ("NORTH KOREA",):
        table[_key(name)] = "KP"
    for name in (
        "RUSSIA",
        "IRAN",
        "SYRIA",
        "VIETNAM",
        "LAOS",
        "BOLIVIA",
        "VENEZUELA",
        "TANZANIA",
        "MOLDOVA",
        "TAIWAN",
        "CZECH REPUBLIC",
        "IVORY COAST",
        "COTE D'IVOIRE",
        "TURKEY",
        "HOLLAND",
        "GREAT BRITAIN",
        "ENGLAND",
        "DR CONGO",
        "DRC",
    ):
        code = {
            "RUSSIA": "RU",
            "IRAN": "IR",
            "SYRIA": "SY",
            "VIETNAM": "VN",
            "LAOS": "LA",
            "BOLIVIA": "BO",
            "VENEZUELA": "VE",
            "TANZANIA": "TZ",
            "MOLDOVA": "MD",
            "TAIWAN": "TW",
            "CZECH REPUBLIC": "CZ",
            "IVORY COAST": "CI",
            "COTE D'IVOIRE": "CI",
            "TURKEY": "TR",
            "HOLLAND": "NL",
            "GREAT BRITAIN": "GB",
            "ENGLAND": "GB",
            "DR CONGO": "CD",
            "DRC": "CD",
        }[name]
        table[_key(name)] = code
    for alias, code in _EXTRA_ALIASES.items():
        table[_key(alias)] = code
    return table


def normalise_country(value: str) -> str | None:
    """ISO 3166-1 alpha-2 for an alpha-2, alpha-3, numeric code or common name; None if unknown.

    >>> normalise_country("kor"), normalise_country("Viet Nam"), normalise_country("xx")
    ('KR', 'VN', None)
    """
    if not value or not value.strip():
        return None
    return _lookup_table().get(_key(value.strip()))


USER_ASSIGNED = frozenset(
    {
        "AA",
        "ZZ",
        *(f"Q{c}" for c in "MNOPQRSTUVWXYZ"),
        *(f"X{c}" for c in "ABCDEFGHIJLMNOPQRSTUVWYZ"),
    }
)
"""ISO 3166-1 user-assigned alpha-2 codes (XK = Kosovo excluded); trade data uses them, ZZ and
QU above all, for 'unknown' or 'not specified'."""


def is_user_assigned(value: str) -> bool:
    """True for an ISO 3166-1 user-assigned alpha-2 code such as ZZ (unknown)."""
    return value.strip().upper() in USER_ASSIGNED
