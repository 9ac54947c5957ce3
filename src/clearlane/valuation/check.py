"""Price check: compare each declaration's unit value with its reference.

The reference is, most specific first: the importer's own accepted earlier declarations
(``importer_exporter_hs6`` → ``importer_hs6_origin`` → ``importer_hs6``, see
:mod:`clearlane.valuation.history`; only when a ``history`` is given and the declaration is
dated after it), then the market band of its period (``hs6_origin`` → ``hs6`` → ``hs4`` →
``hs2``; cells with fewer than ``min_count`` trimmed declarations are skipped; see
:mod:`clearlane.valuation.matching`). Dates after the bands' window use the latest period.

Per basis, the **robust z** is ``(ln reference median − ln unit value) / spread``: how many
spreads the declared unit value lies *below* the reference. The **price score** (higher =
riskier) is, with a history, the log10 odds that the declaration is under-valued by at least
``reference_cut`` rather than honest (comparable across reference levels; see
:func:`calibrate_history`), plus half the trader excess; without one, the per-kg robust z
(per-unit when there is no mass), averaged with the quantile model's z when given. A
declaration is **flagged** when its unit value is below its reference's lower quantile on some
basis, or when the importer's accepted history sits far below the market (``trader_flag``), or
when its declared quantity in kg falls short of its net mass (``quantity_mismatch``: hidden
goods or a data error, not a price; score and expected revenue then use the value per declared
kg).

For rows below their reference, the **estimated under-declared value** is the reference value
(median × quantity, back in national currency; the geometric mean over bases) minus the
declared customs value, and the **revenue at risk** is the declared ``tax_rate`` plus
``vat_rate`` (percent) applied to that difference: a per-case figure. For totals use the
**expected revenue at risk** (:mod:`clearlane.valuation.revenue`): per row from the mixture
fitted once per calibrated history (no fit per check), for totals from the separate totals step
:func:`~clearlane.valuation.revenue.add_expected_revenue`. All are **risk indicators**
for targeting a valuation check, never a correct or substitute customs value.

All joins are vectorised (polars); only :meth:`PriceCheckResult.reasons` builds Python
objects, for the rows asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import timedelta
from statistics import NormalDist

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.schema.reasons import Reason
from clearlane.valuation.bands import ValueBands
from clearlane.valuation.controls import RandomControls, calibrate_controls, finding_gaps
from clearlane.valuation.conversion import ExchangeRates, UnitTable
from clearlane.valuation.explain import CAUTION, REASON_CODES, ordinal, reasons_for_row
from clearlane.valuation.history import (
    Calibration,
    HistoryConfig,
    ImporterHistory,
    apply_history,
    build_importer_history,
)
from clearlane.valuation.matching import match_market
from clearlane.valuation.revenue import (
    CHECK_FIT_ROWS,
    MIN_ROWS,
    GapMixture,
    add_expected_revenue,
    apply_controlled_revenue,
    apply_expected_revenue,
    fit_gap_mixture,
    level_factors,
    log_gaps,
    reference_levels,
)
from clearlane.valuation.unit_values import BASES, unit_values


@dataclass(frozen=True)
class PriceCheckResult:
    """Per-declaration price check results (``frame``, same row order as the input).

    Columns: ``price_score`` (higher = riskier, null when no band), ``price_flag``,
    ``{kg,unit}_unit_value``/``_band_low``/``_band_median``/``_band_high`` (band currency per
    kg or per canonical unit), ``{kg,unit}_level`` (back-off level), ``_n`` (cell size after
    trimming), ``_period``, ``_z`` (robust z), ``unit_unit`` (canonical unit),
    ``reference_value`` and ``estimated_undervalue`` and ``revenue_at_risk`` (national currency),
    plus ``declaration_id``/``item_no``/``hs_code``/``origin_country`` when present.
    """

    frame: pl.DataFrame
    bands_version: str
    currency: str
    band_label: str = "5th–95th percentile"
    revenue_basis: str = ""
    """What the expected revenue at risk was calibrated on, in words."""

    def reasons(self, row: int) -> tuple[Reason, ...]:
        """Plain-language reasons for one row (0-based), each worded as a risk indicator."""
        return reasons_for_row(self.frame.row(row, named=True), self.currency, self.band_label)

    def flagged(self) -> pl.DataFrame:
        """Flagged rows, riskiest first."""
        return self.frame.filter(pl.col("price_flag")).sort("price_score", descending=True)


def check_prices(
    frame: pl.DataFrame,
    bands: ValueBands,
    *,
    rates: ExchangeRates | None = None,
    units: UnitTable | None = None,
    vat_rate: float = 0.0,
    model_bands: pl.DataFrame | None = None,
    history: ImporterHistory | None = None,
) -> PriceCheckResult:
    """Check every declaration of ``frame`` (canonical columns) against ``bands``.

    ``rates`` must convert the national currency to the bands' currency (not needed when the
    bands are in the national currency). ``vat_rate`` (percent) is added to the declared
    ``tax_rate`` when computing revenue at risk (leave it 0 when ``tax_rate`` already includes
    VAT). ``model_bands`` (optional, from :meth:`UnitValueQuantileModel.predict_band`) adds the
    conditional model's robust z as one more basis of the score. ``history`` (optional, from
    :func:`build_importer_history`) puts the importer's own accepted earlier declarations in front
    of the market back-off chain, for declarations dated after the history.
    """
    config = bands.config
    rates = rates or ExchangeRates.identity(bands.meta.national_currency)
    if rates.national_currency != bands.meta.national_currency:
        raise ValidationError(
            f"bands {bands.meta.version!r} were built in national currency "
            f"{bands.meta.national_currency!r} but the rates are for {rates.national_currency!r}"
        )
    long = unit_values(frame, rates=rates, currency=bands.meta.currency, period=config.period, units=units)
    matched = _reference(match_market(long, bands), frame, history, config.lower_q, config.upper_q)
    out, columns = _basis_columns(matched, frame.height)
    out = _quantity_columns(out, frame, units or UnitTable())
    # the price of what was declared: per declared kg when the quantity in kg is short
    columns.z[0] = "_kg_price_z"
    if model_bands is not None:
        out = out.with_columns(
            model_bands["model_z"].alias("model_z"),
            model_bands["model_low"].alias("model_low"),
            model_bands["model_median"].alias("model_median"),
            model_bands["model_high"].alias("model_high"),
        )
        columns.z.append("model_z")
    threshold = history.config.trader_threshold if history is not None else float("inf")
    out = _score_and_flags(out, frame, columns, threshold)
    if history is not None:
        out = _history_score(out, history, threshold)
    out = _revenue_at_risk(out, columns, vat_rate)
    result = _result_frame(frame, out)
    result, basis = _expected_revenue(result, history, vat_rate)
    label = f"{ordinal(config.lower_q)}–{ordinal(config.upper_q)} percentile"
    return PriceCheckResult(result, bands.meta.version, bands.meta.currency, label, basis)


@dataclass
class _BasisColumns:
    """Names of the per-basis columns the score, reference value and flag combine."""

    z: list[str]
    ref: list[str]
    below: list[str]


def _basis_columns(matched: pl.DataFrame, height: int) -> tuple[pl.DataFrame, _BasisColumns]:
    """One row per input row with each basis's unit value, reference band, robust z, market
    band, trader index and below/above flags."""
    out = pl.DataFrame({"_row": pl.int_range(height, eager=True, dtype=pl.UInt32)})
    columns = _BasisColumns([], [], [])
    for basis in BASES:
        part = matched.filter(pl.col("basis") == basis).select(
            "_row",
            pl.col("unit").alias(f"{basis}_unit"),
            pl.col("log_uv").exp().alias(f"{basis}_unit_value"),
            pl.col("low").alias(f"{basis}_band_low"),
            pl.col("median").alias(f"{basis}_band_median"),
            pl.col("high").alias(f"{basis}_band_high"),
            pl.col("level").alias(f"{basis}_level"),
            pl.col("n_trimmed").alias(f"{basis}_n"),
            pl.col("period").alias(f"{basis}_period"),
            ((pl.col("median").log() - pl.col("log_uv")) / pl.col("scale")).alias(f"{basis}_z"),
            pl.col("market_median").alias(f"{basis}_market_median"),
            pl.col("market_level").alias(f"{basis}_market_level"),
            pl.col("market_n").alias(f"{basis}_market_n"),
            ((pl.col("market_median").log() - pl.col("log_uv")) / pl.col("market_scale")).alias(f"{basis}_market_z"),
            pl.col("importer_shift").alias(f"{basis}_importer_shift"),
            pl.col("origin_effect").alias(f"{basis}_origin_effect"),
            pl.col("importer_index_n").alias(f"{basis}_importer_index_n"),
            pl.col("trader_z").alias(f"_{basis}_trader_z"),
            pl.col("trader_index").alias(f"_{basis}_trader_index"),
            (pl.col("median") * pl.col("quantity") * pl.col("national_per_unit")).alias(f"_{basis}_ref"),
            pl.col("scale").alias(f"{basis}_scale"),
        )
        out = out.join(part, on="_row", how="left")
        columns.z.append(f"{basis}_z")
        columns.ref.append(f"_{basis}_ref")
        columns.below.append(f"{basis}_below")
        out = out.with_columns(
            (pl.col(f"{basis}_unit_value") < pl.col(f"{basis}_band_low")).fill_null(False).alias(f"{basis}_below"),
            (pl.col(f"{basis}_unit_value") > pl.col(f"{basis}_band_high")).fill_null(False).alias(f"{basis}_above"),
        )
    return out, columns


def _quantity_columns(out: pl.DataFrame, frame: pl.DataFrame, units: UnitTable) -> pl.DataFrame:
    """``quantity_short``, ``quantity_mismatch`` and the per-kg z of what was declared."""
    return out.with_columns(_quantity_short(frame, units).alias("quantity_short")).with_columns(
        pl.col("quantity_short").is_not_null().alias("quantity_mismatch"),
        (pl.col("kg_z") - pl.col("quantity_short").fill_null(0.0) / pl.col("kg_scale")).alias("_kg_price_z"),
    )


def _score_and_flags(out: pl.DataFrame, frame: pl.DataFrame, columns: _BasisColumns,
                     threshold: float) -> pl.DataFrame:
    """The label-free ``price_score``, the trader comparison, ``reference_value`` and
    ``price_flag``."""
    z_columns, ref_columns = columns.z, columns.ref
    declared = frame["customs_value"].cast(pl.Float64)
    duty = frame["tax_rate"].cast(pl.Float64).fill_null(0.0) / 100.0 if "tax_rate" in frame.columns else None
    trader_z = pl.coalesce("_kg_trader_z", "_unit_trader_z")
    return out.with_columns(
        trader_z.alias("trader_z"),
        pl.coalesce("_kg_trader_index", "_unit_trader_index").alias("trader_index"),
        pl.coalesce("kg_importer_index_n", "unit_importer_index_n").alias("trader_n"),
    ).with_columns(
        # per kg first: the supplementary-unit value adds the noise of the unit mass
        (
            pl.mean_horizontal(pl.coalesce(z_columns[:2]), *z_columns[2:])
            + (pl.col("trader_z") - threshold).clip(lower_bound=0.0).fill_null(0.0)
        ).alias("price_score"),
        (pl.col("trader_z") > threshold).fill_null(False).alias("trader_flag"),
        # geometric mean of the available bases' reference values (per declared kg when short)
        pl.mean_horizontal(
            (pl.col("_kg_ref").log() - pl.col("quantity_short").fill_null(0.0)),
            *[pl.col(c).log() for c in ref_columns[1:]],
        ).exp().alias("reference_value"),
        declared.alias("_declared"),
        (duty if duty is not None else pl.lit(0.0)).alias("_duty"),
    ).with_columns(
        pl.any_horizontal(*columns.below, "trader_flag", "quantity_mismatch").alias("price_flag"),
    )


def _history_score(out: pl.DataFrame, history: ImporterHistory, threshold: float) -> pl.DataFrame:
    """With a history, ``price_score`` becomes the log10 odds of under-valuation (plus the
    trader excess)."""
    # odds comparable across reference levels rank better than a z: an equal z means more
    # at a tight own-history band than at a wide market band
    cal = history.calibration or Calibration({}, tuple(DEFAULT_HONEST), 0)
    d, s = log_gaps(out, cal.factors)
    mixture = scoring_mixture(cal, history.config.reference_cut)
    valid = np.isfinite(d) & np.isfinite(s) & (s > 0)
    odds = mixture.log_odds_at_least(np.where(valid, d, 0.0), np.where(valid, s, 1.0))
    log_odds = np.where(valid, odds / np.log(10.0), np.nan)
    return out.with_columns(
        (pl.Series(log_odds).fill_nan(None)
         + TRADER_WEIGHT * (pl.col("trader_z") - threshold).clip(lower_bound=0.0).fill_null(0.0)
         ).alias("price_score")
    )


def _revenue_at_risk(out: pl.DataFrame, columns: _BasisColumns, vat_rate: float) -> pl.DataFrame:
    """``estimated_undervalue`` (rows below some reference) and ``revenue_at_risk`` at the
    declared duty plus ``vat_rate``."""
    undervalue = pl.when(pl.any_horizontal(columns.below)).then(
        (pl.col("reference_value") - pl.col("_declared")).clip(lower_bound=0.0)
    ).otherwise(0.0).fill_null(0.0)
    return out.with_columns(undervalue.alias("estimated_undervalue")).with_columns(
        (
            pl.col("estimated_undervalue")
            * (pl.col("_duty") + vat_rate / 100.0)
        ).alias("revenue_at_risk"),
    )


def _result_frame(frame: pl.DataFrame, out: pl.DataFrame) -> pl.DataFrame:
    """The identifiers of ``frame`` beside the check's public columns (hidden ``_`` ones
    dropped)."""
    ids = [c for c in ("declaration_id", "item_no", "importer_id", "exporter_id", "hs_code", "origin_country",
                       "declared_at")
           if c in frame.columns]
    hidden = [c for c in out.columns if c.startswith("_")]
    return pl.concat(
        [frame.select(ids), out.with_columns(
            pl.col("_declared").alias("customs_value"), (pl.col("_duty") * 100.0).alias("tax_rate")
        ).drop(*hidden)],
        how="horizontal",
    )


def _expected_revenue(result: pl.DataFrame, history: ImporterHistory | None,
                      vat_rate: float) -> tuple[pl.DataFrame, str]:
    """The expected revenue at risk per row and what it was calibrated on, in words."""
    basis = "label-free: fitted on the prices of this batch (an order of magnitude only)"
    if history is not None and history.calibration is not None:
        # fitted once per history on its own last weeks: a check does no fit of its own
        cal = history.calibration
        if cal.controls is not None:
            result = apply_controlled_revenue(result, cal.controls, vat_rate)
            basis = cal.controls.describe()
        else:
            result = apply_expected_revenue(result, GapMixture(*cal.mixture), cal.factors, vat_rate)
            basis = "label-free: fitted on the importer history's last weeks (no controls recorded)"
    else:
        result = add_expected_revenue(result, vat_rate, max_rows=CHECK_FIT_ROWS)
    return result, basis


def _reference(
    matched: pl.DataFrame,
    frame: pl.DataFrame,
    history: ImporterHistory | None,
    lower_q: float,
    upper_q: float,
) -> pl.DataFrame:
    """The reference per (row, basis): the importer's own history when it applies, else the
    market band (moved by the importer's shrunk price index). Keeps the market band alongside
    (``market_*``) for the trader comparison."""
    market = matched.with_columns(
        pl.col("median").alias("market_median"), pl.col("scale").alias("market_scale"),
        pl.col("level").alias("market_level"), pl.col("n_trimmed").alias("market_n"),
    )
    if history is None:
        return market.with_columns(
            pl.lit(0.0).alias("importer_shift"), pl.lit(None, pl.UInt32).alias("importer_index_n"),
            pl.lit(None, pl.Float64).alias("trader_z"), pl.lit(None, pl.Float64).alias("trader_index"),
        )
    h = apply_history(market, frame, history)
    own = pl.col("h_level").is_not_null()
    centre = pl.col("market_median").log() + pl.when(own).then(pl.col("h_rel")).otherwise(pl.col("h_shift"))
    z_low, z_high = NormalDist().inv_cdf(lower_q), NormalDist().inv_cdf(upper_q)
    floor = history.config.min_scale
    scale = pl.when(own).then(pl.col("h_scale")).otherwise(
        pl.coalesce("h_index_scale", "market_scale").clip(lower_bound=floor)
    )
    span = pl.format("{} to {}", pl.col("h_first").dt.strftime("%Y-%m-%d"), pl.col("h_last").dt.strftime("%Y-%m-%d"))
    return h.with_columns(
        pl.when(own).then(pl.col("h_level")).otherwise(pl.col("level")).alias("level"),
        pl.when(own).then(pl.col("h_n")).otherwise(pl.col("n_trimmed")).alias("n_trimmed"),
        pl.when(own).then(span).otherwise(pl.col("period")).alias("period"),
        centre.exp().alias("median"),
        scale.alias("scale"),
        pl.when(own).then((centre + z_low * pl.col("h_scale")).exp())
        .otherwise(pl.col("low") * pl.col("h_shift").exp()).alias("low"),
        pl.when(own).then((centre + z_high * pl.col("h_scale")).exp())
        .otherwise(pl.col("high") * pl.col("h_shift").exp()).alias("high"),
        pl.col("h_shift").alias("importer_shift"),
        pl.col("h_index_n").alias("importer_index_n"),
    )


def calibrate_history(
    frame: pl.DataFrame,
    bands: ValueBands,
    *,
    rates: ExchangeRates | None = None,
    units: UnitTable | None = None,
    config: HistoryConfig | None = None,
    weeks: int = 13,
    findings: pl.DataFrame | None = None,
    vat_rate: float = 0.0,
    random_controls: RandomControls | None = None,
) -> ImporterHistory:
    """Build the importer history of ``frame`` (accepted earlier declarations) and calibrate it.

    The last ``weeks`` of ``frame`` are checked against a history of the declarations before
    them, exactly as a new batch would be; from those checks (no labels) come each reference
    level's spread factor and the gap mixture (:mod:`clearlane.valuation.revenue`). With a
    calibration, ``price_score`` becomes the log10 odds that the declaration is under-valued
    (plus the trader excess): comparable across reference levels. Too little data (fewer than
    ``MIN_ROWS`` recent checks) leaves the history uncalibrated (score = robust z).

    Past controls, when known, calibrate the expected revenue at risk
    (:mod:`clearlane.valuation.controls`; the price score stays label-free): the honest spread per
    reference level from the last weeks' declarations inspected and found in order (a ``fraud``
    column that is false; null = not inspected, or not known yet), and the depth of
    under-valuation from ``findings`` — declarations whose control found under-valuation, with
    ``customs_value``, ``tax_rate`` and ``revenue_recovered`` (the recovered duty and tax at
    ``tax_rate + vat_rate``). ``random_controls``, the random control sample's count of items
    inspected and found under-valued, anchors the under-valued share where a single price
    cannot tell a typical cut from honest noise. Pass only outcomes known before the batch.
    """
    history = build_importer_history(frame, bands, rates=rates, units=units, config=config)
    if history.window_end is None:
        return history
    cut = history.window_end - timedelta(days=7 * weeks)
    dates = pl.col("declared_at").cast(pl.Date)
    earlier, recent = frame.filter(dates <= cut), frame.filter(dates > cut)
    if earlier.is_empty() or recent.height < MIN_ROWS:
        return history
    inner = build_importer_history(earlier, bands, rates=rates, units=units, config=config)
    checked = check_prices(recent, bands, rates=rates, units=units, history=inner).frame
    factors = level_factors(checked)
    d, s = log_gaps(checked, factors)
    mixture = fit_gap_mixture(d, s)
    if mixture.rho <= 0:
        return history
    controls = None
    if findings is not None and "fraud" in recent.columns:
        clean = (recent["fraud"].cast(pl.Boolean) == False).fill_null(False).to_numpy()  # noqa: E712
        raw_d, raw_s = log_gaps(checked, {})
        controls = calibrate_controls(raw_d, raw_s, reference_levels(checked), clean,
                                      finding_gaps(findings, vat_rate), random_controls)
    return replace(history, calibration=Calibration(factors, tuple(mixture), recent.height, controls))


def _quantity_short(frame: pl.DataFrame, units: UnitTable) -> pl.Series:
    """``ln(net mass / declared quantity)`` where the supplementary unit is a mass (in kg) and
    falls more than ``QUANTITY_TOLERANCE`` short of the net mass (hidden goods ride along, or a
    data error); null elsewhere."""
    if not {"quantity", "quantity_unit", "net_mass_kg"} <= set(frame.columns):
        return pl.Series("quantity_short", [None] * frame.height, dtype=pl.Float64)
    qty, unit = units.canonical_quantity(pl.col("quantity"), pl.col("quantity_unit"))
    short = (pl.col("net_mass_kg").cast(pl.Float64) / qty).log()
    keep = (unit == "KGM") & (qty > 0) & (short > -math.log(1 - QUANTITY_TOLERANCE))
    return frame.select(pl.when(keep.fill_null(False)).then(short).alias("quantity_short")).to_series()


QUANTITY_TOLERANCE = 0.02
"""Share by which a quantity in kg may fall short of the net mass before it is a mismatch."""
TRADER_WEIGHT = 0.5
"""log10 odds added per unit of trader z above the threshold (a trader z of 4 adds 1: 10× odds)."""
DEFAULT_HONEST = GapMixture(pi=0.03, centre=0.0, delta=0.0, tau=0.0, rho=0.05, k=3.0)


def scoring_mixture(calibration: Calibration, reference_cut: float) -> GapMixture:
    """The mixture the price score uses: the honest part (centre, outliers) and the share as
    fitted on the history's last weeks, the under-valued part at a fixed ``reference_cut``
    (a declared value ``reference_cut`` below the true one), so the score does not depend on
    how well a label-free fit finds the depth."""
    fit = GapMixture(*calibration.mixture)
    return GapMixture(pi=min(max(fit.pi, 0.005), 0.2), centre=fit.centre, delta=-math.log(1.0 - reference_cut),
                      tau=0.1, rho=min(max(fit.rho, 0.005), 0.3), k=fit.k)


__all__ = ["CAUTION", "REASON_CODES", "PriceCheckResult", "calibrate_history", "check_prices", "reasons_for_row"]
