"""Mirror analysis: what partners report exporting to us vs what was declared on import.

Input: partner-country export statistics supplied by the user, a Comtrade-style table with
one row per exporting ``reporter``, importing ``partner``, ``hs6``, ``year``: ``value`` (FOB,
in the table's currency, usually USD) and ``quantity`` (net kg). Column aliases of the UN
Comtrade bulk files are accepted (``reporterISO``, ``partnerISO``, ``cmdCode``, ``refYear``,
``primaryValue``, ``netWgt`` …). Country codes may be alpha-2, alpha-3 or names.

Declarations are summed per HS6 × origin country × calendar year (value converted to the
statistics' currency with the exchange-rate table at each declaration's date). The **value gap**
is ``partner value × cif_fob_ratio − declared value``: positive when partners report exporting
more than was declared on import. Rows are ranked by value gap (largest first).

A gap is a **risk indicator** for a targeted audit, never evidence on its own: timing (goods
shipped in December, declared in January), CIF/FOB differences, re-exports via third countries,
origin vs consignment country, classification differences and confidential trade all create
gaps with no fraud.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from clearlane.errors import NotFoundError, Problem, ValidationError
from clearlane.reference.countries import normalise_country
from clearlane.valuation.conversion import ExchangeRates

MIRROR_COLUMNS = ("reporter", "partner", "hs6", "year", "value", "quantity")
ALIASES: dict[str, tuple[str, ...]] = {
    "reporter": ("reporter", "reporteriso", "reportercode", "reporter_iso", "exporter", "reporterdesc"),
    "partner": ("partner", "partneriso", "partnercode", "partner_iso", "importer", "partnerdesc"),
    "hs6": ("hs6", "cmdcode", "commodity_code", "hs", "hs_code", "commodity"),
    "year": ("year", "refyear", "period"),
    "value": ("value", "primaryvalue", "tradevalue", "fobvalue", "trade_value", "value_usd"),
    "quantity": ("quantity", "netwgt", "net_weight", "qty", "netweight", "kg"),
}


def read_mirror_statistics(path: Path | str) -> pl.DataFrame:
    """Read and normalise a Comtrade-style CSV/Parquet (see the module docstring).

    Returns columns ``reporter``, ``partner`` (ISO alpha-2), ``hs6`` (6 digits), ``year``
    (int), ``value``, ``quantity`` (float, null when absent). Raises :class:`ValidationError`
    listing unreadable rows.
    """
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"mirror statistics file {str(path)!r} does not exist")
    raw = (
        pl.read_parquet(path) if path.suffix.lower() == ".parquet"
        else pl.read_csv(path, infer_schema_length=0)
    )
    return normalise_mirror_statistics(raw, source=str(path))


def normalise_mirror_statistics(raw: pl.DataFrame, source: str | None = None) -> pl.DataFrame:
    """Map alias columns and normalise codes of a Comtrade-style frame."""
    lower = {c.lower().replace(" ", ""): c for c in raw.columns}
    picked: dict[str, str] = {}
    for name, aliases in ALIASES.items():
        found = next((lower[a] for a in aliases if a in lower), None)
        if found is not None:
            picked[name] = found
    missing = [c for c in MIRROR_COLUMNS if c not in picked and c != "quantity"]
    if missing:
        raise ValidationError(
            f"mirror statistics{f' {source!r}' if source else ''} lack column(s) {missing}; "
            f"expected {list(MIRROR_COLUMNS)} (quantity optional); found {raw.columns}"
        )
    frame = raw.select(
        pl.col(picked["reporter"]).cast(pl.String).alias("reporter"),
        pl.col(picked["partner"]).cast(pl.String).alias("partner"),
        pl.col(picked["hs6"]).cast(pl.String).str.replace_all(r"\D", "").alias("hs6"),
        pl.col(picked["year"]).cast(pl.String).str.slice(0, 4).cast(pl.Int32, strict=False).alias("year"),
        pl.col(picked["value"]).cast(pl.Float64, strict=False).alias("value"),
        (
            pl.col(picked["quantity"]).cast(pl.Float64, strict=False)
            if "quantity" in picked else pl.lit(None, pl.Float64)
        ).alias("quantity"),
    )
    countries = {
        v: normalise_country(v) for v in set(frame["reporter"].to_list() + frame["partner"].to_list()) if v
    }
    frame = frame.with_columns(
        pl.col("reporter").replace_strict(countries, default=None, return_dtype=pl.String),
        pl.col("partner").replace_strict(countries, default=None, return_dtype=pl.String),
        pl.col("hs6").str.zfill(6),
    )
    problems: list[Problem] = []
    for i, row in enumerate(frame.iter_rows(named=True), start=2):
        for name in ("reporter", "partner"):
            if row[name] is None:
                problems.append(Problem(name, str(raw[picked[name]][i - 2]), "not a known country", i, source))
        if row["hs6"] is None or len(row["hs6"]) != 6:
            problems.append(Problem("hs6", row["hs6"], "must be a 6-digit HS code", i, source))
        if row["year"] is None:
            problems.append(Problem("year", None, "must be a year like 2024", i, source))
        if row["value"] is None or row["value"] < 0:
            problems.append(Problem("value", str(row["value"]), "must be a number >= 0", i, source))
        if len(problems) > 200:
            break
    if problems:
        raise ValidationError("invalid mirror statistics", problems)
    return frame


def mirror_gaps(
    declarations: pl.DataFrame,
    statistics: pl.DataFrame,
    *,
    rates: ExchangeRates,
    currency: str,
    importer_country: str | None = None,
    cif_fob_ratio: float = 1.0,
    origin_field: str = "origin_country",
) -> pl.DataFrame:
    """Value gap per HS6 × partner × year, ranked largest first.

    ``statistics``: normalised (see :func:`normalise_mirror_statistics`), values in
    ``currency``. ``importer_country``: keep only statistics whose partner is this country
    (None keeps all rows). ``cif_fob_ratio``: factor turning the partners' FOB values into CIF
    (e.g. 1.05); 1.0 compares as reported. Columns of the result: ``hs6``, ``partner_country``
    (the exporter), ``year``, ``partner_value``, ``declared_value`` (both ``currency``),
    ``value_gap``, ``gap_share`` (gap / expected CIF value), ``partner_kg``, ``declared_kg``,
    ``partner_unit_value``, ``declared_unit_value`` (``currency`` per kg), ``declarations``.
    """
    if not cif_fob_ratio > 0:
        raise ValidationError(f"cif_fob_ratio {cif_fob_ratio} is not valid; must be > 0 (e.g. 1.05)")
    if origin_field not in declarations.columns:
        raise ValidationError(f"declarations lack column {origin_field!r} needed for mirror analysis")
    stats = statistics
    if importer_country is not None:
        code = normalise_country(importer_country)
        if code is None:
            raise ValidationError(f"importer country {importer_country!r} is not a known country")
        stats = stats.filter(pl.col("partner") == code)
    stats = stats.group_by("hs6", pl.col("reporter").alias("partner_country"), "year").agg(
        pl.col("value").sum().alias("partner_value"),
        pl.col("quantity").sum().alias("partner_kg"),
    )
    rate = rates.national_per_unit(declarations, currency, "declared_at")
    ours = (
        declarations.select(
            pl.col("hs_code").cast(pl.String).str.replace_all(r"\D", "").str.slice(0, 6).alias("hs6"),
            pl.col(origin_field).cast(pl.String).alias("partner_country"),
            pl.col("declared_at").dt.year().cast(pl.Int32).alias("year"),
            (pl.col("customs_value").cast(pl.Float64) / rate).alias("value"),
            (
                pl.col("net_mass_kg").cast(pl.Float64) if "net_mass_kg" in declarations.columns
                else pl.lit(None, pl.Float64)
            ).alias("kg"),
        )
        .group_by("hs6", "partner_country", "year")
        .agg(
            pl.col("value").sum().alias("declared_value"),
            pl.col("kg").sum().alias("declared_kg"),
            pl.len().alias("declarations"),
        )
    )
    joined = stats.join(ours, on=["hs6", "partner_country", "year"], how="full", coalesce=True)
    return (
        joined.with_columns(
            pl.col("partner_value").fill_null(0.0),
            pl.col("declared_value").fill_null(0.0),
            pl.col("declarations").fill_null(0).cast(pl.UInt32),
        )
        .with_columns(
            (pl.col("partner_value") * cif_fob_ratio - pl.col("declared_value")).alias("value_gap"),
        )
        .with_columns(
            pl.when(pl.col("partner_value") > 0)
            .then(pl.col("value_gap") / (pl.col("partner_value") * cif_fob_ratio))
            .otherwise(None)
            .alias("gap_share"),
            pl.when(pl.col("partner_kg") > 0)
            .then(pl.col("partner_value") / pl.col("partner_kg"))
            .otherwise(None)
            .alias("partner_unit_value"),
            pl.when(pl.col("declared_kg") > 0)
            .then(pl.col("declared_value") / pl.col("declared_kg"))
            .otherwise(None)
            .alias("declared_unit_value"),
        )
        .select(
            "hs6", "partner_country", "year", "partner_value", "declared_value", "value_gap",
            "gap_share", "partner_kg", "declared_kg", "partner_unit_value", "declared_unit_value",
            "declarations",
        )
        .sort("value_gap", "hs6", "partner_country", "year", descending=[True, False, False, False])
    )
