"""Revenue at risk calibrated on past valuation controls: a mixture per reference level.

A total of under-declared value is only as good as two things the price data alone cannot
settle: how honest prices spread around each kind of reference (an importer's own history is
tight, a market band wide), and how deep under-valuation usually is. A valuation unit knows
both from its own **past controls**:

* declarations that were inspected and found in order show how honest prices spread at each
  reference level (their log gaps ``d = ln reference − ln declared unit value``, measured by the
  same check, symmetrised because an honest price is as often above its reference as below);
* declarations whose control found under-valuation say by how much: the revenue recovered on
  the declared value gives the log gap ``g = ln(1 + recovered / (declared × rate))``.

Per reference level ``L`` the honest gap is ``c_L + e`` with ``e`` a scale mixture
``(1 − ρ_L) N(0, (f_L s)²) + ρ_L N(0, (k_L f_L s)²)`` (``s`` the row's own reference spread);
an under-valued declaration is an honest price cut by one of the controls' gaps, so its gap is
``c_L + g + e`` with ``g`` drawn from the findings. Only the under-valued share ``π_L`` and the
centres are fitted on the batch (EM, shrunk towards the pooled share with
``PI_PRIOR_ROWS`` pseudo-rows); everything else comes from controls dated before the batch.

Each row gets its posterior probability ``p`` of being under-valued and its expected gain
``E[exp(g) − 1 | d, under-valued]``; ``p × declared × gain`` is its expected under-declared
value. Summed, a calibrated expectation: where the gap of one price cannot tell a shallow cut
from honest noise, ``p`` stays diffuse and the total is carried by many small contributions
(on honest rows too), while it still estimates the batch's total. A **risk indicator**, never
an assessed amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

POOLED = "*"
"""Key of the pooled honest shape and share, used by levels with too few controls."""
MIN_CLEAN = 100
"""Controlled-clean rows a level needs for its own honest shape."""
MIN_FINDINGS = 20
"""Valuation findings needed before their gaps replace the label-free fit."""
PI_PRIOR_ROWS = 500.0
MAX_GAP_POINTS = 25
MAX_GAP = 3.0
OUTLIER_FACTOR = 3.0
CENTRE_TRIM = 4.0
"""Rows further than this many honest spreads from a level's centre are left out of its mean."""
SEPARABLE = 1.5
"""A level fits its own under-valued share only when the findings' mean gap is at least this
many honest spreads (its typical row); at the other levels the prior share is set so that
their posteriors sum to the share pooled over the levels that do."""


MIN_RANDOM_CONTROLS = 300
"""Random controls needed before their under-valuation share anchors the totals."""


@dataclass(frozen=True)
class RandomControls:
    """Past controls of the **random control sample** (drawn uniformly, so free of the selection
    bias of targeted controls): how many items it inspected and how many of them were found
    under-valued. Their ratio is an unbiased estimate of the share of under-valued declarations
    (of those a control detects: a missed case counts as honest)."""

    inspected: int
    undervalued: int

    @property
    def share(self) -> float | None:
        """The under-valued share, or None below ``MIN_RANDOM_CONTROLS`` inspected items."""
        if self.inspected < MIN_RANDOM_CONTROLS:
            return None
        return self.undervalued / self.inspected


@dataclass(frozen=True)
class HonestShape:
    """Honest log gaps at one reference level: centre, spread factor on the row's own spread,
    share and factor of the wide (honest outlier) part."""

    centre: float
    spread: float
    outlier_share: float
    outlier_factor: float


