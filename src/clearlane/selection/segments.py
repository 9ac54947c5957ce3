"""Segment evidence from revealed outcomes: a Thompson-sampling bandit for exploration and a
recency-weighted segment signal for exploitation.

A **segment** is one value of one dimension: HS chapter, origin country, office, or importer
newness (an importer first seen less than ``new_importer_days`` days before the declaration).
Each revealed inspection (an outcome linked to the selection that caused it) adds to every
segment the declaration belongs to, weighted by recency ``w = 0.5 ** (age_weeks / half_life)``.
``p`` is the fraud probability the model gave the item **when it was selected**, recalibrated
per probability band (:func:`_recalibrated`), and ``v = max(p(1 − p), variance_floor)``:

* ``n`` = Σ w, ``frauds`` = Σ w·y, ``expected`` = Σ w·p, ``variance`` = Σ w·p(1 − p);
* ``information`` ``I`` = Σ w / v and ``surprise`` ``S`` = Σ w·(y − p) / v: each inspection
  counts with the inverse of its variance under the model, so a fraud on an item the model gave
  3 % is strong evidence and a fraud on an item it gave 50 % is weak. Under any selection rule
  that looks only at the declaration (top-k, uncertainty, random), ``y − p`` has mean zero when
  the model is right; a segment where it is persistently positive holds a pattern the model has
  not learned (a new scheme).

**Spike-and-slab posterior** of a segment's excess fraud rate θ: a priori θ = 0 (the model is
right there) except with probability ``scheme_share``, where θ ~ N(0, ``scheme_sd``²). With
``S ~ N(I·θ, I)`` the posterior scheme probability ``π'`` follows from the Bayes factor
``log B = −½ log(1 + I·sd²) + S²·sd² / (2(1 + I·sd²))`` and, given a scheme,
``θ ~ N(S / (I + 1/sd²), 1 / (I + 1/sd²))``. A new scheme is a rare, large effect: the spike
keeps untested segments at 0 while a few surprising frauds move ``π'`` close to 1.

* **Segment signal** (exploitation): ``lift = max(0, π'·E[θ | scheme])``, the posterior mean
  excess; an item gets the largest lift of its segments, added to its fraud probability. Once
  inspections reveal surprising frauds in a segment, the next selection follows them, before
  the model is retrained; as the model learns the pattern ``p`` rises, ``S`` falls and the lift
  fades.
* **Thompson exploration**: in each of ``draws`` joint draws every segment samples θ from its
  posterior and the largest wins; ``π_s`` = its share of wins. With probability ``π'`` the
  draw is from the slab; otherwise from the spike, which for exploration is the model's
  residual error in the segment, a priori N(0, ``null_sd``²), whose posterior
  N(S / (I + 1/null_sd²), 1 / (I + 1/null_sd²)) narrows with the segment's information: when
  no slab draw wins, the segments with the least recent evidence do (breadth). The draws use
  an optimistic prior share (:data:`EXPLORE_SCHEME_SHARE`) and the signal a strict one
  (:data:`SCHEME_SHARE`): a wrong exploration slot costs one inspection, a wrong lift many, so
  a suspicion is enough to explore a segment and only strong evidence moves exploitation.
  An item's exploration weight is ``Σ π_s / N_s`` over its segments (``N_s`` items of the
  segment in the group), so the exploration slots (drawn by the selector without replacement
  in proportion to the weights) are spread over the winning segments, uniformly inside each:
  over the least-known segments while none is suspicious (breadth), concentrated on a segment
  as soon as its evidence is (depth). Segments with fewer than ``min_items`` items or
  ``min_share`` of the group are not arms: a scheme there would be worth few inspections, and
  many tiny arms would dilute the exploration budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

SEGMENT_DIMENSIONS: tuple[str, ...] = ("hs_chapter", "origin_country", "office_id",
                                       "importer_newness")
"""Dimensions of the segments, in the order reasons quote them."""

_COLUMNS: tuple[str, ...] = ("segment", "n", "frauds", "expected", "variance", "information",
                             "surprise")
SCHEME_SHARE = 0.005
"""Prior probability that a segment hides a scheme (an excess fraud rate over the model), for
the segment signal: strict, because a lift moves exploitation slots (a false alarm costs many
inspections), so it needs strong evidence (about two frauds the model did not expect)."""
EXPLORE_SCHEME_SHARE = 0.1
"""The same prior for the exploration draws: optimistic, because a wrong exploration slot costs
one inspection, so a suspicion (frauds the model half expected) is enough to send a few."""
SCHEME_SD = 0.3
"""Prior standard deviation of a scheme's excess fraud rate."""
NULL_SD = 0.1
"""Prior standard deviation of the model's residual error in a segment without a scheme (the
spike's width, used by Thompson exploration only)."""

