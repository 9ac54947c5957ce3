"""The importer's own history: the most specific reference for a declaration's price.

Within one HS6 × origin, unit values spread mostly *between traders* (brand, grade, supplier,
market segment), while one importer buying the same goods repeatedly pays a fairly stable price.
Valuation units use exactly that (identical or similar goods, the importer's own earlier
declarations); this module makes it the first reference level, in front of the market back-off
chain (``hs6_origin`` → ``hs6`` → ``hs4`` → ``hs2``).

Built from **accepted earlier declarations** only: the caller passes them (e.g. every declaration
before the batch to check, less those whose inspection found fraud), and a checked declaration
uses the history only when it is dated *after* the history's last day, so no declaration is ever
compared with itself or with later ones. Every price is measured **relative to its market band**
(``rel = ln unit value − ln market centre``, see :func:`match_market`), so a history stays valid
when the market moves and one origin's history informs another's.

Levels (most specific first), each needing at least ``min_count`` earlier declarations:

* ``importer_exporter_hs6``: this importer, this HS6, bought from this exporter (same origin);
* ``importer_hs6_origin``: this importer, this HS6, this origin;
* ``importer_hs6``: this importer, this HS6, any origin;
* otherwise the market band, its centre moved by the importer's **price index** (median ``rel``
  over all its goods), shrunk towards 0 with ``w = n / (n + σ_within² / σ_between²)``
  (empirical Bayes; needs ``min_index`` declarations), plus the market cell's bias and the
  exporter's price level for the HS6 over all importers' earlier declarations (shrunk).

The spread of an importer level is the pooled robust spread of ``rel`` around its cell median
(per level and basis), inflated for the error of the cell median itself:
``scale × sqrt(1 + π / (2 n))``.

A consistent under-valuer's own history is itself under-valued, so its own band looks normal.
The **trader comparison** therefore stays: ``trader_z = −index / sqrt(σ_between² + σ_within² π /
(2 n))`` (higher = riskier) says how far below the market bands the importer's accepted history
sits; the price check reports it as its own reason, flags it above ``trader_threshold`` and adds
the excess to the price score.

History is confidential trader data: it is computed at check time and never written into a band
file that is exported or shared. Like the bands it is a **risk indicator**, never a value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import polars as pl

from clearlane.errors import ValidationError
from clearlane.valuation.bands import MAD_TO_SIGMA, ValueBands
from clearlane.valuation.controls import ControlledMixture
from clearlane.valuation.conversion import ExchangeRates, UnitTable
from clearlane.valuation.matching import match_market
from clearlane.valuation.unit_values import ANY_ORIGIN, BASES, unit_values

HISTORY_LEVELS: tuple[str, ...] = ("importer_exporter_hs6", "importer_hs6_origin", "importer_hs6")
"""Importer levels, most specific first; the market levels follow."""
MEDIAN_ERROR = math.pi / 2
"""Variance of a sample median of n normal values is about ``σ² π / (2 n)``."""
CELL_COLUMNS = ("n", "rel", "first", "last")
MARKET_KEYS = ("m_level", "m_hs", "m_origin")
BIAS_PRIOR = 5.0
SUPPLIER_PRIOR = 5.0
"""Pseudo-declarations of the supplier price level's shrinkage towards 0 (as ``BIAS_PRIOR``)."""


@dataclass(frozen=True)
class HistoryConfig:
    """``min_count``: earlier declarations an importer cell needs; ``min_index``: declarations
    an importer's price index needs; ``trader_threshold``: trader z above which the trader
    comparison flags and adds to the score; ``min_scale``: floor of the log spread;
    ``reference_cut``: the under-valuation the price score measures odds for (0.25 = a declared
    value 25 % below the true one)."""

    min_count: int = 3
    min_index: int = 5
    trader_threshold: float = 2.0
    min_scale: float = 0.05
    reference_cut: float = 0.25

    def validate(self) -> HistoryConfig:
        if self.min_count < 1 or self.min_index < 2:
            raise ValidationError(
                f"history min_count {self.min_count} / min_index {self.min_index} are not valid; "
                "need min_count >= 1 and min_index >= 2"
            )
        if not 0.0 < self.reference_cut < 1.0:
            raise ValidationError(f"history reference_cut {self.reference_cut} is not valid; need 0 < cut < 1")
        if not self.min_scale > 0:
            raise ValidationError(f"history min_scale {self.min_scale} is not valid; must be > 0")
        return self