@dataclass(frozen=True)
class ControlledMixture:
    """Per-level honest shapes (``honest``, with a ``POOLED`` entry), under-valued shares
    (``shares``, same keys), and the log gaps of past valuation findings (``gaps`` with their
    ``gap_weights``). ``clean_rows`` / ``findings``: how many controls calibrated it."""

    honest: dict[str, HonestShape]
    shares: dict[str, float]
    gaps: tuple[float, ...]
    gap_weights: tuple[float, ...]
    clean_rows: int
    findings: int
    window_spread: dict[str, float] | None = None
    """Per level, the robust spread (1.4826 × MAD) of ``d / s`` over *all* rows of the
    calibration window: the yardstick that moves the controls' spreads to a batch."""
    random: RandomControls | None = None
    """The random control sample, whose under-valued share anchors the levels where a single
    price cannot tell a typical cut from honest noise."""

    def describe(self) -> str:
        """What calibrated it, in words (for the totals' reader)."""
        share = self.random.share if self.random is not None else None
        anchor = (f"under-valued share {share:.1%} from {self.random.inspected:,} random controls"
                  if share is not None and self.random is not None
                  else "no random control sample (fewer than "
                  f"{MIN_RANDOM_CONTROLS} items): shares fitted on the prices")
        return (f"calibrated on {self.clean_rows:,} past controls found in order and {self.findings:,} "
                f"valuation findings; {anchor}")

    def _arrays(self, levels: np.ndarray) -> tuple[np.ndarray, ...]:
        keys = np.array([lv if lv in self.honest else POOLED for lv in levels], dtype=object)
        pooled_pi = self.shares.get(POOLED, 0.0)
        c = np.array([self.honest[k].centre for k in keys], dtype=np.float64)
        f = np.array([self.honest[k].spread for k in keys], dtype=np.float64)
        rho = np.array([self.honest[k].outlier_share for k in keys], dtype=np.float64)
        k_ = np.array([self.honest[k].outlier_factor for k in keys], dtype=np.float64)
        pi = np.array([self.shares.get(k, pooled_pi) for k in keys], dtype=np.float64)
        return c, f, rho, k_, pi

    def _densities(self, d: np.ndarray, s: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, ...]:
        """(log honest density, log density per gap point [rows × points], pi)."""
        c, f, rho, k, pi = self._arrays(levels)
        sd = f * s
        honest = _scale_mixture(d - c, sd, rho, k)
        gaps = np.asarray(self.gaps)[None, :]
        shifted = _scale_mixture((d - c)[:, None] - gaps, sd[:, None], rho[:, None], k[:, None])
        return honest, shifted + np.log(np.asarray(self.gap_weights))[None, :], pi

    def posterior_and_gain(
        self, d: np.ndarray, s: np.ndarray, levels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probability under-valued and expected ``exp(g) − 1`` if so, per row (d, s finite)."""
        if not self.gaps:
            return np.zeros_like(d), np.zeros_like(d)
        honest, shifted, pi = self._densities(d, s, levels)
        under = _logsumexp(shifted)
        log1 = under + np.log(np.maximum(pi, 1e-12))
        log0 = honest + np.log(np.maximum(1.0 - pi, 1e-12))
        p = np.exp(log1 - np.logaddexp(log0, log1))
        w = np.exp(shifted - under[:, None])
        gain = w @ np.expm1(np.asarray(self.gaps))
        return p, gain


def _scale_mixture(x: np.ndarray, sd: np.ndarray, rho: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Log density of ``(1 − rho) N(0, sd²) + rho N(0, (k sd)²)`` at ``x``."""
    core = -0.5 * (x / sd) ** 2 - np.log(sd) + np.log(np.maximum(1.0 - rho, 1e-12))
    wide = -0.5 * (x / (k * sd)) ** 2 - np.log(k * sd) + np.log(np.maximum(rho, 1e-12))
    return np.asarray(np.logaddexp(core, wide) - 0.5 * math.log(2 * math.pi))


def _prior_for_share(log_ratio: np.ndarray, share: float) -> float:
    """The prior share ``pi`` whose posteriors ``1 / (1 + exp(log_ratio) (1 − pi) / pi)`` average
    to ``share`` (``log_ratio`` = log honest − log under-valued density; bisection on the logit)."""
    low, high = -12.0, 0.0
    for _ in range(50):
        mid = 0.5 * (low + high)
        mean = float((1.0 / (1.0 + np.exp(np.clip(log_ratio - mid, -50, 50)))).mean())
        low, high = (mid, high) if mean < share else (low, mid)
    return float(1.0 / (1.0 + math.exp(-0.5 * (low + high))))


def _logsumexp(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1)
    return np.asarray(top + np.log(np.exp(a - top[:, None]).sum(axis=1)))


def fit_honest_shape(z: np.ndarray, iterations: int = 100) -> tuple[float, float, float]:
    """(spread, outlier share, outlier factor) of a symmetric normal scale mixture fitted by EM
    to standardised honest gaps ``z`` (symmetrised: ``z`` and ``−z``). The outlier factor is
    fixed at ``OUTLIER_FACTOR``: freed, a few thousand controls cannot tell a wide core from a
    narrow core with a heavy tail, and the tails are what decide a shallow cut."""
    a = np.abs(z[np.isfinite(z)])
    f = max(1.4826 * float(np.median(a)), 1e-3)
    k, rho = OUTLIER_FACTOR, 0.05
    for _ in range(iterations):
        core = -0.5 * (a / f) ** 2 - math.log(f) + math.log(1 - rho)
        wide = -0.5 * (a / (k * f)) ** 2 - math.log(k * f) + math.log(rho)
        r = 1.0 / (1.0 + np.exp(core - wide))
        q = 1.0 - r
        rho = float(np.clip(r.mean(), 1e-4, 0.5))
        f = max(math.sqrt(float((q * a * a).sum() / max(q.sum(), 1e-12))), 1e-3)
    return f, rho, k


def honest_shapes(d: np.ndarray, s: np.ndarray, levels: np.ndarray) -> dict[str, HonestShape]:
    """Honest shape per level (and ``POOLED``) from the log gaps of controlled-clean rows."""
    ok = np.isfinite(d) & np.isfinite(s) & (s > 0)
    out: dict[str, HonestShape] = {}
    groups = [(POOLED, ok)] + [(str(lv), ok & (levels == lv)) for lv in np.unique(levels[ok])]
    for name, mask in groups:
        if mask.sum() < MIN_CLEAN:
            continue
        centre = float(np.median(d[mask]))
        f, rho, k = fit_honest_shape((d[mask] - centre) / s[mask])
        out[name] = HonestShape(centre, f, rho, k)
    return out


def finding_gaps(findings: pl.DataFrame, vat_rate: float = 0.0) -> np.ndarray:
    """Log gaps ``ln(true / declared)`` of past valuation findings: ``ln(1 + recovered /
    (declared × (tax_rate + vat_rate) / 100))``. Needs ``customs_value``, ``tax_rate`` (percent)
    and ``revenue_recovered`` (national currency); rows without a positive amount are skipped."""
    if findings.is_empty():
        return np.zeros(0)
    rate = (findings["tax_rate"].cast(pl.Float64).fill_null(0.0) + vat_rate) / 100.0
    base = findings["customs_value"].cast(pl.Float64) * rate
    recovered = findings["revenue_recovered"].cast(pl.Float64)
    ratio = (recovered / base).to_numpy()
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
    return np.asarray(np.minimum(np.log1p(ratio), MAX_GAP))


def _gap_points(gaps: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Compress the findings' gaps to at most ``MAX_GAP_POINTS`` weighted points (quantile bins)."""
    if gaps.size <= MAX_GAP_POINTS:
        return tuple(float(g) for g in gaps), tuple([1.0 / gaps.size] * gaps.size)
    edges = np.quantile(gaps, np.linspace(0, 1, MAX_GAP_POINTS + 1))
    bins = np.clip(np.searchsorted(edges, gaps, side="right") - 1, 0, MAX_GAP_POINTS - 1)
    points, weights = [], []
    for b in range(MAX_GAP_POINTS):
        inside = gaps[bins == b]
        if inside.size:
            points.append(float(inside.mean()))
            weights.append(inside.size / gaps.size)
    return tuple(points), tuple(weights)


def calibrate_controls(
    d: np.ndarray, s: np.ndarray, levels: np.ndarray, clean: np.ndarray, gaps: np.ndarray,
    random: RandomControls | None = None,
) -> ControlledMixture | None:
    """Honest shapes from the controlled-clean rows (``clean``) of a checked window and the gap
    distribution of past findings, then the shares fitted on that window (anchored on the
    ``random`` control sample where prices cannot tell); None when there are fewer than
    ``MIN_CLEAN`` clean rows or ``MIN_FINDINGS`` gaps."""
    honest = honest_shapes(d[clean], s[clean], levels[clean])
    if POOLED not in honest or gaps.size < MIN_FINDINGS:
        return None
    points, weights = _gap_points(gaps)
    start = ControlledMixture(honest, {POOLED: 0.03}, points, weights, int(clean.sum()), int(gaps.size),
                              robust_spreads(d, s, levels), random)
    return fit_shares(start, d, s, levels)


def robust_spreads(d: np.ndarray, s: np.ndarray, levels: np.ndarray) -> dict[str, float]:
    """1.4826 × MAD of ``d / s`` per level (and ``POOLED``) over all rows: label-free, and barely
    moved by a few per cent of under-valued rows."""
    ok = np.isfinite(d) & np.isfinite(s) & (s > 0)
    out: dict[str, float] = {}
    groups = [(POOLED, ok)] + [(str(lv), ok & (levels == lv)) for lv in np.unique(levels[ok])]
    for name, mask in groups:
        if mask.sum() >= MIN_CLEAN:
            z = d[mask] / s[mask]
            out[name] = 1.4826 * float(np.median(np.abs(z - np.median(z))))
    return out


def fit_shares(
    mixture: ControlledMixture, d: np.ndarray, s: np.ndarray, levels: np.ndarray, iterations: int = 200
) -> ControlledMixture:
    """Refit on a batch the under-valued share per level (shrunk to the pooled share) and the
    honest centres (trimmed means of the gaps less their expected cut). The honest spreads keep
    the controls' shape, scaled per level by the ratio of the batch's robust spread to the
    calibration window's (``window_spread``); the gaps stay as learnt from findings. The
    returned mixture's ``window_spread`` is the batch's, so refitting it again is stable."""
    ok = np.isfinite(d) & np.isfinite(s) & (s > 0)
    d, s, levels = d[ok], s[ok], np.asarray(levels, dtype=object)[ok]
    if d.size == 0:
        return mixture
    names = sorted({str(lv) for lv in levels})
    honest = dict(mixture.honest)
    window = mixture.window_spread or {}
    batch = robust_spreads(d, s, levels)
    for name in names:  # each level's centre starts at its batch median
        key = name if name in honest else POOLED
        shape = honest[key]
        # the controls' spread, moved by how much wider the batch is than the calibration window
        # (market bands are built on data that include the window, so the window is tighter there)
        ratio = batch[name] / window[key] if name in batch and window.get(key) else 1.0
        honest[name] = HonestShape(float(np.median(d[levels == name])), shape.spread * ratio, shape.outlier_share,
                                   shape.outlier_factor)
    fit = ControlledMixture(honest, {POOLED: mixture.shares.get(POOLED, 0.03)}, mixture.gaps,
                            mixture.gap_weights, mixture.clean_rows, mixture.findings, batch, mixture.random)
    anchor = mixture.random.share if mixture.random is not None else None
    masks = {name: levels == name for name in names}
    mean_gap = float(np.dot(mixture.gaps, mixture.gap_weights))
    # levels where a typical cut stands out of the honest noise decide the share; elsewhere the
    # share of a single price's gap is barely identified, so those levels take the pooled share
    telling = {name for name, mask in masks.items()
               if mean_gap >= SEPARABLE * honest[name].spread * float(np.median(s[mask]))}
    told = np.isin(levels, list(telling))
    if told.sum() < MIN_CLEAN:  # no level tells: the random controls' share, else fit them all
        telling = set() if anchor is not None else set(names)
        told = np.isin(levels, list(telling))
    for _ in range(4):  # centres: trimmed means of the gaps less their expected cut
        honest0, shifted, _pi = fit._densities(d, s, levels)
        under = _logsumexp(shifted)
        expected_gap = np.exp(shifted - under[:, None]) @ np.asarray(mixture.gaps)
        shares = dict(fit.shares)
        for _ in range(iterations):
            pi = np.array([shares.get(str(lv), shares[POOLED]) for lv in levels])
            p = 1.0 / (1.0 + np.exp(honest0 + np.log(1 - pi) - under - np.log(np.maximum(pi, 1e-12))))
            pooled = float(np.clip(p[told].mean(), 1e-5, 0.5)) if told.any() else float(anchor or 0.0)
            new = {POOLED: pooled}
            for name, mask in masks.items():
                if name in telling:
                    new[name] = float(np.clip((p[mask].sum() + PI_PRIOR_ROWS * pooled)
                                              / (mask.sum() + PI_PRIOR_ROWS), 1e-5, 0.5))
                else:  # the unbiased random-sample share where known, else the telling levels'
                    new[name] = _prior_for_share(honest0[mask] - under[mask], pooled if anchor is None else anchor)
            done = max(abs(new[k] - shares.get(k, 0.0)) for k in new) < 1e-7
            shares = new
            if done:
                break
        for name, mask in masks.items():
            shape = honest[name]
            moved = d[mask] - p[mask] * expected_gap[mask]
            inside = np.abs(moved - shape.centre) < CENTRE_TRIM * shape.spread * s[mask]
            centre = float(moved[inside].mean()) if inside.any() else shape.centre
            honest[name] = HonestShape(centre, shape.spread, shape.outlier_share, shape.outlier_factor)
        fit = ControlledMixture(honest, shares, mixture.gaps, mixture.gap_weights, mixture.clean_rows,
                                mixture.findings, batch, mixture.random)
    return fit


__all__ = [
    "POOLED",
    "ControlledMixture",
    "HonestShape",
    "RandomControls",
    "calibrate_controls",
    "finding_gaps",
    "fit_honest_shape",
    "fit_shares",
    "honest_shapes",
]
