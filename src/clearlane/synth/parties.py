"""The people and places of synthetic trade: offices, trading partners, importers and brokers.

Activity is heavy-tailed everywhere: a few offices, importers, brokers and exporters handle most
declarations (Zipf weights), most importers lodge only a handful.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Origin countries of imports into a West African coastal market, with relative shares.
ORIGIN_WEIGHTS: dict[str, float] = {
    "CN": 25, "FR": 8, "IN": 7, "US": 4, "TR": 4, "DE": 3, "NL": 3, "BE": 3, "ES": 3, "IT": 3,
    "JP": 3, "AE": 3, "TH": 3, "VN": 2, "BR": 2, "MY": 2, "ID": 2, "KR": 2, "GB": 2, "ZA": 1,
    "MA": 1, "EG": 1, "PK": 1, "RU": 1, "AR": 1,
    # ECOWAS members (preferential origin: no customs duty)
    "NG": 4, "GH": 3, "CI": 3, "SN": 2, "BF": 1, "ML": 1, "TG": 1, "BJ": 1, "NE": 0.5,
    "GN": 0.5, "LR": 0.3, "SL": 0.3, "GM": 0.2, "GW": 0.2, "CV": 0.2,
}
PREFERENTIAL_ORIGINS: frozenset[str] = frozenset(
    {"NG", "GH", "CI", "SN", "BF", "ML", "TG", "BJ", "NE", "GN", "LR", "SL", "GM", "GW", "CV"}
)
"""ECOWAS member states: goods originating there enter duty-free (trade liberalisation scheme)."""

# Price level of goods by origin relative to the world median (same HS code): Asian mass
# producers are cheaper, European, Japanese and American goods dearer.
PRICE_LEVEL: dict[str, float] = {
    "CN": 0.75, "IN": 0.8, "VN": 0.8, "PK": 0.8, "ID": 0.85, "TH": 0.85, "MY": 0.9, "TR": 0.9,
    "EG": 0.9, "MA": 0.95, "BR": 0.95, "AR": 0.95, "RU": 0.95, "ZA": 1.0, "AE": 1.05,
    "KR": 1.15, "ES": 1.2, "IT": 1.25, "NL": 1.25, "BE": 1.25, "GB": 1.3, "FR": 1.3,
    "US": 1.35, "DE": 1.4, "JP": 1.4,
}
"""Origins not listed (ECOWAS members among them) price at 1.0."""

# Hubs goods are often shipped from when not shipped from their origin.
TRANSIT_HUBS: tuple[str, ...] = ("AE", "NL", "BE", "FR", "ES", "MA", "TG")

INVOICE_CURRENCY: dict[str, str] = {
    **{c: "EUR" for c in ("FR", "DE", "NL", "BE", "ES", "IT")},
    **{c: "XOF" for c in ("SN", "BF", "ML", "TG", "BJ", "NE", "GW", "CI")},
    "GB": "GBP", "CN": "USD", "JP": "JPY", "NG": "NGN", "GH": "GHS", "IN": "USD", "MA": "EUR",
}

# Office archetypes: prefix, transport mode (UN/ECE Rec. 19), relative size.
OFFICE_TYPES: tuple[tuple[str, str, float], ...] = (
    ("PORT", "1", 1.0),
    ("AIR", "4", 0.35),
    ("ROAD", "3", 0.25),
    ("RAIL", "2", 0.08),
    ("DEPOT", "3", 0.15),
    ("POST", "5", 0.05),
)


@dataclass(frozen=True)
class Offices:
    """Customs offices: ids, transport mode and share of declarations (Zipf by rank)."""

    ids: np.ndarray
    transport_mode: np.ndarray
    share: np.ndarray


def build_offices(n_offices: int, rng: np.random.Generator) -> Offices:
    """``n_offices`` offices; the first is the main sea port, sizes fall off as 1/rank."""
    ids, modes, sizes = [], [], []
    counters: dict[str, int] = {}
    for i in range(n_offices):
        prefix, mode, size = OFFICE_TYPES[i % len(OFFICE_TYPES)]
        counters[prefix] = counters.get(prefix, 0) + 1
        ids.append(f"{prefix}{counters[prefix]:02d}")
        modes.append(mode)
        sizes.append(size / (1 + i // len(OFFICE_TYPES)) * rng.uniform(0.8, 1.25))
    share = np.array(sizes) / np.sum(sizes)
    return Offices(np.array(ids), np.array(modes), share)


@dataclass(frozen=True)
class Countries:
    """Origin countries with their share and whether they are preferential (duty-free)."""

    codes: np.ndarray
    share: np.ndarray
    preferential: np.ndarray
    currency: np.ndarray
    price_level: np.ndarray


def build_countries(home_country: str) -> Countries:
    """Trading partners of ``home_country`` (which is never its own origin of imports)."""
    items = [(c, w) for c, w in ORIGIN_WEIGHTS.items() if c != home_country]
    codes = np.array([c for c, _ in items])
    share = np.array([w for _, w in items], dtype=float)
    share /= share.sum()
    preferential = np.array([c in PREFERENTIAL_ORIGINS for c in codes])
    currency = np.array([INVOICE_CURRENCY.get(c, "USD") for c in codes])
    price_level = np.array([PRICE_LEVEL.get(c, 1.0) for c in codes])
    return Countries(codes, share, preferential, currency, price_level)


def zipf_weights(n: int, exponent: float, offset: float, rng: np.random.Generator) -> np.ndarray:
    """Normalised weights ``1 / (rank + offset) ** exponent`` in a random order."""
    ranks = rng.permutation(n) + 1
    weights = 1.0 / (ranks + offset) ** exponent
    return weights / weights.sum()


def party_ids(prefix: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct pseudonymous ids like ``IMP0412337`` in random order (ids reveal nothing
    about activity, risk or entry date)."""
    numbers = rng.choice(10 * max(n, 1000), size=n, replace=False)
    width = len(str(10 * max(n, 1000)))
    return np.array([f"{prefix}{k:0{width}d}" for k in numbers])


def draw(weights: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn with the given (normalised) weights, vectorised through the CDF."""
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(weights) - 1)
