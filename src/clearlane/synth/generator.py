"""Generate a synthetic declaration set with planted fraud, vectorised with numpy and polars.

No Python loop runs per item or per declaration: per-row randomness is drawn in whole arrays and
strings are assembled by polars expressions. The same config (seed included) gives an identical
frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.schema.fields import RANDOM_BASIS, canonical_schema
from clearlane.synth.config import MECHANISMS, SynthConfig
from clearlane.synth.goods import Catalogue, build_catalogue
from clearlane.synth.mechanisms import CODE, Planted, TrueItems, plant
from clearlane.synth.outcomes import FINDINGS, NO_FINDING, Outcomes, inspect
from clearlane.synth.parties import (
    TRANSIT_HUBS,
    Countries,
    Offices,
    build_countries,
    build_offices,
    draw,
    party_ids,
    zipf_weights,
)

Progress = Callable[[float, float | None], None]
STEPS = 7

UNIT_WORDS: dict[str, tuple[str, str, str]] = {
    "KGM": ("KG", "KGS", "kg"),
    "NAR": ("PCS", "UNITS", "CTNS"),
    "LTR": ("L", "LITRES", "ltr"),
    "PR": ("PAIRS", "PRS", "paires"),
    "MTK": ("M2", "M2", "m2"),
}
INCOTERMS = np.array(["FOB", "CIF", "CFR", "EXW", "DAP"])
INCOTERM_SHARE = np.array([0.45, 0.3, 0.12, 0.08, 0.05])
PAYMENTS = np.array(["transfer", "letter_of_credit", "documentary_collection", "cash"])
PAYMENT_SHARE = np.array([0.55, 0.2, 0.15, 0.1])
PORTFOLIO = 12
"""Regular goods (HS6 codes) per importer."""
FREIGHT_SHARE = {"1": 0.09, "2": 0.06, "3": 0.05, "4": 0.15, "5": 0.12}


class SynthFiles(NamedTuple):
    """Paths written by :meth:`SynthResult.write`."""

    declarations: Path
    truth: Path


@dataclass(frozen=True)
class SynthResult:
    """A generated data set.

    ``declarations`` has exactly the canonical columns (``canonical_schema()``), ordered by
    ``declared_at``. ``truth`` is keyed by (declaration_id, item_no) and says which mechanism (if
    any) was planted, the true HS code, value and origin, and the revenue evaded (national
    currency, duties plus VAT).
    """

    declarations: pl.DataFrame
    truth: pl.DataFrame
    config: SynthConfig

    def write(
        self, folder: str | Path, format: Literal["parquet", "csv"] = "parquet"
    ) -> SynthFiles:
        """Write ``declarations.<fmt>`` and ``truth.<fmt>`` into ``folder``; return their paths."""
        if format not in ("parquet", "csv"):
            raise ValidationError(f"unknown output format {format!r}; valid: parquet, csv")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = SynthFiles(folder / f"declarations.{format}", folder / f"truth.{format}")
        for frame, path in zip((self.declarations, self.truth), paths, strict=True):
            if format == "parquet":
                frame.write_parquet(path)
            else:
                frame.write_csv(path)
        return paths


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
class _Declarations:
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
        return len(self.sizes)

    @property
    def n_importers(self) -> int:
        """Importers including the burst importers."""
        return len(self.entry)


@dataclass(frozen=True)
class _Items:
    """Per-item draws: the true goods, quantities and values before any fraud is planted."""

    decl: np.ndarray
    """Declaration (index into :class:`_Declarations`) of each item."""
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


@dataclass(frozen=True)
class _TextDraws:
    """Per-item draws and per-code pools the goods descriptions are assembled from."""

    n_variants: int
    variant: np.ndarray
    variants: pl.Series
    brands: pl.Series
    unit_words: pl.Series
    show_brand: np.ndarray
    show_qty: np.ndarray


def generate(config: SynthConfig, progress: Progress | None = None) -> SynthResult:
    """Generate ``config.n_items`` declaration items with planted fraud and inspection labels.

    ``progress(done, total)`` is called after each of the generation steps. Every step draws
    from the one main random stream in a fixed order, so the same config (seed included) gives
    identical frames.
    """
    config.validate()
    rng = np.random.default_rng(config.seed)
    step = 0

    def advance() -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(step, STEPS)

    catalogue = build_catalogue(config.n_hs_codes, rng)
    offices = build_offices(config.n_offices, rng)
    countries = build_countries(config.home_country)
    advance()
    decls = _declarations(config, offices, countries, rng)
    advance()
    items = _items(config, decls, catalogue, countries, rng)
    advance()
    planted = _plant_fraud(items, decls, catalogue, countries, config, rng)
    advance()
    outcomes = _inspections(decls, items, planted, config, rng)
    advance()
    text = _text_draws(catalogue, config.n_items, rng)
    advance()
    declarations, truth = _assemble(config, catalogue, offices, countries, decls, items,
                                    planted, outcomes, text, rng)
    advance()
    return SynthResult(declarations=declarations, truth=truth, config=config)


# -- declarations ------------------------------------------------------------------------------
def _declaration_sizes(config: SynthConfig, rng: np.random.Generator) -> np.ndarray:
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


def _declarations(config: SynthConfig, offices: Offices, countries: Countries,
                  rng: np.random.Generator) -> _Declarations:
    """Who declares what, when and where: days, importers (a risky network and bursts of new
    importers among them), brokers, offices, countries, exporters; in chronological order."""
    sizes = _declaration_sizes(config, rng)
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
    return _Declarations(
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


# -- items -------------------------------------------------------------------------------------
def _items(config: SynthConfig, decls: _Declarations, catalogue: Catalogue,
           countries: Countries, rng: np.random.Generator) -> _Items:
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
    return _Items(decl=decl, item_no=item_no, importer=item_importer, code=code,
                  origin=item_origin, mass=mass, tier=tier, value=value, unit=unit,
                  quantity=quantity, gross=gross, preferential=preferential, duty=duty)


# -- planted fraud -----------------------------------------------------------------------------
def _plant_fraud(items: _Items, decls: _Declarations, catalogue: Catalogue,
                 countries: Countries, config: SynthConfig, rng: np.random.Generator) -> Planted:
    """Plant the fraud mechanisms (:mod:`clearlane.synth.mechanisms`) into the true items."""
    truth_items = TrueItems(
        code_idx=items.code, has_decoy=catalogue.decoy[items.code] != "", duty=items.duty,
        decoy_duty=catalogue.decoy_duty[items.code], origin_idx=items.origin,
        preferential=items.preferential, value=items.value, quantity=items.quantity,
        risky_importer=decls.is_risky_importer[items.importer],
        burst_importer=decls.is_burst_importer[items.importer],
    )
    pref_idx = np.flatnonzero(countries.preferential)
    return plant(truth_items, pref_idx, countries.share[pref_idx], config, rng)


# -- inspections -------------------------------------------------------------------------------
def _inspections(decls: _Declarations, items: _Items, planted: Planted, config: SynthConfig,
                 rng: np.random.Generator) -> Outcomes:
    """Which declarations were inspected (biased towards risky brokers, new importers and
    large values) and what the inspections found."""
    risky_broker_decl = np.isin(decls.broker, decls.risky_brokers).astype(float)
    entry = decls.entry[decls.importer]
    new_importer = ((decls.day - entry) < 60) & (entry > 0)
    decl_value = np.bincount(items.decl, weights=planted.declared_value, minlength=decls.count)
    hint = 0.6 * risky_broker_decl + 0.5 * new_importer + 0.1 * np.log1p(decl_value) - 1.2
    return inspect(items.decl, decls.count, planted.mechanism, planted.evaded, hint, config, rng)


# -- text --------------------------------------------------------------------------------------
def _text_draws(catalogue: Catalogue, n_items: int, rng: np.random.Generator) -> _TextDraws:
    """Wording of each item's goods description: variant, brand shown or not, quantity shown
    or not."""
    n_var = catalogue.variants.shape[1]
    variant = draw(np.array([0.3, 0.2, 0.15, 0.1, 0.15, 0.1])[:n_var], n_items, rng)
    variants = pl.Series(catalogue.variants.reshape(-1).astype(str))
    brands = np.array(
        [(pool.split("|") * 4)[:4] if pool else [""] * 4 for pool in catalogue.brand_pool]
    )
    brand_flat = pl.Series(brands.reshape(-1).astype(str))
    unit_words = np.array([UNIT_WORDS[x] for x in catalogue.unit])
    unit_flat = pl.Series(unit_words.reshape(-1).astype(str))
    show_brand = rng.random(n_items) < 0.5
    show_qty = rng.random(n_items) < 0.6
    return _TextDraws(n_variants=n_var, variant=variant, variants=variants, brands=brand_flat,
                      unit_words=unit_flat, show_brand=show_brand, show_qty=show_qty)


# -- assemble ----------------------------------------------------------------------------------
def _assemble(config: SynthConfig, catalogue: Catalogue, offices: Offices, countries: Countries,
              decls: _Declarations, items: _Items, planted: Planted, outcomes: Outcomes,
              text: _TextDraws, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The canonical declarations and their answer key (truth), one row per item."""
    vocab = np.unique(np.concatenate([catalogue.codes, catalogue.decoy[catalogue.decoy != ""]]))
    true_hs = np.searchsorted(vocab, catalogue.codes)[items.code]
    vocab_s = pl.Series(vocab.astype(str))
    country_s = pl.Series(countries.codes.astype(str))
    raw = _raw_frame(config, catalogue, offices, countries, decls, items, planted, outcomes,
                     text, vocab, true_hs, vocab_s, country_s, rng)
    declarations = _canonical(raw, config)
    mechanism_names = pl.Series([None, *MECHANISMS], dtype=pl.String)
    truth = pl.DataFrame(
        {
            "declaration_id": declarations["declaration_id"],
            "item_no": declarations["item_no"],
            "mechanism": mechanism_names.gather(planted.mechanism.astype(np.int64)),
            "true_hs_code": vocab_s.gather(true_hs),
            "true_customs_value": items.value,
            "true_origin_country": country_s.gather(items.origin),
            "true_quantity": items.quantity,
            "true_tax_rate": items.duty + config.vat_rate,
            "hidden_share": planted.depth,
            "price_tier": items.tier,
            "evaded_revenue": planted.evaded,
            "risky_broker": np.isin(decls.broker[items.decl], decls.risky_brokers),
            "risky_importer": decls.is_risky_importer[items.importer],
            "burst_importer": decls.is_burst_importer[items.importer],
        }
    )
    return declarations, truth