_LABELS = {"hs_chapter": "HS chapter", "origin_country": "origin", "office_id": "office",
           "importer_newness": "importers"}


def segment_labels(frame: pl.DataFrame, importer_first_seen: pl.DataFrame | None = None,
                   new_importer_days: int = 90) -> pl.DataFrame:
    """One string column per dimension (``seg_<dimension>``), same rows as ``frame``.

    ``importer_first_seen`` (``importer_id``, ``first_seen`` date) gives each importer's first
    declaration; without it the first date within ``frame`` is used. Missing values form their
    own segment (``?``)."""
    cols = frame.columns
    out = frame.select(
        (pl.col("hs_code").cast(pl.String).str.slice(0, 2) if "hs_code" in cols
         else pl.lit(None, pl.String)).fill_null("?").alias("seg_hs_chapter"),
        (pl.col("origin_country").cast(pl.String) if "origin_country" in cols
         else pl.lit(None, pl.String)).fill_null("?").alias("seg_origin_country"),
        (pl.col("office_id").cast(pl.String) if "office_id" in cols
         else pl.lit(None, pl.String)).fill_null("?").alias("seg_office_id"),
        (pl.col("importer_id").cast(pl.String) if "importer_id" in cols
         else pl.lit(None, pl.String)).alias("_importer"),
        pl.col("declared_at").cast(pl.Date).alias("_day"),
    )
    if importer_first_seen is None:
        first = out.group_by("_importer").agg(pl.col("_day").min().alias("_first"))
    else:
        first = importer_first_seen.select(pl.col("importer_id").cast(pl.String).alias("_importer"),
                                           pl.col("first_seen").cast(pl.Date).alias("_first"))
    out = out.join(first, on="_importer", how="left", maintain_order="left")
    age = (pl.col("_day") - pl.coalesce(pl.col("_first"), pl.col("_day"))).dt.total_days()
    newness = (pl.when(pl.col("_importer").is_null()).then(pl.lit("?"))
               .when(age < new_importer_days).then(pl.lit("new"))
               .otherwise(pl.lit("established")))
    return out.with_columns(newness.alias("seg_importer_newness")).select(
        [f"seg_{d}" for d in SEGMENT_DIMENSIONS])


@dataclass(frozen=True)
class SegmentEvidence:
    """Recency-weighted evidence per segment: ``dimension``, ``segment``, ``n``, ``frauds``,
    ``expected``, ``variance`` (see the module docstring) and the overall hit rate."""

    table: pl.DataFrame
    base_rate: float

    @classmethod
    def empty(cls, base_rate: float = 0.1) -> SegmentEvidence:
        schema = {"dimension": pl.String, "segment": pl.String,
                  **{c: pl.Float64 for c in _COLUMNS[1:]}}
        return cls(pl.DataFrame(schema=schema), base_rate)

    @classmethod
    def from_outcomes(cls, labels: pl.DataFrame, fraud: np.ndarray, probability: np.ndarray,
                      age_weeks: np.ndarray, half_life_weeks: float = 2.0,
                      variance_floor: float = 0.05) -> SegmentEvidence:
        """Evidence from revealed inspections: segment ``labels`` (from :func:`segment_labels`),
        outcome ``fraud`` (bool), the model ``probability`` when selected (rows with NaN are
        skipped: no model score, nothing to compare) and the age in weeks (>= 0)."""
        p = np.asarray(probability, dtype=float)
        keep = ~np.isnan(p)
        if not keep.any():
            return cls.empty()
        y = np.asarray(fraud, dtype=float)[keep]
        p = np.clip(p[keep], 0.0, 1.0)
        w = 0.5 ** (np.asarray(age_weeks, dtype=float)[keep] / half_life_weeks)
        p = _recalibrated(p, y, w)
        v = np.maximum(p * (1 - p), variance_floor)
        base = pl.DataFrame({"w": w, "wy": w * y, "wp": w * p, "wv": w * p * (1 - p),
                             "wi": w / v, "ws": w * (y - p) / v})
        rows = labels.filter(pl.Series(keep))
        parts = []
        for dim in SEGMENT_DIMENSIONS:
            parts.append(base.with_columns(rows[f"seg_{dim}"].alias("segment"))
                         .group_by("segment").agg(
                             pl.col("w").sum().alias("n"), pl.col("wy").sum().alias("frauds"),
                             pl.col("wp").sum().alias("expected"),
                             pl.col("wv").sum().alias("variance"),
                             pl.col("wi").sum().alias("information"),
                             pl.col("ws").sum().alias("surprise"))
                         .with_columns(pl.lit(dim).alias("dimension")))
        table = pl.concat(parts).select("dimension", *_COLUMNS)
        rate = float((w * y).sum() / w.sum()) if w.sum() > 0 else 0.1
        return cls(table, rate)

    def posterior(self, scheme_share: float = SCHEME_SHARE,
                  scheme_sd: float = SCHEME_SD) -> pl.DataFrame:
        """Per segment: ``scheme`` (posterior probability that the segment's excess fraud rate
        θ is not 0), ``mean`` and ``sd`` of θ given that it is not, and ``excess`` (the
        posterior mean of θ, ``scheme × mean``). See the module docstring."""
        info = pl.col("information")
        spread = 1.0 + info * scheme_sd**2
        log_odds = (np.log(scheme_share / (1.0 - scheme_share)) - 0.5 * spread.log()
                    + pl.col("surprise") ** 2 * scheme_sd**2 / (2.0 * spread))
        precision = info + 1.0 / scheme_sd**2
        return self.table.with_columns(
            (1.0 / (1.0 + (-log_odds.clip(-50.0, 50.0)).exp())).alias("scheme"),
            (pl.col("surprise") / precision).alias("mean"),
            (1.0 / precision.sqrt()).alias("sd"),
        ).with_columns((pl.col("scheme") * pl.col("mean")).alias("excess"))


