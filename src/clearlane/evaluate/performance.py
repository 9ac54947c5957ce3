"""Honest measurement of selection: hit rate and revenue by lane and by selection reason, the
overall fraud rate estimated from the random control sample, and drift over time.

Only the random control sample estimates the fraud rate of **all** declarations: every other
lane is chosen for being risky, so its hit rate overstates the population rate. The interval is
Wilson's score interval (95 % by default).

Drift is the population stability index (PSI) of each column per period against the first
period: ``PSI = Σ (a − e) · ln(a / e)`` over ten quantile bins of the reference period, with
shares floored at 1e-4. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 large shift.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl


@dataclass(frozen=True)
class RateEstimate:
    """Share of frauds in a sample with a two-sided confidence interval."""

    n: int
    frauds: int
    rate: float | None
    low: float | None
    high: float | None
    confidence: float = 0.95


def wilson_interval(frauds: int, n: int, confidence: float = 0.95) -> RateEstimate:
    """Wilson score interval of a binomial proportion (valid for small samples and rare events).

    >>> est = wilson_interval(3, 120)
    >>> est.rate, round(est.low, 4), round(est.high, 4)
    (0.025, 0.0085, 0.0709)
    >>> wilson_interval(0, 0).rate is None
    True
    """
    if n <= 0:
        return RateEstimate(0, 0, None, None, None, confidence)
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = frauds / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return RateEstimate(n, frauds, p, max(0.0, centre - half), min(1.0, centre + half),
                        confidence)


def _outcome_columns(decisions: pl.DataFrame) -> pl.DataFrame:
    frame = decisions
    for name, dtype in (("fraud", pl.Boolean), ("revenue_recovered", pl.Float64)):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(name))
    return frame.with_columns(pl.col("fraud").is_not_null().alias("has_outcome"))


def performance_by(decisions: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per ``lane`` or ``basis``: selected items, inspected (with an outcome), frauds, hit rate
    (frauds / inspected), revenue recovered and revenue per inspection (national currency)."""
    frame = _outcome_columns(decisions)
    return (
        frame.group_by(by)
        .agg(
            pl.len().alias("selected"),
            pl.col("has_outcome").sum().cast(pl.Int64).alias("inspected"),
            pl.col("fraud").fill_null(False).sum().cast(pl.Int64).alias("frauds"),
            pl.col("revenue_recovered").fill_null(0.0).sum().alias("revenue"),
        )
        .with_columns(
            pl.when(pl.col("inspected") > 0).then(pl.col("frauds") / pl.col("inspected"))
            .otherwise(None).alias("hit_rate"),
            pl.when(pl.col("inspected") > 0).then(pl.col("revenue") / pl.col("inspected"))
            .otherwise(None).alias("revenue_per_inspection"),
        )
        .sort(by)
    )


def with_intervals(table: pl.DataFrame, confidence: float = 0.95) -> pl.DataFrame:
    """``table`` (with ``frauds`` and ``inspected``) and the Wilson interval of its hit rate,
    ``hit_rate_low`` / ``hit_rate_high`` (null where nothing was inspected)."""
    bounds = [wilson_interval(int(f), int(n), confidence)
              for f, n in zip(table["frauds"], table["inspected"], strict=True)]
    return table.with_columns(pl.Series("hit_rate_low", [b.low for b in bounds], pl.Float64),
                              pl.Series("hit_rate_high", [b.high for b in bounds], pl.Float64))


def performance_over_time(decisions: pl.DataFrame, every: str = "1mo",
                          by: str = "basis") -> pl.DataFrame:
    """Per period (``every``, a polars duration, on ``declared_at``) and ``by``: inspected
    items (with an outcome), frauds, hit rate and revenue recovered (national currency)."""
    frame = _outcome_columns(decisions).filter(pl.col("has_outcome"))
    return (
        frame.with_columns(pl.col("declared_at").cast(pl.Date).dt.truncate(every).alias("period"))
        .group_by("period", by)
        .agg(pl.len().alias("inspected"),
             pl.col("fraud").fill_null(False).sum().cast(pl.Int64).alias("frauds"),
             pl.col("revenue_recovered").fill_null(0.0).sum().alias("revenue"))
        .with_columns((pl.col("frauds") / pl.col("inspected")).alias("hit_rate"))
        .sort("period", by)
    )