def _raw_frame(config: SynthConfig, catalogue: Catalogue, offices: Offices,
               countries: Countries, decls: _Declarations, items: _Items, planted: Planted,
               outcomes: Outcomes, text: _TextDraws, vocab: np.ndarray, true_hs: np.ndarray,
               vocab_s: pl.Series, country_s: pl.Series,
               rng: np.random.Generator) -> pl.DataFrame:
    """One row per item with the declared values, party ids, outcomes and the working columns
    (``seq``, ``variant``, ``brand``, ``show_*`` …) that :func:`_canonical` formats."""
    decl = items.decl
    n_items = config.n_items
    dates = (np.datetime64(config.start) + decls.day).astype("datetime64[D]")
    decoy_hs = np.searchsorted(vocab, np.where(catalogue.decoy != "", catalogue.decoy,
                                               catalogue.codes))[items.code]
    declared_hs = np.where(planted.use_decoy, decoy_hs, true_hs)
    importer_ids = pl.Series(party_ids("IMP", decls.n_importers, rng))
    broker_ids = pl.Series(party_ids("DCL", decls.n_brokers, rng))
    exporter_ids = pl.Series(party_ids("EXP", config.exporters, rng))
    tax_rate = planted.declared_duty + config.vat_rate
    freight = np.vectorize(FREIGHT_SHARE.get)(offices.transport_mode).astype(float)
    fob = np.round(planted.declared_value / (1.0 + freight[decls.office[decl]]))
    return pl.DataFrame(
        {
            "declaration_id": dates[decl].astype("datetime64[Y]").astype(np.int64) + 1970,
            "seq": decl,
            "item_no": items.item_no.astype(np.int64),
            "declared_at": dates[decl],
            "office_id": pl.Series(offices.ids.astype(str)).gather(decls.office[decl]),
            "declarant_id": broker_ids.gather(decls.broker[decl]),
            "importer_id": importer_ids.gather(items.importer),
            "exporter_id": exporter_ids.gather(decls.exporter[decl]),
            "hs_code": vocab_s.gather(declared_hs),
            "variant": text.variants.gather(items.code * text.n_variants + text.variant),
            "brand": text.brands.gather(items.code * 4 + rng.integers(0, 4, n_items)),
            "unit_word": text.unit_words.gather(items.code * 3 + rng.integers(0, 3, n_items)),
            "show_brand": text.show_brand,
            "show_qty": text.show_qty,
            "origin_country": country_s.gather(planted.declared_origin_idx),
            "departure_country": country_s.gather(
                np.where(planted.transshipped, planted.declared_origin_idx,
                         decls.departure[decl])
            ),
            "transport_mode": pl.Series(offices.transport_mode.astype(str)).gather(
                decls.office[decl]
            ),
            "quantity": planted.declared_quantity,
            "quantity_unit": items.unit,
            "net_mass_kg": items.mass,
            "gross_mass_kg": items.gross,
            "customs_value": planted.declared_value,
            "fob_value": fob,
            "currency": pl.Series(countries.currency.astype(str)).gather(decls.origin[decl]),
            "tax_rate": tax_rate,
            "taxes_paid": np.round(planted.declared_value * tax_rate / 100.0),
            "inspected": outcomes.inspected,
            "inspection_basis": np.where(outcomes.random_control, RANDOM_BASIS, "rule"),
            "fraud": outcomes.fraud,
            "revenue_recovered": outcomes.revenue_recovered,
            "critical": outcomes.critical,
            "finding_code": planted.mechanism * outcomes.fraud,
            "inspected_at": dates[decl] + outcomes.inspection_delay_days,
            "officer_no": outcomes.officer_no,
            "incoterm": pl.Series(INCOTERMS).gather(decls.incoterm[decl]),
            "payment_type": pl.Series(PAYMENTS).gather(decls.payment[decl]),
            "by_sea": offices.transport_mode[decls.office[decl]] == "1",
            "big": decls.sizes[decl] > 3,
        },
        strict=False,
    )