@dataclass(frozen=True)
class Calibration:
    """How the check turns a log gap into a probability, learnt on the history's own last weeks
    (see :func:`clearlane.valuation.check.calibrate_history`): per reference level a factor on
    its spread, and the gap mixture (:class:`clearlane.valuation.revenue.GapMixture` fields);
    with past controls also a :class:`clearlane.valuation.controls.ControlledMixture`."""

    factors: dict[str, float]
    mixture: tuple[float, ...]
    rows: int
    controls: ControlledMixture | None = None
    """Mixture calibrated on past controls (honest spreads of controlled-clean declarations,
    gaps of valuation findings); used for expected revenue when present."""


@dataclass(frozen=True)
class ImporterHistory:
    """Importer price history relative to the market bands it was measured against.

    ``cells``: one row per (level, basis, unit, importer_id, hs6, origin) with ``n`` earlier
    declarations, ``rel`` (median relative log price), ``first``/``last`` dates. ``index``: per
    (basis, importer_id) the price ``index``, its size ``index_n``, shrink weight ``index_w`` and
    ``trader_z``. ``market_bias``: per market cell, the shrunk median of ``rel − w × index``
    (how far a cell's centre sits from what its traders' own price levels explain: a small cell
    bought by one premium importer has a high centre). ``supplier``: per (basis, unit, exporter,
    hs6) the shrunk median of what is left after the importer index and the market bias, over
    all importers that bought those goods from that exporter (``supplier_shift``, ``supplier_n``):
    the exporter's own price level for the goods. ``scales``: pooled spreads
    (``"<level>/<basis>"``, ``"within/<basis>"``, ``"between/<basis>"``). ``window_end``: last day of the history.
    """

    cells: pl.DataFrame
    index: pl.DataFrame
    market_bias: pl.DataFrame
    supplier: pl.DataFrame
    scales: dict[str, float]
    window_end: date | None
    declarations: int
    bands_version: str
    config: HistoryConfig
    calibration: Calibration | None = None


def build_importer_history(
    history: pl.DataFrame,
    bands: ValueBands,
    *,
    rates: ExchangeRates | None = None,
    units: UnitTable | None = None,
    config: HistoryConfig | None = None,
) -> ImporterHistory:
    """Summarise accepted earlier declarations (canonical columns incl. ``importer_id``)."""
    config = (config or HistoryConfig()).validate()
    if "importer_id" not in history.columns:
        raise ValidationError("importer history: declarations lack the column 'importer_id'")
    rates = rates or ExchangeRates.identity(bands.meta.national_currency)
    long = unit_values(history, rates=rates, currency=bands.meta.currency,
                       period=bands.config.period, units=units)
    ids = history.select(
        pl.col("importer_id").cast(pl.String), _exporter(history), pl.col("declared_at").cast(pl.Date)
    ).with_row_index("_row")
    rel = (
        match_market(long, bands)
        .filter(pl.col("median").is_not_null())
        .join(ids, on="_row", how="inner")
        .filter(pl.col("importer_id").is_not_null())
        .select("basis", "unit", "importer_id", "exporter", "hs6", "origin", "declared_at",
                (pl.col("log_uv") - pl.col("median").log()).alias("rel"), *_market_keys())
    )
    cells: list[pl.DataFrame] = []
    scales: dict[str, float] = {}
    for level in HISTORY_LEVELS:
        keyed = rel.with_columns(*_level_keys(level)).filter(pl.col("exporter").is_not_null())
        keys = ["basis", "unit", "importer_id", "exporter", "hs6", "origin"]
        table = keyed.group_by(keys).agg(
            pl.len().cast(pl.UInt32).alias("n"), pl.col("rel").median().alias("rel"),
            pl.col("declared_at").min().alias("first"), pl.col("declared_at").max().alias("last"),
        )
        cells.append(table.with_columns(pl.lit(level).alias("level")))
        for basis, value in _pooled_spread(keyed, keys, config.min_count).items():
            scales[f"{level}/{basis}"] = max(value, config.min_scale)
    index = _price_index(rel, config, scales)
    bias = _market_bias(rel, index, config)
    supplier = _supplier_level(rel, index, bias, config)
    window_end = history.select(pl.col("declared_at").cast(pl.Date).max()).item() if history.height else None
    return ImporterHistory(
        cells=pl.concat(cells, how="vertical").select("level", "basis", "unit", "importer_id", "exporter",
                                                      "hs6", "origin", *CELL_COLUMNS),
        index=index,
        market_bias=bias,
        supplier=supplier,
        scales=scales,
        window_end=window_end,
        declarations=history.height,
        bands_version=bands.meta.version,
        config=config,
    )


