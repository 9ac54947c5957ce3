"""Who trades what: the declarations (days, importers, brokers, offices, countries, exporters)
and their goods items with true quantities and values, before any fraud is planted.

Part of :func:`clearlane.synth.generate`: each function draws from the generator's main random
stream (or a stream of its own, seeded by ``config.seed``) in a fixed order, so the same config
gives the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearlane.synth.config import SynthConfig
from clearlane.synth.goods import Catalogue
from clearlane.synth.parties import TRANSIT_HUBS, Countries, Offices, draw, zipf_weights

INCOTERMS = np.array(["FOB", "CIF", "CFR", "EXW", "DAP"])
INCOTERM_SHARE = np.array([0.45, 0.3, 0.12, 0.08, 0.05])
PAYMENTS = np.array(["transfer", "letter_of_credit", "documentary_collection", "cash"])
PAYMENT_SHARE = np.array([0.55, 0.2, 0.15, 0.1])
PORTFOLIO = 12
"""Regular goods (HS6 codes) per importer."""


def _day_weights(config: SynthConfig) -> np.ndarray:
    """Relative number of declarations per day: weekly cycle, yearly season, December peak and
    slow growth."""
    days = np.arange(config.days)
    dates = np.datetime64(config.start) + days
    weekday = (dates.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    week = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.35, 0.1])[weekday]
    months = dates.astype("datetime64[M]").astype(int) % 12 + 1
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(int)
    season = 1.0 + 0.2 * np.sin(2 * np.pi * (day_of_year - 60) / 365.25) + 0.25 * (months == 12)
    growth = 1.0 + 0.06 * days / 365.0
    weights = week * season * growth
    return weights / weights.sum()


def _regular_goods(
    code: np.ndarray,
    importer: np.ndarray,
    main_chapter: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    cdf: np.ndarray,
    n_importers: int,
    config: SynthConfig,
) -> np.ndarray:
    """Replace ``config.repeat_goods_share`` of the items by one of their importer's regular
    goods: each importer has ``PORTFOLIO`` codes (mostly of its main chapter, drawn by
    popularity) bought with Zipf-like frequency. Uses its own random stream (seeded by
    ``config.seed``) so every other draw of the generator stays as it was."""
    rng = np.random.default_rng([config.seed, 104_729])
    ch = np.repeat(main_chapter, PORTFOLIO)
    in_chapter = rng.random(ch.size) < 0.8
    u = np.where(in_chapter, lo[ch] + rng.random(ch.size) * (hi[ch] - lo[ch]), rng.random(ch.size))
    portfolio = np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1).reshape(n_importers, PORTFOLIO)
    slot = draw(1.0 / (np.arange(PORTFOLIO) + 1.0), code.size, rng)
    repeat = rng.random(code.size) < config.repeat_goods_share
    return np.where(repeat, portfolio[importer, slot], code)


def _heavy_normal(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    """Student-t (6 df) draws scaled to standard deviation ``sigma``: normal-like, heavier tails."""
    return rng.standard_t(6, n) * (sigma / np.sqrt(1.5))


def _per_key(keys: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """One persistent heavy-tailed log-price effect per distinct key, spread back to the items."""
    unique, inverse = np.unique(keys, return_inverse=True)
    return _heavy_normal(rng, sigma, len(unique))[inverse]


def price_tiers(
    importer: np.ndarray,
    exporter: np.ndarray,
    code: np.ndarray,
    n_codes: int,
    config: SynthConfig,
) -> np.ndarray:
    """Multiplicative price tier of each item's trade relationship (1.0 = the market price).

    ``exp(a_importer + b_importer×code + c_exporter×code)``: the importer's market segment
    (cheap or premium across all its goods), the quality/brand it buys of this code, and the
    supplier's price for the code. Each is drawn once per key (heavy-tailed, from its own
    stream seeded by ``config.seed``), so an importer buying the same goods from the same
    supplier pays a stable price while the spread between traders stays wide.
    """
    rng = np.random.default_rng([config.seed, 7_919])
    n_importers = int(importer.max()) + 1 if importer.size else 0
    a = _heavy_normal(rng, config.importer_price_sigma, n_importers)[importer]
    b = _per_key(importer.astype(np.int64) * n_codes + code, config.importer_goods_price_sigma, rng)
    c = _per_key(exporter.astype(np.int64) * n_codes + code, config.supplier_price_sigma, rng)
    return np.exp(a + b + c)


@dataclass(frozen=True)
class Declarations:
    """Per-declaration draws in chronological order, and the parties behind them."""

    sizes: np.ndarray
    """Items per declaration."""
    day: np.ndarray
    importer: np.ndarray
    office: np.ndarray
    broker: np.ndarray
    origin: np.ndarray
    departure: np.ndarray
    exporter: np.ndarray
    incoterm: np.ndarray
    payment: np.ndarray
    entry: np.ndarray
    """Day each importer (burst importers included) starts declaring."""
    n_brokers: int
    risky_brokers: np.ndarray
    is_risky_importer: np.ndarray
    is_burst_importer: np.ndarray

    @property
    def count(self) -> int:
        """Number of declarations."""
        return len(self.sizes)

    @property
    def n_importers(self) -> int:
        """Importers including the burst importers."""
        return len(self.entry)


@dataclass(frozen=True)
class Items:
    """Per-item draws: the true goods, quantities and values before any fraud is planted."""

    decl: np.ndarray
    """Declaration (index into :class:`Declarations`) of each item."""
    item_no: np.ndarray
    importer: np.ndarray
    code: np.ndarray
    """Index into the catalogue."""
    origin: np.ndarray
    mass: np.ndarray
    tier: np.ndarray
    value: np.ndarray
    unit: np.ndarray
    quantity: np.ndarray
    gross: np.ndarray
    preferential: np.ndarray
    duty: np.ndarray


def declaration_sizes(config: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Items per declaration (geometric, at most 40), summing to ``config.n_items``."""
    n_items = config.n_items
    mean = config.items_per_declaration
    sizes = np.minimum(rng.geometric(1.0 / mean, int(n_items / mean * 1.2) + 20), 40)
    while sizes.sum() < n_items:  # rare: top up (runs at most a couple of times)
        sizes = np.concatenate([sizes, np.minimum(rng.geometric(1.0 / mean, 100), 40)])
    ends = np.cumsum(sizes)
    n_decl = int(np.searchsorted(ends, n_items) + 1)
    sizes = sizes[:n_decl].copy()
    sizes[-1] -= int(ends[n_decl - 1] - n_items)
    return sizes


