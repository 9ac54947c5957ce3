"""Generate a synthetic declaration set with planted fraud, vectorised with numpy and polars.

No Python loop runs per item or per declaration: per-row randomness is drawn in whole arrays and
strings are assembled by polars expressions. The same config (seed included) gives an identical
frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal, NamedTuple, TypeVar

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.schema.fields import RANDOM_BASIS, canonical_schema
from clearlane.synth.config import MECHANISMS, SynthConfig
from clearlane.synth.goods import Catalogue, build_catalogue
from clearlane.synth.mechanisms import CODE, Planted, TrueItems, plant
from clearlane.synth.outcomes import FINDINGS, NO_FINDING, Outcomes, inspect
from clearlane.synth.parties import (
    Countries,
    Offices,
    build_countries,
    build_offices,
    draw,
    party_ids,
)
from clearlane.synth.trade import (
    INCOTERMS,
    PAYMENTS,
    Declarations,
    Items,
    draw_declarations,
    draw_items,
)

Progress = Callable[[float, float | None], None]
STEPS = 7
T = TypeVar("T")

UNIT_WORDS: dict[str, tuple[str, str, str]] = {
    "KGM": ("KG", "KGS", "kg"),
    "NAR": ("PCS", "UNITS", "CTNS"),
    "LTR": ("L", "LITRES", "ltr"),
    "PR": ("PAIRS", "PRS", "paires"),
    "MTK": ("M2", "M2", "m2"),
}
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


@dataclass(frozen=True)
class _Parties:
    """Party identifiers and the per-item picks of brand and unit wording."""

    importer_ids: pl.Series
    broker_ids: pl.Series
    exporter_ids: pl.Series
    brand_pick: np.ndarray
    unit_pick: np.ndarray


@dataclass(frozen=True)
class Draws:
    """Every random draw of a data set: the frames are assembled from it, whole or a range of
    rows at a time (:func:`assemble`), always with the same values."""

    config: SynthConfig
    catalogue: Catalogue
    offices: Offices
    countries: Countries
    decls: Declarations
    items: Items
    planted: Planted
    outcomes: Outcomes
    text: _TextDraws
    parties: _Parties
    year_seq: np.ndarray
    """Each item's declaration number within its year (1, 2, … in date order)."""


def generate(config: SynthConfig, progress: Progress | None = None) -> SynthResult:
    """Generate ``config.n_items`` declaration items with planted fraud and inspection labels.

    ``progress(done, total)`` is called after each of the generation steps. Every step draws
    from the one main random stream in a fixed order, so the same config (seed included) gives
    identical frames.
    """
    draws = draw_all(config, progress)
    declarations, truth = assemble(draws)
    if progress is not None:
        progress(STEPS, STEPS)
    return SynthResult(declarations=declarations, truth=truth, config=config)


def draw_all(config: SynthConfig, progress: Progress | None = None) -> Draws:
    """Every draw of ``config`` (the first ``STEPS - 1`` steps of :func:`generate`)."""
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
    decls = draw_declarations(config, offices, countries, rng)
    advance()
    items = draw_items(config, decls, catalogue, countries, rng)
    advance()
    planted = _plant_fraud(items, decls, catalogue, countries, config, rng)
    advance()
    outcomes = _inspections(decls, items, planted, config, rng)
    advance()
    text = _text_draws(catalogue, config.n_items, rng)
    parties = _Parties(
        importer_ids=pl.Series(party_ids("IMP", decls.n_importers, rng)),
        broker_ids=pl.Series(party_ids("DCL", decls.n_brokers, rng)),
        exporter_ids=pl.Series(party_ids("EXP", config.exporters, rng)),
        brand_pick=rng.integers(0, 4, config.n_items),
        unit_pick=rng.integers(0, 3, config.n_items),
    )
    dates = (np.datetime64(config.start) + decls.day).astype("datetime64[D]")
    year = dates[items.decl].astype("datetime64[Y]").astype(np.int64)
    year_seq = (pl.DataFrame({"year": year, "seq": items.decl})
                .select(pl.col("seq").rank("dense").over("year"))
                .to_series().to_numpy())
    advance()
    return Draws(config, catalogue, offices, countries, decls, items, planted, outcomes, text,
                 parties, year_seq)