def _recalibrated(p: np.ndarray, y: np.ndarray, w: np.ndarray, per_bin: int = 50,
                  most_bins: int = 10) -> np.ndarray:
    """``p`` scaled per probability band by the band's observed / predicted frauds (clipped to
    [0.5, 2]). A model trained on its own selections is rarely calibrated (typically too low
    at the top, where it inspects): a segment must stand out against inspections of similar
    predicted risk elsewhere, not against the model's miscalibration. Bands are quantiles of
    ``p`` with at least ``per_bin`` inspections each."""
    bins = int(max(1, min(most_bins, len(p) // per_bin)))
    edges = np.quantile(p, np.linspace(0.0, 1.0, bins + 1))[1:-1]
    band = np.searchsorted(edges, p, side="right")
    found = np.bincount(band, weights=w * y, minlength=bins)
    expected = np.bincount(band, weights=w * p, minlength=bins)
    scale = np.clip(found / np.maximum(expected, 1e-9), 0.5, 2.0)
    return np.clip(p * scale[band], 0.0, 1.0)


def _per_dimension(labels: pl.DataFrame, evidence: SegmentEvidence, dim: str,
                   scheme_share: float, scheme_sd: float) -> pl.DataFrame:
    wanted = (evidence.posterior(scheme_share, scheme_sd).filter(pl.col("dimension") == dim)
              .drop("dimension"))
    return labels.select(pl.col(f"seg_{dim}").alias("segment")).join(
        wanted, on="segment", how="left", maintain_order="left").with_columns(
        pl.col(*_COLUMNS[1:], "mean", "excess").fill_null(0.0),
        pl.col("scheme").fill_null(scheme_share), pl.col("sd").fill_null(scheme_sd))


def _describe(dim: str, segment: str, n: float, frauds: float, expected: float) -> str:
    name = (f"{segment} importers" if dim == "importer_newness"
            else f"{_LABELS[dim]} {segment}")
    return (f"segment {name}: {frauds:.1f} frauds in {n:.1f} recent (recency-weighted) "
            f"inspections where the model expected {expected:.1f}")


def segment_lift(labels: pl.DataFrame, evidence: SegmentEvidence, *,
                 scheme_share: float = SCHEME_SHARE, scheme_sd: float = SCHEME_SD,
                 ) -> tuple[np.ndarray, list[str | None]]:
    """Per row: the additive fraud-probability lift of its strongest segment (the posterior
    mean of the segment's excess fraud rate, 0 when not positive) and the text explaining it
    (None when the lift is 0)."""
    rows = labels.height
    best = np.zeros(rows)
    notes: list[str | None] = [None] * rows
    if evidence.table.height == 0:
        return best, notes
    for dim in SEGMENT_DIMENSIONS:
        part = _per_dimension(labels, evidence, dim, scheme_share, scheme_sd)
        lift = np.clip(part["excess"].to_numpy(), 0.0, 1.0)
        better = np.flatnonzero(lift > best)
        if len(better) == 0:
            continue
        best[better] = lift[better]
        segs = part["segment"].to_numpy()
        n = part["n"].to_numpy()
        frauds = part["frauds"].to_numpy()
        expected = part["expected"].to_numpy()
        for i in better.tolist():
            notes[i] = _describe(dim, str(segs[i]), float(n[i]), float(frauds[i]),
                                 float(expected[i])) + f" (probability +{lift[i]:.2f})"
    return best, notes


def thompson_exploration(labels: pl.DataFrame, evidence: SegmentEvidence,
                         rng: np.random.Generator, *, scheme_share: float = EXPLORE_SCHEME_SHARE,
                         scheme_sd: float = SCHEME_SD, null_sd: float = NULL_SD,
                         draws: int = 512, min_items: int = 5, min_share: float = 0.01,
                         ) -> tuple[np.ndarray, list[str | None]]:
    """Per row: the exploration weight (see the module docstring) and the text naming the
    segment that contributes most to it (None for rows of no arm)."""
    rows = labels.height
    weights = np.zeros(rows)
    notes: list[str | None] = [None] * rows
    if rows == 0:
        return weights, notes
    smallest = max(min_items, int(np.ceil(min_share * rows)))
    arms: list[tuple[str, str, float, float, float, float, float, float, float, float,
                     np.ndarray]] = []
    for dim in SEGMENT_DIMENSIONS:
        part = _per_dimension(labels, evidence, dim, scheme_share, scheme_sd)
        stats = (part.with_row_index("_i").group_by("segment").agg(
            pl.col("_i"), pl.col("n", "frauds", "expected", "scheme", "mean", "sd",
                                 "information", "surprise").first())
            .sort("segment"))
        for seg, idx, n, frauds, expected, scheme, mean, sd, info, surprise in stats.iter_rows():
            members = np.asarray(idx, dtype=np.int64)
            if len(members) >= smallest:
                arms.append((dim, str(seg), float(n), float(frauds), float(expected),
                             float(scheme), float(mean), float(sd), float(info),
                             float(surprise), members))
    if not arms:
        return np.ones(rows), notes
    scheme = np.array([a[5] for a in arms])
    mean = np.array([a[6] for a in arms])
    sd = np.array([a[7] for a in arms])
    shape = (draws, len(arms))
    # spike and slab: in the spike the model is right up to its residual error in the segment,
    # θ ~ N(0, null_sd²) a priori, whose posterior narrows with the segment's information; so
    # when no arm draws a scheme, the arms the strategy knows least about win (breadth where
    # evidence is missing), and an arm drawing from its slab beats them all (depth)
    null = _null_posterior(np.array([a[8] for a in arms]), np.array([a[9] for a in arms]),
                           null_sd)
    slab = rng.random(shape) < scheme
    noise = rng.standard_normal(shape)
    sample = np.where(slab, mean + sd * noise, null[0] + null[1] * noise)
    sample += 1e-9 * rng.random(shape)
    wins = np.bincount(np.argmax(sample, axis=1), minlength=len(arms)) / draws
    top = np.zeros(rows)
    for (dim, seg, n, frauds, expected, *_, members), share in zip(arms, wins, strict=True):
        if share <= 0:
            continue
        per_item = share / len(members)
        weights[members] += per_item
        for i in members[per_item > top[members]].tolist():
            notes[i] = (_describe(dim, seg, n, frauds, expected)
                        + f"; drawn by the segment bandit in {share:.0%} of draws")
        top[members] = np.maximum(top[members], per_item)
    return weights, notes


def _null_posterior(information: np.ndarray, surprise: np.ndarray, null_sd: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of θ in the spike (no scheme: the model's residual error in
    the segment, a priori N(0, ``null_sd``²)); a zero ``null_sd`` is the exact spike θ = 0."""
    if null_sd <= 0:
        return np.zeros_like(information), np.zeros_like(information)
    precision = information + 1.0 / null_sd**2
    return surprise / precision, 1.0 / np.sqrt(precision)


def age_in_weeks(days: np.ndarray, today: date) -> np.ndarray:
    """Whole weeks between each ``datetime64[D]`` day and ``today`` (>= 0)."""
    delta = (np.datetime64(today) - days.astype("datetime64[D]")).astype("timedelta64[D]")
    return np.clip(delta.astype(int) // 7, 0, None)