def draw_declarations(config: SynthConfig, offices: Offices, countries: Countries,
                  rng: np.random.Generator) -> Declarations:
    """Who declares what, when and where: days, importers (a risky network and bursts of new
    importers among them), brokers, offices, countries, exporters; in chronological order."""
    sizes = declaration_sizes(config, rng)
    n_decl = len(sizes)
    n_imp = config.importers
    imp_weight = zipf_weights(n_imp, 1.05, 3.0, rng)
    entry = np.where(rng.random(n_imp) < 0.6, 0, rng.integers(0, int(config.days * 0.9) + 1, n_imp))
    day = draw(_day_weights(config), n_decl, rng)
    importer = draw(imp_weight, n_decl, rng)
    late = entry[importer] > day
    span = config.days - entry[importer]
    day = np.where(late, entry[importer] + (day * span) // config.days, day)

    # risky network: a few brokers, used by a few mid-sized importers
    n_brokers = config.declarants
    broker_weight = zipf_weights(n_brokers, 1.0, 2.0, rng)
    n_risky_brokers = max(1, round(config.risky_broker_share * n_brokers))
    risky_brokers = rng.choice(n_brokers, n_risky_brokers, replace=False)
    not_top = np.flatnonzero(imp_weight < np.quantile(imp_weight, 0.95))
    n_risky_imp = min(len(not_top), max(2, round(config.risky_importer_share * n_imp)))
    risky_importers = rng.choice(not_top, n_risky_imp, replace=False)

    entry = _burst_importers(config, entry, importer, day, rng)
    n_total_imp = len(entry)
    is_risky_imp = np.zeros(n_total_imp, dtype=bool)
    is_risky_imp[risky_importers] = True
    is_burst_imp = np.zeros(n_total_imp, dtype=bool)
    is_burst_imp[n_imp:] = True

    home_office = draw(offices.share, n_total_imp, rng)
    office = np.where(
        rng.random(n_decl) < 0.8, home_office[importer], draw(offices.share, n_decl, rng)
    )
    primary_broker = draw(broker_weight, n_total_imp, rng)
    primary_broker[risky_importers] = rng.choice(risky_brokers, n_risky_imp)
    loyalty = np.where(is_risky_imp[importer], 0.95, 0.85)
    broker = np.where(
        rng.random(n_decl) < loyalty, primary_broker[importer], draw(broker_weight, n_decl, rng)
    )
    main_origin = draw(countries.share, n_total_imp, rng)
    origin = np.where(
        rng.random(n_decl) < 0.6, main_origin[importer], draw(countries.share, n_decl, rng)
    )
    hubs = np.array([np.flatnonzero(countries.codes == h)[0] for h in TRANSIT_HUBS
                     if h in countries.codes])
    via_hub = (rng.random(n_decl) < 0.15) & ~countries.preferential[origin]
    departure = np.where(via_hub, hubs[rng.integers(0, len(hubs), n_decl)], origin)
    supplier_slot = draw(np.array([0.7, 0.2, 0.1]), n_decl, rng)
    exporter = (importer * 7919 + origin * 104_729 + supplier_slot * 15_485_863) % config.exporters
    incoterm = draw(INCOTERM_SHARE, n_decl, rng)
    payment = draw(PAYMENT_SHARE, n_decl, rng)

    # chronological declaration numbers
    order = np.lexsort((rng.random(n_decl), day))
    return Declarations(
        sizes=sizes[order], day=day[order], importer=importer[order], office=office[order],
        broker=broker[order], origin=origin[order], departure=departure[order],
        exporter=exporter[order], incoterm=incoterm[order], payment=payment[order],
        entry=entry, n_brokers=n_brokers, risky_brokers=risky_brokers,
        is_risky_importer=is_risky_imp, is_burst_importer=is_burst_imp,
    )


def _burst_importers(config: SynthConfig, entry: np.ndarray, importer: np.ndarray,
                     day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bursts of new importers: they take over some declarations in a short window.

    Appends the burst importers' entry days to ``entry`` (returned) and moves the declarations
    they take over in ``importer`` and ``day`` (in place)."""
    n_imp = len(entry)
    n_decl = len(importer)
    n_burst_imp = config.n_bursts * config.importers_per_burst
    n_total_imp = n_imp + n_burst_imp
    entry = np.concatenate([entry, np.zeros(n_burst_imp, dtype=entry.dtype)])
    if n_burst_imp:
        counts = 1 + rng.poisson(max(config.burst_declarations_per_importer - 1, 0), n_burst_imp)
        owners = np.repeat(np.arange(n_imp, n_total_imp), counts)
        owners = owners[: max(0, n_decl // 4)]  # never more than a quarter of the data
        latest = max(1, config.days - config.burst_window_days)
        burst_start = rng.integers(min(30, latest - 1), latest, config.n_bursts)
        imp_start = np.repeat(burst_start, config.importers_per_burst)
        entry[n_imp:] = imp_start
        taken = rng.choice(n_decl, len(owners), replace=False)
        importer[taken] = owners
        day[taken] = np.minimum(
            imp_start[owners - n_imp] + rng.integers(0, config.burst_window_days, len(owners)),
            config.days - 1,
        )
    return entry


def draw_items(config: SynthConfig, decls: Declarations, catalogue: Catalogue,
           countries: Countries, rng: np.random.Generator) -> Items:
    """The goods of every declaration: HS code (mostly of the importer's main chapter, often one
    of its regular goods), mass, price, value, quantity and duty, all true values."""
    n_items = config.n_items
    sizes = decls.sizes
    decl = np.repeat(np.arange(decls.count), sizes)
    starts = np.cumsum(sizes) - sizes
    item_no = np.arange(n_items) - np.repeat(starts, sizes) + 1
    item_importer = decls.importer[decl]

    chapter_pop = np.bincount(catalogue.chapter_id, weights=catalogue.popularity)
    main_chapter = draw(chapter_pop, decls.n_importers, rng)
    cdf = np.cumsum(catalogue.popularity)
    cdf /= cdf[-1]
    lo = np.concatenate([[0.0], cdf])[catalogue.chapter_start]
    hi = cdf[catalogue.chapter_start + catalogue.chapter_count - 1]
    ch = main_chapter[item_importer]
    specialised = rng.random(n_items) < 0.55
    u = np.where(specialised, lo[ch] + rng.random(n_items) * (hi[ch] - lo[ch]), rng.random(n_items))
    code = np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)
    code = _regular_goods(code, item_importer, main_chapter, lo, hi, cdf, decls.n_importers,
                          config)

    mass = np.round(rng.lognormal(np.log(catalogue.mass[code]), 1.2), 1) + 0.1
    item_origin = decls.origin[decl]
    # same draw count as a plain lognormal: the rest of the main stream stays as it was
    noise = rng.normal(0.0, config.price_noise_sigma, n_items)
    tier = price_tiers(item_importer, decls.exporter[decl], code, len(catalogue.codes), config)
    unit_value = catalogue.unit_value[code] * countries.price_level[item_origin] * tier * np.exp(noise)
    value = np.round(mass * unit_value) + 1.0
    unit = catalogue.unit[code]
    per_unit = catalogue.unit_mass[code] * rng.lognormal(0.0, 0.15, n_items)
    quantity = np.where(unit == "KGM", mass, np.maximum(1.0, np.round(mass / per_unit)))
    gross = np.round(mass * rng.uniform(1.02, 1.2, n_items), 1)
    preferential = countries.preferential[item_origin]
    duty = np.where(preferential, 0.0, catalogue.duty[code])
    return Items(decl=decl, item_no=item_no, importer=item_importer, code=code,
                  origin=item_origin, mass=mass, tier=tier, value=value, unit=unit,
                  quantity=quantity, gross=gross, preferential=preferential, duty=duty)
