"""Price check: compare each declaration's unit value with its reference band.

For each basis (per kg, per supplementary unit) the declaration is matched to the band of its
period at the most specific level with enough data (``hs6_origin`` → ``hs6`` → ``hs4`` →
``hs2``; cells with fewer than ``min_count`` trimmed declarations are skipped). Declarations
dated after the bands' window use the latest period, before it the first.

Per basis, the **robust z** is ``(ln median − ln unit value) / scale``: how many robust spreads
the declared unit value lies *below* the band centre. The **price score** is
the per-kg robust z (per-unit when there is no mass), averaged with the quantile model's
robust z when one is given (higher = riskier; negative = above the centre). A declaration is
**flagged** when its unit value is below the band's lower quantile on some basis.

For flagged declarations, the **estimated under-declared value** is the reference value
(band median × quantity, back in national currency; the geometric mean over bases) minus the
declared customs value, and the **revenue at risk** is the duty at the declared ``tax_rate``
plus ``vat_rate`` (both percent of the customs value), applied to that difference. These are **risk
indicators** for targeting a valuation check, never a correct or substitute customs value.

For totals, a per-row figure summed over flagged rows overstates the loss (honest prices
below the median are flagged too). The **expected revenue at risk** instead weights each
declaration by its posterior probability of being under-valued under a two-component mixture
fitted to the batch's robust z (clean: centred at 0; under-valued: shifted by ``μ``), and uses
the mixture's shift for the size of the gap: ``p × declared × (exp(μ × scale) − 1)``.

All joins are vectorised (polars); only :meth:`PriceCheckResult.reasons` builds Python
objects, for the rows asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.schema.reasons import Reason
from clearlane.valuation.bands import LEVEL_HS_COLUMN, LEVELS, ValueBands
from clearlane.valuation.conversion import ExchangeRates, UnitTable
from clearlane.valuation.unit_values import ANY_ORIGIN, BASES, unit_values

STAT_COLUMNS = ("level", "period", "n_trimmed", "median", "scale", "low", "high")
CAUTION = (
    "This is a risk indicator for selecting a valuation check, not a correct or minimum value; "
    "the customs value is determined under the valuation rules (transaction value first)."
)
REASON_CODES: dict[str, str] = {
    "PRICE_BELOW_BAND": "Declared unit value below the lower bound of its reference band.",
    "PRICE_ABOVE_BAND": "Declared unit value above the upper bound of its reference band.",
    "PRICE_BAND_BACKOFF": "The band came from a coarser level because the specific cell was sparse.",
    "PRICE_NO_REFERENCE": "No reference band with enough declarations for this commodity.",
    "PRICE_BELOW_MODEL_RANGE": "Declared unit value below the conditional quantile model's range.",
}
"""Stable reason codes of the price check and what each means."""


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
) -> PriceCheckResult:
    """Check every declaration of ``frame`` (canonical columns) against ``bands``.

    ``rates`` must convert the national currency to the bands' currency (not needed when the
    bands are in the national currency). ``vat_rate`` (percent) is added to the declared duty
    rate when computing revenue at risk. ``model_bands`` (optional, from
    :meth:`UnitValueQuantileModel.predict_band`) adds the conditional model's robust z as one
    more basis of the score.
    """
    config = bands.config
    rates = rates or ExchangeRates.identity(bands.meta.national_currency)
    if rates.national_currency != bands.meta.national_currency:
        raise ValidationError(
            f"bands {bands.meta.version!r} were built in national currency "
            f"{bands.meta.national_currency!r} but the rates are for {rates.national_currency!r}"
        )
    long = unit_values(frame, rates=rates, currency=bands.meta.currency, period=config.period, units=units)
    usable = bands.usable()
    if usable.height:
        starts = usable["period_start"]
        long = long.with_columns(pl.col("period_start").clip(pl.lit(starts.min()), pl.lit(starts.max())))
    matched = _shrink_to_hs6(_match_levels(long, usable), usable, config.shrinkage)

    out = pl.DataFrame({"_row": pl.int_range(frame.height, eager=True, dtype=pl.UInt32)})
    z_columns: list[str] = []
    ref_columns: list[str] = []
    below_columns: list[str] = []
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
            (pl.col("median") * pl.col("quantity") * pl.col("national_per_unit")).alias(f"_{basis}_ref"),
            pl.col("scale").alias(f"_{basis}_scale"),
        )
        out = out.join(part, on="_row", how="left")
        z_columns.append(f"{basis}_z")
        ref_columns.append(f"_{basis}_ref")
        below_columns.append(f"{basis}_below")
        out = out.with_columns(
            (pl.col(f"{basis}_unit_value") < pl.col(f"{basis}_band_low")).fill_null(False).alias(f"{basis}_below"),
            (pl.col(f"{basis}_unit_value") > pl.col(f"{basis}_band_high")).fill_null(False).alias(f"{basis}_above"),
        )
    if model_bands is not None:
        out = out.with_columns(
            model_bands["model_z"].alias("model_z"),
            model_bands["model_low"].alias("model_low"),
            model_bands["model_median"].alias("model_median"),
            model_bands["model_high"].alias("model_high"),
        )
        z_columns.append("model_z")

    declared = frame["customs_value"].cast(pl.Float64)
    duty = frame["tax_rate"].cast(pl.Float64).fill_null(0.0) / 100.0 if "tax_rate" in frame.columns else None
    out = out.with_columns(
        # per kg first: the supplementary-unit value adds the noise of the unit mass
        pl.mean_horizontal(pl.coalesce(z_columns[:2]), *z_columns[2:]).alias("price_score"),
        pl.any_horizontal(below_columns).alias("price_flag"),
        # geometric mean of the available bases' reference values
        pl.mean_horizontal([pl.col(c).log() for c in ref_columns]).exp().alias("reference_value"),
        declared.alias("_declared"),
        (duty if duty is not None else pl.lit(0.0)).alias("_duty"),
    )
    undervalue = pl.when(pl.col("price_flag")).then(
        (pl.col("reference_value") - pl.col("_declared")).clip(lower_bound=0.0)
    ).otherwise(0.0).fill_null(0.0)
    out = out.with_columns(undervalue.alias("estimated_undervalue")).with_columns(
        (
            pl.col("estimated_undervalue")
            * (pl.col("_duty") + vat_rate / 100.0)
        ).alias("revenue_at_risk"),
    )
    out = _add_expected(out, frame, vat_rate)
    ids = [c for c in ("declaration_id", "item_no", "hs_code", "origin_country", "declared_at") if c in frame.columns]
    result = pl.concat(
        [frame.select(ids), out.drop("_row", "_declared", "_duty", *ref_columns)], how="horizontal"
    )
    label = f"{_ordinal(config.lower_q)}–{_ordinal(config.upper_q)} percentile"
    return PriceCheckResult(result, bands.meta.version, bands.meta.currency, label)


def _match_levels(long: pl.DataFrame, usable: pl.DataFrame) -> pl.DataFrame:
    """Match each (row, basis) to the most specific usable band; unmatched rows keep nulls."""
    keep = ["basis", "unit", "hs", "origin", "period_start", *STAT_COLUMNS]
    remaining = long.with_columns(pl.lit(ANY_ORIGIN).alias("_any"))
    parts: list[pl.DataFrame] = []
    for level in LEVELS:
        cells = usable.filter(pl.col("level") == level).select(keep)
        left_on = ["basis", "unit", LEVEL_HS_COLUMN[level], "origin" if level == "hs6_origin" else "_any", "period_start"]
        right_on = ["basis", "unit", "hs", "origin", "period_start"]
        hit = remaining.join(cells, left_on=left_on, right_on=right_on, how="inner")
        parts.append(hit.select(*long.columns, *STAT_COLUMNS))
        remaining = remaining.join(cells, left_on=left_on, right_on=right_on, how="anti")
    schema = usable.schema
    parts.append(
        remaining.select(
            *long.columns, *[pl.lit(None, dtype=schema[c]).alias(c) for c in STAT_COLUMNS]
        )
    )
    return pl.concat(parts, how="vertical")


def _shrink_to_hs6(matched: pl.DataFrame, usable: pl.DataFrame, strength: float) -> pl.DataFrame:
    """Pull HS6 × origin centres towards their HS6 centre: ``w = n / (n + strength)`` on the
    log scale (empirical-Bayes style; a small origin cell borrows from all origins)."""
    if strength <= 0:
        return matched
    parent = usable.filter(pl.col("level") == "hs6").select(
        "basis", "unit", pl.col("hs").alias("hs6"), "period_start", pl.col("median").alias("_pmed")
    )
    weight = pl.col("n_trimmed") / (pl.col("n_trimmed") + strength)
    blended = (weight * pl.col("median").log() + (1 - weight) * pl.col("_pmed").log()).exp()
    return (
        matched.join(parent, on=["basis", "unit", "hs6", "period_start"], how="left")
        .with_columns(
            pl.when((pl.col("level") == "hs6_origin") & pl.col("_pmed").is_not_null())
            .then(blended)
            .otherwise(pl.col("median"))
            .alias("median")
        )
        .drop("_pmed")
    )


def _money(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def _unit_label(basis: str, row: dict[str, Any]) -> str:
    return "kg" if basis == "kg" else str(row.get("unit_unit") or "unit")


def _ordinal(q: float) -> str:
    n = round(q * 100, 1)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(int(n) % 10, "th")
    return f"{n:g}{suffix}"


def reasons_for_row(
    row: dict[str, Any], currency: str, band_label: str = "5th–95th percentile"
) -> tuple[Reason, ...]:
    """Reasons for one result row (a dict of :class:`PriceCheckResult` columns)."""
    reasons: list[Reason] = []
    hs = row.get("hs_code") or "?"
    origin = row.get("origin_country") or "?"
    any_band = False
    for basis in BASES:
        if row.get(f"{basis}_band_median") is None:
            continue
        any_band = True
        unit = _unit_label(basis, row)
        level = row[f"{basis}_level"]
        where = {
            "hs6_origin": f"HS {str(hs)[:6]} from {origin}",
            "hs6": f"HS {str(hs)[:6]} (all origins)",
            "hs4": f"HS heading {str(hs)[:4]} (all origins)",
            "hs2": f"HS chapter {str(hs)[:2]} (all origins)",
        }[level]
        evidence = {
            "basis": basis,
            "unit": unit,
            "declared_unit_value": row[f"{basis}_unit_value"],
            "band_low": row[f"{basis}_band_low"],
            "band_median": row[f"{basis}_band_median"],
            "band_high": row[f"{basis}_band_high"],
            "level": level,
            "cell_size": row[f"{basis}_n"],
            "period": row[f"{basis}_period"],
            "robust_z": row[f"{basis}_z"],
            "currency": currency,
        }
        band_text = (
            f"the {band_label} for {where} in {row[f'{basis}_period']} is "
            f"{_money(row[f'{basis}_band_low'])}–{_money(row[f'{basis}_band_high'])} {currency}/{unit} "
            f"(median {_money(row[f'{basis}_band_median'])}) over {row[f'{basis}_n']:,} declarations"
        )
        declared = f"declared {_money(row[f'{basis}_unit_value'])} {currency}/{unit}"
        if row.get(f"{basis}_below"):
            text = f"Risk indicator (price below band): {declared}; {band_text}."
            if row.get("estimated_undervalue"):
                text += (
                    f" Estimated under-declared value {_money(row['estimated_undervalue'])} and "
                    f"revenue at risk {_money(row.get('revenue_at_risk'))} (national currency)."
                )
            reasons.append(Reason("PRICE_BELOW_BAND", f"{text} {CAUTION}", float(row[f"{basis}_z"] or 0.0), evidence))
        elif row.get(f"{basis}_above"):
            reasons.append(
                Reason(
                    "PRICE_ABOVE_BAND",
                    f"Risk indicator (price above band): {declared}; {band_text}. {CAUTION}",
                    0.0,
                    evidence,
                )
            )
        if level != "hs6_origin" and (row.get(f"{basis}_below") or row.get(f"{basis}_above")):
            reasons.append(
                Reason(
                    "PRICE_BAND_BACKOFF",
                    f"Risk indicator context: the {basis} band is from {where} because the "
                    f"HS {str(hs)[:6]} × {origin} cell had too few declarations.",
                    0.0,
                    {"basis": basis, "level": level, "cell_size": row[f"{basis}_n"]},
                )
            )
    model_z = row.get("model_z")
    model_low = row.get("model_low")
    kg_uv = row.get("kg_unit_value")
    if model_z is not None and model_low is not None and kg_uv is not None and kg_uv < model_low:
        reasons.append(
            Reason(
                "PRICE_BELOW_MODEL_RANGE",
                f"Risk indicator: declared {_money(kg_uv)} {currency}/kg is below the conditional "
                f"model's range {_money(model_low)}–{_money(row.get('model_high'))} {currency}/kg for "
                f"similar declarations (same goods, origin, quantity, transport). {CAUTION}",
                float(model_z),
                {"model_low": model_low, "model_median": row.get("model_median"),
                 "model_high": row.get("model_high"), "robust_z": model_z},
            )
        )
    if not any_band:
        reasons.append(
            Reason(
                "PRICE_NO_REFERENCE",
                f"No risk indicator: no reference band with enough declarations for HS "
                f"{str(hs)[:6]} at any level, or no positive value and quantity.",
                0.0,
                {},
            )
        )
    return tuple(reasons)


def fit_shift_mixture(z: np.ndarray, iterations: int = 200) -> tuple[float, float, float]:
    """EM fit of ``(1 − π) N(0, σ²) + π N(μ, σ²)`` to robust z values; returns (π, μ, σ).

    ``σ`` is fixed at the robust spread of ``z`` (1.4826 × MAD around 0, i.e. the clean
    majority); ``μ >= 0`` (under-valuation lowers the price, raising z). With a small or shallow
    under-valued share the mixture is weakly identified: treat the result as an estimate.
    """
    z = z[np.isfinite(z)]
    if z.size < 50:
        return 0.0, 0.0, 1.0
    sigma = max(float(1.4826 * np.median(np.abs(z - np.median(z)))), 1e-6)
    centre = float(np.median(z))
    x = (z - centre) / sigma
    pi, mu = 0.05, 2.0
    for _ in range(iterations):
        log_clean = -0.5 * x**2 + np.log(1.0 - pi)
        log_fraud = -0.5 * (x - mu) ** 2 + np.log(pi)
        post = 1.0 / (1.0 + np.exp(np.clip(log_clean - log_fraud, -50, 50)))
        new_pi = float(np.clip(post.mean(), 1e-5, 0.5))
        new_mu = float(max((post * x).sum() / max(post.sum(), 1e-12), 0.0))
        if abs(new_pi - pi) < 1e-7 and abs(new_mu - mu) < 1e-6:
            pi, mu = new_pi, new_mu
            break
        pi, mu = new_pi, new_mu
    return pi, mu * sigma, sigma


def _add_expected(out: pl.DataFrame, frame: pl.DataFrame, vat_rate: float) -> pl.DataFrame:
    """Add ``undervaluation_probability``, ``expected_undervalue``, ``expected_revenue_at_risk``."""
    z_col = pl.coalesce("kg_z", "unit_z")
    scale_col = pl.when(pl.col("kg_z").is_not_null()).then(pl.col("_kg_scale")).otherwise(pl.col("_unit_scale"))
    z = out.select(z_col).to_series().to_numpy().astype(float)
    # fit on rows with an HS6-level band: coarser bands mix codes and fatten the tails
    level = out.select(pl.coalesce("kg_level", "unit_level")).to_series()
    specific = level.is_in(["hs6_origin", "hs6"]).fill_null(False).to_numpy()
    pi, mu, sigma = fit_shift_mixture(z[specific] if specific.sum() >= 50 else z)
    centre = float(np.nanmedian(z)) if np.isfinite(z).any() else 0.0
    if pi <= 0 or mu <= 0:
        prob = pl.lit(0.0)
    else:
        x = (z_col - centre) / sigma
        log_ratio = (-0.5 * x**2 + np.log(1 - pi)) - (-0.5 * (x - mu / sigma) ** 2 + np.log(pi))
        prob = 1.0 / (1.0 + log_ratio.clip(-50, 50).exp())
    return out.with_columns(prob.fill_null(0.0).alias("undervaluation_probability")).with_columns(
        (
            pl.col("undervaluation_probability") * pl.col("_declared")
            * ((mu * scale_col).exp() - 1.0)
        ).fill_null(0.0).alias("expected_undervalue")
    ).with_columns(
        (pl.col("expected_undervalue") * (pl.col("_duty") + vat_rate / 100.0)).alias("expected_revenue_at_risk")
    ).drop("_kg_scale", "_unit_scale")