def _pooled_spread(keyed: pl.DataFrame, keys: list[str], min_count: int) -> dict[str, float]:
    """Robust spread of ``rel`` around its cell median, per basis, over cells of >= min_count.

    Deviations from an in-sample median understate the spread; ``sqrt(n / (n − 1))`` corrects."""
    n = pl.len().over(keys)
    dev = (
        keyed.filter(n >= max(min_count, 2))
        .with_columns(
            ((pl.col("rel") - pl.col("rel").median().over(keys)).abs()
             * (pl.len().over(keys) / (pl.len().over(keys) - 1)).sqrt()).alias("_dev")
        )
        .group_by("basis")
        .agg((MAD_TO_SIGMA * pl.col("_dev").median()).alias("s"))
    )
    return {row["basis"]: float(row["s"]) for row in dev.iter_rows(named=True) if row["s"] is not None}


def _price_index(rel: pl.DataFrame, config: HistoryConfig, scales: dict[str, float]) -> pl.DataFrame:
    """Per (basis, importer): price index, its empirical-Bayes weight and the trader z."""
    keys = ["basis", "importer_id"]
    per = rel.group_by(keys).agg(
        pl.len().cast(pl.UInt32).alias("index_n"), pl.col("rel").median().alias("index")
    )
    out: list[pl.DataFrame] = []
    for basis in BASES:
        part = per.filter(pl.col("basis") == basis)
        rows = rel.filter(pl.col("basis") == basis).join(part, on=keys).filter(
            pl.col("index_n") >= config.min_index
        )
        if rows.is_empty():
            continue
        correction = (pl.col("index_n") / (pl.col("index_n") - 1)).sqrt()
        within = MAD_TO_SIGMA * float(
            rows.select(((pl.col("rel") - pl.col("index")).abs() * correction).median()).item()
        )
        within = max(within, config.min_scale)
        big = part.filter(pl.col("index_n") >= config.min_index)
        centre = float(big["index"].median())  # type: ignore[arg-type]
        mad = MAD_TO_SIGMA * float((big["index"] - centre).abs().median())  # type: ignore[arg-type]
        noise = float((within**2 * MEDIAN_ERROR / big["index_n"].cast(pl.Float64)).median())  # type: ignore[arg-type]
        between = math.sqrt(max(mad**2 - noise, config.min_scale**2))
        scales[f"within/{basis}"], scales[f"between/{basis}"] = within, between
        n = pl.col("index_n").cast(pl.Float64)
        weight = n / (n + within**2 / between**2)
        resid = rows.select((pl.col("rel") - weight * pl.col("index")).abs().median()).item()
        scales[f"index_resid/{basis}"] = max(MAD_TO_SIGMA * float(resid), config.min_scale)
        out.append(
            part.with_columns(
                (n / (n + within**2 / between**2)).alias("index_w"),
                (-pl.col("index") / (between**2 + within**2 * MEDIAN_ERROR / n).sqrt()).alias("trader_z"),
            )
        )
    schema = {"basis": pl.String, "importer_id": pl.String, "index_n": pl.UInt32, "index": pl.Float64,
              "index_w": pl.Float64, "trader_z": pl.Float64}
    if not out:
        return pl.DataFrame(schema=schema)
    return pl.concat(out, how="vertical").select([pl.col(c).cast(t) for c, t in schema.items()])