def random_sample_estimate(decisions: pl.DataFrame, confidence: float = 0.95) -> RateEstimate:
    """Fraud rate of all declarations, from the random control items that have an outcome."""
    frame = _outcome_columns(decisions).filter(pl.col("random_control") & pl.col("has_outcome"))
    return wilson_interval(int(frame["fraud"].sum() or 0), frame.height, confidence)


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float | None:
    """Population stability index of ``current`` against ``reference`` (None if either empty).

    0 when the distribution is unchanged; above about 0.25 is usually read as a real shift.

    >>> reference = np.arange(1_000.0)
    >>> psi(reference, reference)
    0.0
    >>> psi(reference, reference + 500.0) > 0.25
    True
    """
    ref = reference[np.isfinite(reference)]
    cur = current[np.isfinite(current)]
    if len(ref) == 0 or len(cur) == 0:
        return None
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    e_share = np.maximum(e / e.sum(), 1e-4)
    a_share = np.maximum(a / a.sum(), 1e-4)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def drift(frame: pl.DataFrame, columns: list[str], every: str = "1mo",
          date_column: str = "declared_at") -> pl.DataFrame:
    """PSI of each column per period (``every``: a polars duration) against the first period.

    Numeric columns are used as they are (money columns on a log scale, ``log1p``)."""
    present = [c for c in columns if c in frame.columns]
    if frame.height == 0 or not present:
        return pl.DataFrame(schema={"period": pl.Date, "rows": pl.Int64,
                                    **{c: pl.Float64 for c in present}})
    data = frame.select(
        pl.col(date_column).cast(pl.Date).dt.truncate(every).alias("period"),
        *[pl.col(c).cast(pl.Float64, strict=False) for c in present],
    ).sort("period")
    periods = data["period"].unique().sort().to_list()
    reference = data.filter(pl.col("period") == periods[0])
    rows: list[dict[str, Any]] = []
    for period in periods:
        part = data.filter(pl.col("period") == period)
        row: dict[str, Any] = {"period": period, "rows": part.height}
        for c in present:
            transform = np.log1p if c in _MONEY else (lambda x: x)
            ref = transform(np.clip(reference[c].to_numpy().astype(float), 0, None)
                            if c in _MONEY else reference[c].to_numpy().astype(float))
            cur = transform(np.clip(part[c].to_numpy().astype(float), 0, None)
                            if c in _MONEY else part[c].to_numpy().astype(float))
            row[c] = psi(ref, cur)
        rows.append(row)
    return pl.DataFrame(rows, schema={"period": pl.Date, "rows": pl.Int64,
                                      **{c: pl.Float64 for c in present}})


_MONEY = {"customs_value", "expected_revenue", "taxes_paid", "fob_value", "net_mass_kg",
          "gross_mass_kg", "quantity"}


@dataclass(frozen=True)
class PerformanceReport:
    """Everything ``clearlane report performance`` shows."""

    by_lane: pl.DataFrame
    by_basis: pl.DataFrame
    fraud_rate: RateEstimate
    drift: pl.DataFrame
    selections: int
    overrides: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    over_time: pl.DataFrame | None = None
    """Per period and selection basis: inspected, frauds, hit rate, revenue (see
    :func:`performance_over_time`)."""

    def to_html(self, title: str = "Clearlane — selection performance") -> str:
        """A self-contained HTML page (no external assets)."""
        fr = self.fraud_rate
        if fr.rate is None:
            estimate = "No random control item has an outcome yet: the fraud rate is unknown."
        else:
            estimate = (f"{fr.rate:.2%} (95 % interval {fr.low:.2%} – {fr.high:.2%}) from "
                        f"{fr.n} random control inspections with {fr.frauds} frauds.")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;"
            "margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
            "th{background:#f3f3f3}td:first-child{text-align:left}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>"
            f"<p>{self.selections} selection run(s), {self.overrides} officer override(s).</p>"
            f"<h2>Overall fraud rate (random control sample)</h2><p>{html.escape(estimate)}</p>"
            f"<h2>By lane</h2>{frame_to_html(self.by_lane)}"
            f"<h2>By selection reason</h2>{frame_to_html(self.by_basis)}"
            "<h2>Drift (PSI against the first period)</h2>"
            "<p>&lt; 0.1 stable, 0.1–0.25 moderate, &gt; 0.25 large shift.</p>"
            f"{frame_to_html(self.drift)}"
            + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "")
            + "</body></html>"
        )


def frame_to_html(frame: pl.DataFrame) -> str:
    """A small HTML table of a polars frame (floats to 4 significant digits)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = []
        for value in row:
            text = f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"
