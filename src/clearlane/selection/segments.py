"""Segment evidence from revealed outcomes: a Thompson-sampling bandit for exploration and a
recency-weighted segment signal for exploitation.

A **segment** is one value of one dimension: HS chapter, origin country, office, or importer
newness (an importer first seen less than ``new_importer_days`` days before the declaration).
Each revealed inspection (an outcome linked to the selection that caused it) adds to every
segment the declaration belongs to, weighted by recency ``w = 0.5 ** (age_weeks / half_life)``:

* ``n`` = Σ w (inspections), ``frauds`` = Σ w·y, ``expected`` = c·Σ w·p (``p`` the fraud
  probability the model gave the item **when it was selected**), ``variance`` = c·Σ w·p·(1 − p),
  where ``c = Σ w·y / Σ w·p`` over all the evidence (clipped to [0.5, 2]) removes the model's
  overall miscalibration, so that a segment stands out against the others, not against a
  model that is merely too low everywhere.

The **excess** ``R = frauds − expected`` is what the model missed in the segment. Because the
model's probability is conditional on the item's features, ``y − p`` has mean zero under any
selection rule that looks only at features (top-k, uncertainty, random) when the model is right;
a segment where it is persistently positive holds a pattern the model has not learned yet (a
new scheme) — whoever selected the inspections.

* **Segment signal** (exploitation): ``lift = max(0, R − z·√variance) / (n + strength)``, the
  shrunk, significance-discounted excess rate; an item gets the largest lift of its segments,
  added to its fraud probability. Once a few inspections reveal frauds in a segment, the next
  selection follows them, before the model is retrained; as the model learns the pattern ``p``
  rises, ``R`` falls and the lift fades.
* **Thompson exploration**: each segment's excess rate has the posterior
  ``N(R / (n + strength), σ² / (n + strength))`` with ``σ² = r̄(1 − r̄)`` (``r̄`` the overall
  recent hit rate). For ``draws`` joint draws the segment with the largest sampled excess wins;
  ``π_s`` = its share of wins. An item's exploration weight is ``Σ π_s / N_s`` over its
  segments (``N_s`` items of the segment in the group), so the exploration slots (drawn by the
  selector without replacement in proportion to the weights) are spread over the winning
  segments, uniformly inside each. Segments the model already inspects a lot have narrow
  posteriors near 0 and rarely win: exploration is spent where the model is blind
  (uncertainty) and where a pull has the most to gain (the sampled excess hit rate, the
  potential). Segments with fewer than ``min_items`` items or ``min_share`` of the group are not
  arms: a scheme there would be worth few inspections, and many tiny arms would dilute the
  exploration budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

SEGMENT_DIMENSIONS: tuple[str, ...] = ("hs_chapter", "origin_country", "office_id",
                                       "importer_newness")
"""Dimensions of the segments, in the order reasons quote them."""

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
        return cls(pl.DataFrame(schema={"dimension": pl.String, "segment": pl.String,
                                        "n": pl.Float64, "frauds": pl.Float64,
                                        "expected": pl.Float64, "variance": pl.Float64}),
                   base_rate)

    @classmethod
    def from_outcomes(cls, labels: pl.DataFrame, fraud: np.ndarray, probability: np.ndarray,
                      age_weeks: np.ndarray, half_life_weeks: float = 2.0) -> SegmentEvidence:
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
        base = pl.DataFrame({"w": w, "wy": w * y, "wp": w * p, "wv": w * p * (1 - p)})
        rows = labels.filter(pl.Series(keep))
        parts = []
        for dim in SEGMENT_DIMENSIONS:
            parts.append(base.with_columns(rows[f"seg_{dim}"].alias("segment"))
                         .group_by("segment").agg(
                             pl.col("w").sum().alias("n"), pl.col("wy").sum().alias("frauds"),
                             pl.col("wp").sum().alias("expected"),
                             pl.col("wv").sum().alias("variance"))
                         .with_columns(pl.lit(dim).alias("dimension")))
        # remove the model's overall miscalibration (a model trained on its own selections is
        # rarely calibrated): a segment stands out only against the others
        scale = float(np.clip((w * y).sum() / max((w * p).sum(), 1e-9), 0.5, 2.0))
        table = pl.concat(parts).select(
            "dimension", "segment", "n", "frauds", pl.col("expected") * scale,
            pl.col("variance") * scale)
        rate = float((w * y).sum() / w.sum()) if w.sum() > 0 else 0.1
        return cls(table, rate)


def _per_dimension(labels: pl.DataFrame, evidence: SegmentEvidence, dim: str) -> pl.DataFrame:
    wanted = evidence.table.filter(pl.col("dimension") == dim).drop("dimension")
    return labels.select(pl.col(f"seg_{dim}").alias("segment")).join(
        wanted, on="segment", how="left", maintain_order="left").with_columns(
        pl.col("n", "frauds", "expected", "variance").fill_null(0.0))


def _describe(dim: str, segment: str, n: float, frauds: float, expected: float) -> str:
    name = (f"{segment} importers" if dim == "importer_newness"
            else f"{_LABELS[dim]} {segment}")
    return (f"segment {name}: {frauds:.1f} frauds in {n:.1f} recent (recency-weighted) "
            f"inspections where the model expected {expected:.1f}")


def segment_lift(labels: pl.DataFrame, evidence: SegmentEvidence, *, strength: float = 5.0,
                 z: float = 1.0) -> tuple[np.ndarray, list[str | None]]:
    """Per row: the additive fraud-probability lift of its strongest segment (0 when none has
    a significant excess) and the text explaining it (None when the lift is 0)."""
    rows = labels.height
    best = np.zeros(rows)
    notes: list[str | None] = [None] * rows
    if evidence.table.height == 0:
        return best, notes
    for dim in SEGMENT_DIMENSIONS:
        part = _per_dimension(labels, evidence, dim)
        n = part["n"].to_numpy()
        excess = part["frauds"].to_numpy() - part["expected"].to_numpy()
        lift = np.clip(excess - z * np.sqrt(part["variance"].to_numpy()), 0.0, None) / (
            n + strength)
        better = np.flatnonzero(lift > best)
        if len(better) == 0:
            continue
        best[better] = lift[better]
        segs = part["segment"].to_numpy()
        frauds = part["frauds"].to_numpy()
        expected = part["expected"].to_numpy()
        for i in better.tolist():
            notes[i] = _describe(dim, str(segs[i]), float(n[i]), float(frauds[i]),
                                 float(expected[i])) + f" (probability +{lift[i]:.2f})"
    return best, notes


def thompson_exploration(labels: pl.DataFrame, evidence: SegmentEvidence,
                         rng: np.random.Generator, *, strength: float = 5.0, draws: int = 512,
                         min_items: int = 5, min_share: float = 0.01,
                         ) -> tuple[np.ndarray, list[str | None]]:
    """Per row: the exploration weight (see the module docstring) and the text naming the
    segment that contributes most to it (None for rows of no arm)."""
    rows = labels.height
    weights = np.zeros(rows)
    notes: list[str | None] = [None] * rows
    if rows == 0:
        return weights, notes
    smallest = max(min_items, int(np.ceil(min_share * rows)))
    rate = min(max(evidence.base_rate, 0.01), 0.5)
    sigma2 = rate * (1 - rate)
    arms: list[tuple[str, str, float, float, float, float, np.ndarray]] = []
    for dim in SEGMENT_DIMENSIONS:
        part = _per_dimension(labels, evidence, dim)
        stats = (part.with_row_index("_i").group_by("segment").agg(
            pl.col("_i"), pl.col("n").first(), pl.col("frauds").first(),
            pl.col("expected").first()).sort("segment"))
        for seg, idx, n, frauds, expected in stats.iter_rows():
            members = np.asarray(idx, dtype=np.int64)
            if len(members) >= smallest:
                arms.append((dim, str(seg), float(n), float(frauds), float(expected),
                             float(len(members)), members))
    if not arms:
        return np.ones(rows), notes
    n_arr = np.array([a[2] for a in arms])
    mean = (np.array([a[3] for a in arms]) - np.array([a[4] for a in arms])) / (n_arr + strength)
    sd = np.sqrt(sigma2 / (n_arr + strength))
    sample = mean + sd * rng.standard_normal((draws, len(arms)))
    wins = np.bincount(np.argmax(sample, axis=1), minlength=len(arms)) / draws
    top = np.zeros(rows)
    for (dim, seg, n, frauds, expected, size, members), share in zip(arms, wins, strict=True):
        if share <= 0:
            continue
        per_item = share / size
        weights[members] += per_item
        for i in members[per_item > top[members]].tolist():
            notes[i] = (_describe(dim, seg, n, frauds, expected)
                        + f"; drawn by the segment bandit in {share:.0%} of draws")
        top[members] = np.maximum(top[members], per_item)
    return weights, notes


def age_in_weeks(days: np.ndarray, today: date) -> np.ndarray:
    """Whole weeks between each ``datetime64[D]`` day and ``today`` (>= 0)."""
    delta = (np.datetime64(today) - days.astype("datetime64[D]")).astype("timedelta64[D]")
    return np.clip(delta.astype(int) // 7, 0, None)
