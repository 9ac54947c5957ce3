"""Expected revenue at risk of a batch of price checks: calibrated for totals.

Summing the gap to the band median over flagged rows overstates a total: honest prices below
the median are flagged too, and a per-row gap measured against a noisy reference is too large
on average. Instead, the batch's **log gaps** ``d = ln reference − ln declared unit value``
(positive = below the reference), each with its own reference spread ``s`` (an importer's own
history is much tighter than a market band), are fitted with a two-component mixture by EM:

* honest: ``d ~ N(c, s²)``;
* under-valued: ``d ~ N(c + δ, s² + τ²)`` (``δ`` the typical under-declared log share, ``τ`` its
  spread between cases).

Each declaration gets its posterior probability ``p`` of being under-valued and, if it is, its
expected log gap ``g = δ + τ² / (s² + τ²) × (d − c − δ)`` (at least 0). Then

``expected_undervalue = p × declared value × (exp(g) − 1)`` and
``expected_revenue_at_risk = expected_undervalue × (tax_rate + vat_rate) / 100``

(the declared rate, in national currency). Summed over a batch these estimate the under-declared
total; per row they are a **risk indicator**, never an assessed amount.

Honest unit values have heavier tails than a normal law (a trader's unusual lot, a new brand).
Two guards keep those tails from being counted as under-valuation: each reference level's
spread is recalibrated on the batch (the robust spread of its z, label-free), and a third,
symmetric component ``N(c, (k s)²)`` takes the honest outliers, which occur above the reference
as often as below. The fit needs at least 50 rows; a small or nearly clean batch is weakly
identified, so compute totals over a whole period (concatenate the checks, then call
:func:`add_expected_revenue` again).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import polars as pl

from clearlane.valuation.controls import ControlledMixture, fit_shares

MIN_ROWS = 50
FIT_ROWS = 40_000
CHECK_FIT_ROWS = 8_000
"""Rows of the per-batch fit inside a check without a calibrated history (a totals step refits
on up to ``FIT_ROWS``)."""
OUTPUT_COLUMNS = ("undervaluation_probability", "expected_undervalue", "expected_revenue_at_risk")
CALIBRATION_ROWS = 100
MAD_TO_SIGMA = 1.4826


class GapMixture(NamedTuple):
    """Fitted mixture: share ``pi`` under-valued, honest centre ``centre``, shift ``delta`` and
    case spread ``tau`` (natural-log units); ``rho`` the share of honest outliers, whose spread
    is ``k`` times the reference spread."""

    pi: float
    centre: float
    delta: float
    tau: float
    rho: float = 0.0
    k: float = 3.0

    def _logs(self, d: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v0, v1, v2 = s**2, s**2 + self.tau**2, (self.k * s) ** 2
        clean = max(1.0 - self.pi - self.rho, 1e-9)
        log0 = -0.5 * (d - self.centre) ** 2 / v0 - 0.5 * np.log(v0) + math.log(clean)
        log1 = -0.5 * (d - self.centre - self.delta) ** 2 / v1 - 0.5 * np.log(v1) + math.log(max(self.pi, 1e-12))
        log2 = -0.5 * (d - self.centre) ** 2 / v2 - 0.5 * np.log(v2) + math.log(max(self.rho, 1e-12))
        return log0, log1, log2

    def responsibilities(self, d: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probability under-valued, probability honest outlier) per row."""
        log0, log1, log2 = self._logs(d, s)
        top = np.maximum(np.maximum(log0, log1), log2)
        e0, e1, e2 = np.exp(log0 - top), np.exp(log1 - top), np.exp(log2 - top)
        total = e0 + e1 + e2
        return e1 / total, e2 / total

    def log_odds(self, d: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Natural log of the odds under-valued : honest (either honest component)."""
        log0, log1, log2 = self._logs(d, s)
        return np.asarray(log1 - np.logaddexp(log0, log2))

    def log_odds_at_least(self, d: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Log odds of "under-valued by at least ``delta``" against honest: the under-valued
        density is taken at its best shift >= ``delta`` (a generalised likelihood ratio), so the
        odds never fall as the gap grows."""
        log0, _, log2 = self._logs(d, s)
        v1 = s**2 + self.tau**2
        short = np.minimum(d - self.centre - self.delta, 0.0)
        log1 = -0.5 * short**2 / v1 - 0.5 * np.log(v1) + math.log(max(self.pi, 1e-12))
        return np.asarray(log1 - np.logaddexp(log0, log2))

    def posterior(self, d: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Probability that each row is under-valued (0 when the mixture found none)."""
        if self.pi <= 0 or self.delta <= 0:
            return np.zeros_like(d)
        return self.responsibilities(d, s)[0]

    def gap(self, d: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Expected log gap of each row if it is under-valued (>= 0)."""
        shrink = self.tau**2 / (s**2 + self.tau**2)
        return np.asarray(np.maximum(self.delta + shrink * (d - self.centre - self.delta), 0.0))


def fit_gap_mixture(
    d: np.ndarray, s: np.ndarray, iterations: int = 300, max_rows: int = FIT_ROWS
) -> GapMixture:
    """EM fit of the honest / under-valued / honest-outlier mixture to log gaps ``d`` with
    reference spreads ``s`` (at most ``max_rows``: a fixed-seed sample of larger batches). The
    outlier component is symmetric, so heavy honest tails (seen
    above the reference as often as below) are not mistaken for under-valuation."""
    keep = np.isfinite(d) & np.isfinite(s) & (s > 0)
    d, s = d[keep], s[keep]
    if d.size < MIN_ROWS:
        return GapMixture(0.0, 0.0, 0.0, 0.0)
    if d.size > max_rows:  # the parameters are global: a fixed-seed sample keeps the fit fast
        pick = np.random.default_rng(0).choice(d.size, max_rows, replace=False)
        d, s = d[pick], s[pick]
    best, best_ll = GapMixture(0.0, 0.0, 0.0, 0.0), -math.inf
    # EM finds a local optimum: start from a shallow, a medium and a deep cut, keep the best
    for start in (float(np.median(s)), 0.3, 0.7):
        fit = _em(d, s, GapMixture(0.05, float(np.median(d)), start, 0.1, 0.05, 3.0), iterations)
        log0, log1, log2 = fit._logs(d, s)
        ll = float(np.logaddexp(np.logaddexp(log0, log1), log2).sum())
        if ll > best_ll:
            best, best_ll = fit, ll
    return best


def _em(d: np.ndarray, s: np.ndarray, fit: GapMixture, iterations: int) -> GapMixture:
    v0 = s**2
    for _ in range(iterations):
        p, r = fit.responsibilities(d, s)
        q = 1.0 - p - r
        pi = float(np.clip(p.mean(), 1e-5, 0.5))
        rho = float(np.clip(r.mean(), 1e-5, 0.5))
        w0 = q / v0 + r / (fit.k**2 * v0)
        centre = float((w0 * d).sum() / max(w0.sum(), 1e-12))
        w1 = p / (v0 + fit.tau**2)
        delta = float(max((w1 * (d - centre)).sum() / max(w1.sum(), 1e-12), 1e-6))
        resid = (d - centre - delta) ** 2 - v0
        tau = float(math.sqrt(min(max((p * resid).sum() / max(p.sum(), 1e-12), 0.0), 1.0)))
        k = float(np.clip(math.sqrt((r * (d - centre) ** 2 / v0).sum() / max(r.sum(), 1e-12)), 1.5, 20.0))
        new = GapMixture(pi, centre, delta, tau, rho, k)
        done = max(abs(a - b) for a, b in zip(new, fit, strict=True)) < 1e-6
        fit = new
        if done:
            break
    return fit


def _level() -> pl.Expr:
    on_kg = pl.col("kg_z").is_not_null()
    return pl.when(on_kg).then(pl.col("kg_level")).otherwise(pl.col("unit_level")).fill_null("none")


def level_factors(out: pl.DataFrame) -> dict[str, float]:
    """Per reference level with at least ``CALIBRATION_ROWS`` rows: the robust spread of its z
    (label-free; 1.0 = the level's spread is right), clipped to [0.5, 3]."""
    z = pl.coalesce("kg_z", "unit_z")
    stats = out.group_by(_level().alias("level")).agg(
        (MAD_TO_SIGMA * (z - z.median()).abs().median()).alias("f"), pl.len().alias("n")
    )
    return {row["level"]: float(min(max(row["f"], 0.5), 3.0)) for row in stats.iter_rows(named=True)
            if row["n"] >= CALIBRATION_ROWS and row["f"] is not None}


def log_gaps(out: pl.DataFrame, factors: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(log gap ``d``, calibrated spread ``s``) per row of a check frame (NaN where no band).

    On the kg basis a row whose declared quantity in kg falls short of its net mass
    (``quantity_short``, see :func:`clearlane.valuation.check.check_prices`) is measured per
    declared kg: its per-kg gap less ``quantity_short``."""
    on_kg = pl.col("kg_z").is_not_null()
    scale = pl.when(on_kg).then(pl.col("kg_scale")).otherwise(pl.col("unit_scale"))
    factor = _level().replace_strict(factors, default=1.0, return_dtype=pl.Float64)
    short = pl.col("quantity_short").fill_null(0.0) if "quantity_short" in out.columns else pl.lit(0.0)
    gap = pl.when(on_kg).then(pl.col("kg_z") * pl.col("kg_scale") - short).otherwise(
        pl.col("unit_z") * pl.col("unit_scale"))
    parts = out.select(gap.alias("d"), (scale * factor).alias("s"))
    return (parts["d"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            parts["s"].cast(pl.Float64).fill_null(np.nan).to_numpy())


def reference_levels(out: pl.DataFrame) -> np.ndarray:
    """Reference level per row of a check frame (the kg basis first; ``none`` without a band)."""
    return np.asarray(out.select(_level()).to_series().to_numpy(), dtype=object)


def add_expected_revenue(
    out: pl.DataFrame, vat_rate: float, max_rows: int = FIT_ROWS, controls: ControlledMixture | None = None
) -> pl.DataFrame:
    """The **totals step**: fit on every row given and add ``undervaluation_probability``,
    ``expected_undervalue`` and ``expected_revenue_at_risk`` to a price check frame (or several
    concatenated). Needs ``kg_z``/``unit_z``, ``kg_scale``/``unit_scale``,
    ``kg_level``/``unit_level``, ``customs_value`` (national currency) and ``tax_rate`` (percent).

    With ``controls`` (calibrated on past controls, see :mod:`clearlane.valuation.controls`) only
    the under-valued share per level and the honest centres are refitted on these rows. Without,
    the label-free mixture: each level's spread is recalibrated on the batch (multiplied by the
    robust spread of that level's z when it has at least ``CALIBRATION_ROWS`` rows) and the
    three-component mixture is fitted on at most ``max_rows`` rows (a fixed-seed sample).
    """
    if controls is not None:
        d, s = log_gaps(out, {})
        return apply_controlled_revenue(out, fit_shares(controls, d, s, reference_levels(out)), vat_rate)
    factors = level_factors(out)
    d, s = log_gaps(out, factors)
    return apply_expected_revenue(out, fit_gap_mixture(d, s, max_rows=max_rows), factors, vat_rate)


def apply_controlled_revenue(out: pl.DataFrame, controls: ControlledMixture, vat_rate: float) -> pl.DataFrame:
    """Add the expected-revenue columns with a control-calibrated mixture (no fit)."""
    d, s = log_gaps(out, {})
    valid = np.isfinite(d) & np.isfinite(s) & (s > 0)
    prob, gain = np.zeros(d.size), np.zeros(d.size)
    if valid.any():
        p, g = controls.posterior_and_gain(d[valid], s[valid], reference_levels(out)[valid])
        prob[valid], gain[valid] = p, g
    return _with_expected(out, prob, gain, vat_rate)


def apply_expected_revenue(
    out: pl.DataFrame, mixture: GapMixture, factors: dict[str, float], vat_rate: float
) -> pl.DataFrame:
    """Add the expected-revenue columns of :func:`add_expected_revenue` with an already fitted
    ``mixture`` and level ``factors`` (no fit: what a per-batch check uses, with the mixture
    calibrated once on the importer history's last weeks)."""
    d, s = log_gaps(out, factors)
    valid = np.isfinite(d) & np.isfinite(s) & (s > 0)
    d_safe, s_safe = np.where(valid, d, 0.0), np.where(valid, s, 1.0)
    prob = np.where(valid, mixture.posterior(d_safe, s_safe), 0.0)
    gap = np.where(valid, mixture.gap(d_safe, s_safe), 0.0)
    return _with_expected(out, prob, np.expm1(gap), vat_rate)


def _with_expected(out: pl.DataFrame, prob: np.ndarray, gain: np.ndarray, vat_rate: float) -> pl.DataFrame:
    """``expected_undervalue = p × declared × gain`` (gain = expected ``exp(g) − 1``) and its
    revenue at the declared rate plus ``vat_rate``."""
    out = out.drop([c for c in OUTPUT_COLUMNS if c in out.columns])
    return out.with_columns(
        pl.Series("undervaluation_probability", prob),
        (pl.Series(prob) * pl.col("customs_value").cast(pl.Float64) * pl.Series(gain)).fill_null(0.0)
        .alias("expected_undervalue"),
    ).with_columns(
        (
            pl.col("expected_undervalue")
            * (pl.col("tax_rate").cast(pl.Float64).fill_null(0.0) + vat_rate) / 100.0
        ).alias("expected_revenue_at_risk")
    )


__all__ = ["GapMixture", "add_expected_revenue", "apply_controlled_revenue", "apply_expected_revenue", "fit_gap_mixture",
           "level_factors", "log_gaps", "reference_levels"]