def apply_history(matched: pl.DataFrame, frame: pl.DataFrame, history: ImporterHistory) -> pl.DataFrame:
    """Add importer-level columns to matched (row, basis) unit values of ``frame``.

    Adds ``h_level`` (null when no importer cell applies), ``h_n``, ``h_rel``, ``h_scale``,
    ``h_first``, ``h_last``, the index shift ``h_shift`` (``w × index``, 0 when none),
    ``h_index_scale`` (spread of a market band moved by the index), ``h_index_n``, ``trader_z``
    and ``trader_index``. Rows not dated after the history's last day
    get no importer information (they could be part of it).
    """
    config = history.config
    if "importer_id" not in frame.columns or "declared_at" not in frame.columns:
        raise ValidationError("importer history needs the columns 'importer_id' and 'declared_at'")
    ids = frame.select(
        pl.col("importer_id").cast(pl.String), _exporter(frame).alias("_exporter_id"),
        pl.col("declared_at").cast(pl.Date).alias("_date"),
    ).with_row_index("_row")
    after = (
        pl.col("_date") > pl.lit(history.window_end, dtype=pl.Date)
        if history.window_end is not None else pl.lit(True)
    )
    eligible = (after & pl.col("median").is_not_null() & pl.col("importer_id").is_not_null()).fill_null(False)
    out = matched.join(ids, on="_row", how="left")
    for i, level in enumerate(HISTORY_LEVELS):
        cells = history.cells.filter(
            (pl.col("level") == level) & (pl.col("n") >= config.min_count)
        ).select("basis", "unit", "importer_id", pl.col("exporter").alias("_exporter"), "hs6",
                 pl.col("origin").alias("_origin"), *[pl.col(c).alias(f"_{c}{i}") for c in CELL_COLUMNS])
        origin, exporter = _level_keys(level, "_exporter_id")
        out = out.with_columns(origin.alias("_origin"), exporter.alias("_exporter")).join(
            cells, on=["basis", "unit", "importer_id", "_exporter", "hs6", "_origin"], how="left",
        )
    out = out.join(history.index, on=["basis", "importer_id"], how="left").with_columns(
        *_market_keys()
    ).join(history.market_bias, on=["basis", "unit", *MARKET_KEYS], how="left").join(
        history.supplier.rename({"exporter": "_exporter_id"}), on=["basis", "unit", "_exporter_id", "hs6"], how="left"
    )
    level_expr = pl.lit(None, pl.String)
    for i in reversed(range(len(HISTORY_LEVELS))):
        level_expr = pl.when(eligible & pl.col(f"_n{i}").is_not_null()).then(
            pl.lit(HISTORY_LEVELS[i])
        ).otherwise(level_expr)
    pick = [(pl.col("h_level") == level) for level in HISTORY_LEVELS]
    scale_of = pl.lit(None, pl.Float64)
    for level in reversed(HISTORY_LEVELS):
        s_kg, s_unit = (history.scales.get(f"{level}/{b}") for b in BASES)
        per_basis = pl.when(pl.col("basis") == "kg").then(pl.lit(s_kg, pl.Float64)).otherwise(
            pl.lit(s_unit, pl.Float64)
        )
        scale_of = pl.when(pl.col("h_level") == level).then(per_basis).otherwise(scale_of)

    def chosen(column: str) -> pl.Expr:
        expr = pl.lit(None)
        for i in reversed(range(len(HISTORY_LEVELS))):
            expr = pl.when(pick[i]).then(pl.col(f"_{column}{i}")).otherwise(expr)
        return expr

    resid = pl.when(pl.col("basis") == "kg").then(pl.lit(history.scales.get("index_resid/kg"), pl.Float64)).otherwise(
        pl.lit(history.scales.get("index_resid/unit"), pl.Float64)
    )
    use_index = eligible & (pl.col("index_n") >= config.min_index).fill_null(False)
    return (
        out.with_columns(level_expr.alias("h_level"))
        .with_columns(
            chosen("n").alias("h_n"), chosen("rel").alias("h_rel"), chosen("first").alias("h_first"),
            chosen("last").alias("h_last"),
            (scale_of * (1.0 + MEDIAN_ERROR / chosen("n").cast(pl.Float64)).sqrt()).alias("h_scale"),
            (
                pl.when(use_index & pl.col("h_level").is_null()).then(pl.col("index_w") * pl.col("index"))
                .otherwise(0.0)
                + pl.when(eligible & pl.col("h_level").is_null()).then(
                    pl.col("bias").fill_null(0.0) + pl.col("supplier_shift").fill_null(0.0)
                ).otherwise(0.0)
            ).alias("h_shift"),
            pl.when(use_index & pl.col("h_level").is_null()).then(
                (resid**2 + pl.col("scale") ** 2 * MEDIAN_ERROR / pl.col("n_trimmed").cast(pl.Float64)).sqrt()
            ).alias("h_index_scale"),
            pl.when(use_index).then(pl.col("index_n")).alias("h_index_n"),
            pl.when(use_index).then(pl.col("trader_z")).alias("trader_z"),
            pl.when(use_index).then(pl.col("index")).alias("trader_index"),
        )
        .drop("_origin", "_exporter", "_exporter_id", "_date", "index_n", "index", "index_w", "bias",
              "supplier_shift", "supplier_n",
              *MARKET_KEYS,
              *[f"_{c}{i}" for i in range(len(HISTORY_LEVELS)) for c in CELL_COLUMNS])
    )