def _canonical(raw: pl.DataFrame, config: SynthConfig) -> pl.DataFrame:
    """Format the working columns into canonical ones (declaration numbers, goods
    descriptions, outcomes only where inspected, ``extra`` JSON) and keep exactly the
    canonical schema."""
    finding_texts = pl.Series([NO_FINDING] + [FINDINGS[CODE[m]] for m in MECHANISMS])
    qty_text = pl.format("{} {}", pl.col("quantity").round(0).cast(pl.Int64), pl.col("unit_word"))
    year_seq = pl.col("seq").rank("dense").over("declaration_id")
    frame = raw.with_columns(
        declaration_id=pl.format(
            "{}{}", pl.col("declaration_id"), year_seq.cast(pl.String).str.zfill(7)
        ),
        goods_description=pl.concat_str(
            [
                pl.col("variant"),
                pl.when(pl.col("show_brand") & (pl.col("brand") != "")).then(pl.col("brand")),
                pl.when(pl.col("show_qty")).then(qty_text),
            ],
            separator=" ",
            ignore_nulls=True,
        ),
        fraud=pl.when(pl.col("inspected")).then(pl.col("fraud")),
        inspection_basis=pl.when(pl.col("inspected")).then(pl.col("inspection_basis")),
        critical=pl.when(pl.col("inspected")).then(pl.col("critical")),
        revenue_recovered=pl.when(pl.col("inspected")).then(pl.col("revenue_recovered")),
        finding=pl.when(pl.col("inspected")).then(
            pl.col("finding_code").cast(pl.Int64).replace_strict(
                dict(enumerate(finding_texts.to_list()))
            )
        ),
        container=pl.when(pl.col("by_sea")).then(
            pl.when(pl.col("big")).then(pl.lit("40ft")).otherwise(pl.lit("20ft"))
        ),
        inspected_at=pl.when(pl.col("inspected")).then(pl.col("inspected_at")),
        officer_id=pl.when(pl.col("inspected")).then(
            pl.format("{}-OF{}", pl.col("office_id"), pl.col("officer_no"))
        ),
    )
    frame = frame.with_columns(
        extra=pl.struct([pl.col(c) for c in config.extra_columns]).struct.json_encode()
    )
    return frame.select([pl.col(name).cast(dtype) for name, dtype in canonical_schema().items()])