def _rows(value: T, rows: slice) -> T:
    """A per-item dataclass with every array cut to ``rows``."""
    return type(value)(**{f.name: getattr(value, f.name)[rows]
                          for f in fields(value)})  # type: ignore[arg-type]


# -- planted fraud -----------------------------------------------------------------------------
def _plant_fraud(items: Items, decls: Declarations, catalogue: Catalogue,
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
def _inspections(decls: Declarations, items: Items, planted: Planted, config: SynthConfig,
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
def assemble(draws: Draws, rows: slice | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The canonical declarations and their answer key (truth), one row per item, of the items
    in ``rows`` (all when ``None``): the same rows as those of the whole frames."""
    config, catalogue, countries = draws.config, draws.catalogue, draws.countries
    cut = rows if rows is not None else slice(None)
    items = _rows(draws.items, cut)
    planted = _rows(draws.planted, cut)
    outcomes = _rows(draws.outcomes, cut)
    text = dataclasses.replace(draws.text, variant=draws.text.variant[cut],
                               show_brand=draws.text.show_brand[cut],
                               show_qty=draws.text.show_qty[cut])
    parties = dataclasses.replace(draws.parties, brand_pick=draws.parties.brand_pick[cut],
                                  unit_pick=draws.parties.unit_pick[cut])
    decls = draws.decls
    vocab = np.unique(np.concatenate([catalogue.codes, catalogue.decoy[catalogue.decoy != ""]]))
    true_hs = np.searchsorted(vocab, catalogue.codes)[items.code]
    vocab_s = pl.Series(vocab.astype(str))
    country_s = pl.Series(countries.codes.astype(str))
    raw = _raw_frame(config, catalogue, draws.offices, countries, decls, items, planted,
                     outcomes, text, parties, draws.year_seq[cut], vocab, true_hs, vocab_s,
                     country_s)
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
               countries: Countries, decls: Declarations, items: Items, planted: Planted,
               outcomes: Outcomes, text: _TextDraws, parties: _Parties, year_seq: np.ndarray,
               vocab: np.ndarray, true_hs: np.ndarray, vocab_s: pl.Series,
               country_s: pl.Series) -> pl.DataFrame:
    """One row per item with the declared values, party ids, outcomes and the working columns
    (``seq``, ``variant``, ``brand``, ``show_*`` …) that :func:`_canonical` formats."""
    decl = items.decl
    dates = (np.datetime64(config.start) + decls.day).astype("datetime64[D]")
    decoy_hs = np.searchsorted(vocab, np.where(catalogue.decoy != "", catalogue.decoy,
                                               catalogue.codes))[items.code]
    declared_hs = np.where(planted.use_decoy, decoy_hs, true_hs)
    importer_ids, broker_ids, exporter_ids = (parties.importer_ids, parties.broker_ids,
                                              parties.exporter_ids)
    tax_rate = planted.declared_duty + config.vat_rate
    freight = np.vectorize(FREIGHT_SHARE.get)(offices.transport_mode).astype(float)
    fob = np.round(planted.declared_value / (1.0 + freight[decls.office[decl]]))
    return pl.DataFrame(
        {
            "declaration_id": dates[decl].astype("datetime64[Y]").astype(np.int64) + 1970,
            "seq": decl,
            "year_seq": year_seq,
            "item_no": items.item_no.astype(np.int64),
            "declared_at": dates[decl],
            "office_id": pl.Series(offices.ids.astype(str)).gather(decls.office[decl]),
            "declarant_id": broker_ids.gather(decls.broker[decl]),
            "importer_id": importer_ids.gather(items.importer),
            "exporter_id": exporter_ids.gather(decls.exporter[decl]),
            "hs_code": vocab_s.gather(declared_hs),
            "variant": text.variants.gather(items.code * text.n_variants + text.variant),
            "brand": text.brands.gather(items.code * 4 + parties.brand_pick),
            "unit_word": text.unit_words.gather(items.code * 3 + parties.unit_pick),
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
    frame = raw.with_columns(
        declaration_id=pl.format(
            "{}{}", pl.col("declaration_id"), pl.col("year_seq").cast(pl.String).str.zfill(7)
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