def _market_keys() -> tuple[pl.Expr, ...]:
    """Key of the market cell a matched row came from (level, HS at that level, origin or *)."""
    level = pl.col("level")
    hs = pl.when(level == "hs4").then(pl.col("hs4")).when(level == "hs2").then(pl.col("hs2")).otherwise(
        pl.col("hs6")
    )
    origin = pl.when(level == "hs6_origin").then(pl.col("origin")).otherwise(pl.lit(ANY_ORIGIN))
    return level.alias("m_level"), hs.alias("m_hs"), origin.alias("m_origin")


def _market_bias(rel: pl.DataFrame, index: pl.DataFrame, config: HistoryConfig) -> pl.DataFrame:
    """Per market cell: shrunk median of ``rel − w × index`` (see :class:`ImporterHistory`)."""
    adjusted = rel.join(index, on=["basis", "importer_id"], how="left").with_columns(
        (pl.col("rel") - pl.when(pl.col("index_n") >= config.min_index)
         .then(pl.col("index_w") * pl.col("index")).otherwise(0.0).fill_null(0.0)).alias("_x")
    )
    n = pl.len().cast(pl.Float64)
    return adjusted.group_by("basis", "unit", *MARKET_KEYS).agg(
        (pl.col("_x").median() * n / (n + BIAS_PRIOR)).alias("bias")
    )


def _supplier_level(
    rel: pl.DataFrame, index: pl.DataFrame, bias: pl.DataFrame, config: HistoryConfig
) -> pl.DataFrame:
    """Per (basis, unit, exporter, hs6): shrunk median of ``rel − w × index − bias`` over every
    importer's earlier declarations of those goods from that exporter (see :class:`ImporterHistory`)."""
    adjusted = (
        rel.filter(pl.col("exporter").is_not_null())
        .join(index, on=["basis", "importer_id"], how="left")
        .join(bias, on=["basis", "unit", *MARKET_KEYS], how="left")
        .with_columns(
            (pl.col("rel") - pl.when(pl.col("index_n") >= config.min_index)
             .then(pl.col("index_w") * pl.col("index")).otherwise(0.0).fill_null(0.0)
             - pl.col("bias").fill_null(0.0)).alias("_x")
        )
    )
    n = pl.len().cast(pl.Float64)
    return adjusted.group_by("basis", "unit", "exporter", "hs6").agg(
        (pl.col("_x").median() * n / (n + SUPPLIER_PRIOR)).alias("supplier_shift"),
        pl.len().cast(pl.UInt32).alias("supplier_n"),
    )


def _exporter(frame: pl.DataFrame) -> pl.Expr:
    if "exporter_id" in frame.columns:
        return pl.col("exporter_id").cast(pl.String).alias("exporter")
    return pl.lit(None, pl.String).alias("exporter")


def _level_keys(level: str, exporter_column: str = "exporter") -> tuple[pl.Expr, pl.Expr]:
    """(origin, exporter) key expressions of an importer level; ``*`` where the level pools."""
    origin = pl.col("origin") if level in ("importer_hs6_origin", "importer_exporter_hs6") else pl.lit(ANY_ORIGIN)
    exporter = pl.col(exporter_column) if level == "importer_exporter_hs6" else pl.lit(ANY_ORIGIN)
    return origin.alias("origin"), exporter.alias("exporter")


__all__ = ["HISTORY_LEVELS", "Calibration", "HistoryConfig", "ImporterHistory", "apply_history", "build_importer_history"]
