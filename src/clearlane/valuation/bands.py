"""Reference value bands: robust unit-value statistics per HS × origin × period.

For each basis (per kg, per supplementary unit), each level of the hierarchy
(``hs6_origin`` → ``hs6`` → ``hs4`` → ``hs2``) and each period, the natural log of the unit
value is summarised robustly:

1. centre = median, spread = ``1.4826 × MAD`` (median absolute deviation; equals the standard
   deviation for log-normal unit values), floored at ``min_scale`` so a cell of identical prices
   does not flag a 1 % difference;
2. **trimming**: values further than ``trim_k`` spreads from the median are dropped (extreme
   outliers, data-entry errors, the grossest under-valuations);
3. on the trimmed values: median, the ``lower_q``/``upper_q`` quantiles (the *band*), the
   quartiles and the trimmed range (min, max). ``n`` is the cell size before trimming,
   ``n_trimmed`` after.

Bands describe *accepted history*. They are a **risk indicator**, never a correct or minimum
value: the customs value is set by the valuation rules (transaction value first).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from clearlane.errors import NotFoundError, ValidationError
from clearlane.valuation.conversion import ExchangeRates, UnitTable
from clearlane.valuation.unit_values import (
    ANY_ORIGIN,
    BASES,
    PERIODS,
    period_label,
    unit_values,
)

LEVELS: tuple[str, ...] = ("hs6_origin", "hs6", "hs4", "hs2")
"""Back-off order, most specific first."""
LEVEL_HS_COLUMN = {"hs6_origin": "hs6", "hs6": "hs6", "hs4": "hs4", "hs2": "hs2"}
FORMAT_VERSION = 1
MAD_TO_SIGMA = 1.4826

BAND_SCHEMA: dict[str, Any] = {
    "basis": pl.String,
    "unit": pl.String,
    "level": pl.String,
    "hs": pl.String,
    "origin": pl.String,
    "period_start": pl.Date,
    "period": pl.String,
    "n": pl.UInt32,
    "n_trimmed": pl.UInt32,
    "median": pl.Float64,
    "scale": pl.Float64,
    "low": pl.Float64,
    "q25": pl.Float64,
    "q75": pl.Float64,
    "high": pl.Float64,
    "trim_min": pl.Float64,
    "trim_max": pl.Float64,
}
"""Columns of a band table. Money columns are in the band currency per unit (kg or the
canonical supplementary unit); ``scale`` is the robust spread of the **log** unit value."""

ProgressCallback = Callable[[float, float | None], None]


@dataclass(frozen=True)
class BandConfig:
    """How bands are built.

    ``period``: ``month``, ``quarter``, ``year`` or ``all`` (one band over the whole window).
    ``currency``: band currency (None = national currency). ``min_count``: smallest trimmed
    cell size a check may use before backing off to the next level. ``lower_q``/``upper_q``:
    the band's quantiles. ``trim_k``: trimming distance in robust spreads. ``min_scale``:
    floor of the log spread (0.05 ≈ ±5 %). ``shrinkage``: at check time, an HS6 × origin centre
    is pulled towards the HS6 centre with weight ``n / (n + shrinkage)`` (0 = off).
    """

    period: str = "quarter"
    currency: str | None = None
    min_count: int = 20
    lower_q: float = 0.05
    upper_q: float = 0.95
    trim_k: float = 4.0
    min_scale: float = 0.05
    shrinkage: float = 50.0

    def validate(self) -> BandConfig:
        if self.period not in PERIODS:
            raise ValidationError(f"period {self.period!r} is not valid; use one of {list(PERIODS)}")
        if not 0.0 <= self.lower_q < 0.5 < self.upper_q <= 1.0:
            raise ValidationError(
                f"band quantiles ({self.lower_q}, {self.upper_q}) are not valid; "
                "need 0 <= lower < 0.5 < upper <= 1"
            )
        if self.min_count < 1:
            raise ValidationError(f"min_count {self.min_count} is not valid; must be >= 1")
        if not self.trim_k > 0 or not self.min_scale > 0:
            raise ValidationError("trim_k and min_scale must be > 0")
        return self


@dataclass(frozen=True)
class BandMeta:
    """Provenance of a band set: its version and the data window it was built from."""

    version: str
    created_at: str
    window_start: str | None
    window_end: str | None
    declarations: int
    currency: str
    national_currency: str
    config: dict[str, Any]
    content_hash: str
    source: str = "built"
    format_version: int = FORMAT_VERSION
    notes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> BandMeta:
        data = json.loads(text)
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise ValidationError(
                f"band file format {data.get('format_version')} is newer than this Clearlane "
                f"reads ({FORMAT_VERSION}); upgrade Clearlane"
            )
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class ValueBands:
    """A versioned set of reference value bands (``table``, see :data:`BAND_SCHEMA`)."""

    table: pl.DataFrame
    meta: BandMeta

    @property
    def config(self) -> BandConfig:
        known = set(BandConfig.__dataclass_fields__)
        return BandConfig(**{k: v for k, v in self.meta.config.items() if k in known})

    def usable(self) -> pl.DataFrame:
        """Cells a check may use (``n_trimmed >= min_count``)."""
        return self.table.filter(pl.col("n_trimmed") >= self.config.min_count)

    def with_version(self, version: str, source: str | None = None) -> ValueBands:
        """The same bands under another version id (e.g. when imported into a workspace)."""
        meta = BandMeta(**{**asdict(self.meta), "version": version, "source": source or self.meta.source})
        return ValueBands(self.table, meta)

    # -- files -----------------------------------------------------------------------------
    def write(self, path: Path | str) -> Path:
        """Write to ``.parquet`` (metadata in the file's key-value metadata) or ``.csv``
        (metadata in a leading ``# clearlane-value-bands: {json}`` comment line)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            self.table.write_parquet(path, metadata={"clearlane-value-bands": self.meta.to_json()})
        elif suffix == ".csv":
            with path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(f"# clearlane-value-bands: {self.meta.to_json()}\n")
                handle.write(self.table.write_csv(float_precision=None))
        else:
            raise ValidationError(f"band file {str(path)!r}: use a .parquet or .csv file name")
        return path

    @classmethod
    def read(cls, path: Path | str) -> ValueBands:
        """Read a band file written by :meth:`write` (by this or another administration)."""
        path = Path(path)
        if not path.exists():
            raise NotFoundError(f"band file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            meta_text = pl.read_parquet_metadata(path).get("clearlane-value-bands")
            table = pl.read_parquet(path)
        elif suffix == ".csv":
            with path.open(encoding="utf-8") as handle:
                first = handle.readline()
            prefix = "# clearlane-value-bands: "
            meta_text = first[len(prefix):] if first.startswith(prefix) else None
            table = pl.read_csv(path, comment_prefix="#", schema_overrides={"hs": pl.String})
        else:
            raise ValidationError(f"band file {str(path)!r}: expected a .parquet or .csv file")
        if not meta_text:
            raise ValidationError(
                f"band file {str(path)!r} has no clearlane-value-bands metadata; "
                "it was not written by `clearlane valuation export`"
            )
        missing = [c for c in BAND_SCHEMA if c not in table.columns]
        if missing:
            raise ValidationError(f"band file {str(path)!r} lacks column(s) {missing}")
        table = table.select(
            [
                pl.col(c).cast(pl.String).str.to_date() if t == pl.Date and table.schema[c] == pl.String
                else pl.col(c).cast(t)
                for c, t in BAND_SCHEMA.items()
            ]
        )
        meta = BandMeta.from_json(meta_text)
        if _content_hash(table) != meta.content_hash:
            raise ValidationError(
                f"band file {str(path)!r}: content does not match its recorded hash "
                f"{meta.content_hash}; the file was edited or truncated"
            )
        return cls(table, meta)


def build_bands(
    frame: pl.DataFrame,
    *,
    config: BandConfig | None = None,
    rates: ExchangeRates | None = None,
    national_currency: str = "XOF",
    units: UnitTable | None = None,
    version: str = "draft",
    progress: ProgressCallback | None = None,
) -> ValueBands:
    """Build reference value bands from accepted declarations (a canonical frame).

    Uses every row of ``frame``; the data window recorded is its min/max ``declared_at``.
    Values are converted to ``config.currency`` with ``rates`` at each declaration's date.
    """
    config = (config or BandConfig()).validate()
    rates = rates or ExchangeRates.identity(national_currency)
    currency = config.currency or rates.national_currency
    long = unit_values(frame, rates=rates, currency=currency, period=config.period, units=units)
    tables: list[pl.DataFrame] = []
    for i, level in enumerate(LEVELS):
        tables.append(_level_stats(long, level, config))
        if progress is not None:
            progress(float(i + 1), float(len(LEVELS)))
    table = (
        pl.concat(tables, how="vertical")
        .with_columns(period_label(pl.col("period_start"), config.period).alias("period"))
        .select([pl.col(c).cast(t) for c, t in BAND_SCHEMA.items()])
        .sort("basis", "level", "hs", "origin", "unit", "period_start")
    )
    dates = frame.select(pl.col("declared_at").min().alias("a"), pl.col("declared_at").max().alias("b"))
    meta = BandMeta(
        version=version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        window_start=_iso(dates["a"][0]),
        window_end=_iso(dates["b"][0]),
        declarations=frame.height,
        currency=currency,
        national_currency=rates.national_currency,
        config=asdict(config) | {"currency": currency},
        content_hash=_content_hash(table),
    )
    return ValueBands(table, meta)


def robust_band(values: list[float], config: BandConfig | None = None) -> dict[str, float]:
    """The band statistics of one cell of positive unit values (same maths as the table).

    Convenient for tests and for explaining a band: returns median, low, high, scale,
    trim_min, trim_max and counts.
    """
    config = (config or BandConfig()).validate()
    frame = pl.DataFrame({"log_uv": values}, schema={"log_uv": pl.Float64}).with_columns(
        pl.col("log_uv").log(),
        pl.lit("kg").alias("basis"), pl.lit("KGM").alias("unit"), pl.lit("000000").alias("hs6"),
        pl.lit("??").alias("origin"), pl.lit(date(1970, 1, 1)).alias("period_start"),
    )
    row = _level_stats(frame, "hs6_origin", config).row(0, named=True)
    return {k: row[k] for k in ("n", "n_trimmed", "median", "scale", "low", "high", "trim_min", "trim_max")}


def _level_stats(long: pl.DataFrame, level: str, config: BandConfig) -> pl.DataFrame:
    hs_col = LEVEL_HS_COLUMN[level]
    origin = pl.col("origin") if level == "hs6_origin" else pl.lit(ANY_ORIGIN)
    keys = ["basis", "unit", "hs", "origin", "period_start"]
    lu = pl.col("log_uv")
    return (
        long.lazy()
        .select("basis", "unit", pl.col(hs_col).alias("hs"), origin.alias("origin"), "period_start", "log_uv")
        .with_columns(lu.median().over(keys).alias("_med"), pl.len().over(keys).alias("_n"))
        .with_columns((lu - pl.col("_med")).abs().alias("_dev"))
        .with_columns(
            pl.max_horizontal(MAD_TO_SIGMA * pl.col("_dev").median().over(keys), pl.lit(config.min_scale))
            .alias("_scale")
        )
        .filter(pl.col("_dev") <= config.trim_k * pl.col("_scale"))
        .group_by(keys)
        .agg(
            pl.lit(level).alias("level"),
            pl.col("_n").first().alias("n"),
            pl.len().alias("n_trimmed"),
            lu.median().exp().alias("median"),
            pl.col("_scale").first().alias("scale"),
            lu.quantile(config.lower_q, "linear").exp().alias("low"),
            lu.quantile(0.25, "linear").exp().alias("q25"),
            lu.quantile(0.75, "linear").exp().alias("q75"),
            lu.quantile(config.upper_q, "linear").exp().alias("high"),
            lu.min().exp().alias("trim_min"),
            lu.max().exp().alias("trim_max"),
        )
        .collect()
    )


def _content_hash(table: pl.DataFrame) -> str:
    digest = hashlib.sha256()
    for column in BAND_SCHEMA:
        series = table[column]
        if series.dtype == pl.Float64:
            series = series.round_sig_figs(12)
        digest.update(column.encode())
        digest.update(series.cast(pl.String).fill_null("\x00").str.join("\x1f").item().encode())
    return digest.hexdigest()


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


__all__ = ["BASES", "LEVELS", "BandConfig", "BandMeta", "ValueBands", "build_bands", "robust_band"]
