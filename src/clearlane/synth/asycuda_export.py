"""Write synthetic declarations as an ASYCUDA World-style item-level export (CSV).

The layout is the one the shipped ``asycuda`` profile reads (``clearlane profile show
asycuda``): one row per goods item, English column labels after the Single Administrative
Document (SAD) boxes, and the habits of real exports that a reader has to cope with:

* ``dd-Mon-yy`` registration dates (Oracle's default rendering, e.g. ``03-Feb-24``) and ISO
  timestamps with a time zone for receipts and inspections;
* item numbers written ``n of m``;
* a declaration number made of year, office, serial and number (``2024 PORT02 C 12``);
* person and company names beside the codes (declarant, importer, exporter, inspector);
* taxes by type (customs duty, statistical fee, VAT) and their total; an exchange rate;
* multi-line quoted notes (box 44 and the inspection findings);
* optionally, pseudonymised country codes (``C0417``) instead of ISO codes, and no outcome
  block (a file of new declarations rather than history).

Everything is derived from a :class:`~clearlane.synth.SynthResult` without randomness of its
own beyond ``seed``, so the same result and seed give the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pycountry

from clearlane.synth.generator import SynthResult

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Units of national currency (XOF) per unit of the invoice currency: fixed, illustrative rates.
EXCHANGE_RATES: dict[str, float] = {
    "XOF": 1.0,
    "EUR": 655.957,
    "USD": 600.0,
    "GBP": 760.0,
    "CNY": 83.0,
    "JPY": 4.0,
    "NGN": 0.4,
    "GHS": 40.0,
    "INR": 7.2,
}

OFFICE_NAMES: dict[str, str] = {
    "PORT": "ABIDJAN PORT",
    "AIR": "ABIDJAN AIRPORT",
    "ROAD": "NOE BORDER POST",
    "DEPOT": "INLAND CLEARANCE DEPOT",
    "POST": "POSTAL PARCELS OFFICE",
}

STATISTICAL_FEE_RATE = 0.01  # share of the CIF value (the "redevance statistique")

_FIRST = ("Kouassi", "Aminata", "Jean", "Fatou", "Moussa", "Awa", "Ibrahim", "Mariam", "Koffi",
          "Salimata", "Yao", "Adjoa", "Seydou", "Rokia", "Amadou", "Nadia", "Karim", "Leila")
_LAST = ("KONE", "TRAORE", "OUATTARA", "DIALLO", "COULIBALY", "BAMBA", "TOURE", "YAO",
         "KOUAME", "DIABATE", "SANOGO", "CAMARA", "BENALI", "HADDAD", "MENSAH", "OKAFOR")
_TRADE = ("GLOBAL", "ATLANTIC", "SAHEL", "LAGUNE", "PLATEAU", "IVOIRE", "SAVANE", "HORIZON",
          "ETOILE", "BAOBAB", "NIGER", "DELTA", "MARINA", "OASIS", "CONTINENTAL", "UNION")
_ACTIVITY = ("TRADING", "DISTRIBUTION", "IMPORT EXPORT", "TRANSIT", "LOGISTICS", "INDUSTRIES",
             "NEGOCE", "COMMERCE GENERAL", "SERVICES", "FREIGHT")
_FORM = ("SARL", "SA", "LTD", "SAS", "ETS", "GIE", "LIMITED", "CO")

OUTCOME_COLUMNS: tuple[str, ...] = (
    "Lane",
    "Examined",
    "Selection Basis",
    "Inspection Result",
    "Additional Taxes (Inspection)",
    "Inspection Findings",
    "Inspection Date",
    "Inspector Code",
    "Inspector Name",
)
"""The outcome block: absent from a file of new declarations (``with_outcomes=False``)."""


@dataclass(frozen=True)
class AsycudaExportOptions:
    """How the export looks.

    ``with_outcomes`` adds the selectivity and inspection block (history); without it the file
    is a set of new declarations. ``pseudonymised_countries`` replaces the ISO codes of the
    countries of origin and export with codes such as ``C0417`` (one per country, stable for
    a seed), as some administrations do before sharing data. ``seed`` varies the names, the
    pseudonyms and the times of day.
    """

    with_outcomes: bool = True
    pseudonymised_countries: bool = False
    seed: int = 0


def _pick(key: str, words: tuple[str, ...], seed: int, salt: str) -> str:
    digest = hashlib.sha256(f"{seed}:{salt}:{key}".encode()).digest()
    return words[int.from_bytes(digest[:4], "big") % len(words)]


def person_name(key: str, seed: int) -> str:
    """A stable person name for an identifier (``KONE Aminata``)."""
    return f"{_pick(key, _LAST, seed, 'last')} {_pick(key, _FIRST, seed, 'first')}"


def company_name(key: str, seed: int) -> str:
    """A stable company name for an identifier (``SAHEL DISTRIBUTION SARL``)."""
    return " ".join(
        (
            _pick(key, _TRADE, seed, "trade"),
            _pick(key, _ACTIVITY, seed, "activity"),
            _pick(key, _FORM, seed, "form"),
        )
    )


def _names(series: pl.Series, fn: Callable[[str, int], str], seed: int) -> pl.Series:
    mapping = {key: fn(key, seed) for key in series.drop_nulls().unique().to_list()}
    return series.replace_strict(mapping, default=None, return_dtype=pl.String)


def pseudonyms(seed: int) -> dict[str, str]:
    """Pseudonymised country codes (``C`` and four digits) for every ISO 3166-1 country: all
    different, the same for a seed whichever countries a file holds."""
    codes = sorted(c.alpha_2 for c in pycountry.countries)
    numbers = np.random.default_rng(seed).choice(10_000, size=len(codes), replace=False)
    return {code: f"C{number:04d}" for code, number in zip(codes, numbers, strict=True)}


def _asycuda_date(column: str) -> pl.Expr:
    """``dd-Mon-yy`` in English whatever the locale (Oracle's DD-MON-RR, capitalised)."""
    month = pl.col(column).dt.month().cast(pl.Int64) - 1
    names = pl.lit(list(MONTHS), dtype=pl.List(pl.String)).list.get(month)
    return pl.when(pl.col(column).is_null()).then(None).otherwise(
        pl.concat_str(
            [pl.col(column).dt.strftime("%d"), names, pl.col(column).dt.strftime("%y")],
            separator="-",
        )
    )


def _iso_with_zone(date_column: str, minutes: pl.Expr) -> pl.Expr:
    """An ISO 8601 timestamp with the UTC offset written out (``2024-02-03T09:41:00+00:00``)."""
    stamp = pl.col(date_column).cast(pl.Datetime("us")) + pl.duration(minutes=minutes)
    return pl.when(pl.col(date_column).is_null()).then(None).otherwise(
        stamp.dt.strftime("%Y-%m-%dT%H:%M:%S") + pl.lit("+00:00")
    )


def _whole(amount: pl.Expr) -> pl.Expr:
    return amount.round(0).cast(pl.Int64)


def asycuda_frame(result: SynthResult, options: AsycudaExportOptions | None = None) -> pl.DataFrame:
    """The export as a table of text columns, one row per declaration item, in file order."""
    options = options or AsycudaExportOptions()
    seed = options.seed
    d = result.declarations.sort("declared_at", "declaration_id", "item_no")
    d = d.with_columns(
        items=pl.len().over("declaration_id"),
        year=pl.col("declared_at").dt.year(),
    )
    # Registration numbers run per office and year, in order of registration.
    firsts = (
        d.group_by("declaration_id", maintain_order=True)
        .agg(pl.col("office_id").first(), pl.col("year").first())
        .with_columns(reg=pl.int_range(1, pl.len() + 1).over("office_id", "year"))
    )
    d = d.join(firsts.select("declaration_id", "reg"), on="declaration_id", how="left")
    rate = pl.col("currency").replace_strict(EXCHANGE_RATES, default=600.0, return_dtype=pl.Float64)
    minutes = pl.col("reg").hash(seed) % 600 + 8 * 60  # 08:00 to 17:59
    # Amounts in national currency, whole units (XOF has no minor unit). The generator's
    # tax_rate is the duty rate plus VAT and its taxes_paid is the CIF value at that rate; box 47
    # splits them into the customs duty (at the duty rate) and VAT, and adds the statistical
    # fee on the CIF value. Their sum is the total the item paid.
    cif = pl.col("customs_value").round(0)
    duty_rate = (pl.col("tax_rate") - result.config.vat_rate).clip(lower_bound=0)
    duty = (cif * duty_rate / 100).round(0)
    vat = (pl.col("taxes_paid").round(0) - duty).clip(lower_bound=0)
    fee = (cif * STATISTICAL_FEE_RATE).round(0)
    extra = pl.col("extra").str.json_decode(
        pl.Struct({"incoterm": pl.String, "payment_type": pl.String, "container": pl.String})
    )
    countries = ["origin_country", "departure_country"]
    if options.pseudonymised_countries:
        mapping = pseudonyms(seed)
        d = d.with_columns(
            pl.col(c).replace_strict(mapping, default=pl.col(c), return_dtype=pl.String)
            for c in countries
        )
    frame = d.select(
        pl.col("office_id").alias("Office"),
        pl.col("office_id")
        .str.replace(r"\d+$", "")
        .replace_strict(OFFICE_NAMES, default="INLAND OFFICE", return_dtype=pl.String)
        .alias("Office Name"),
        pl.lit("IM4").alias("Model"),
        pl.lit("C").alias("Reg. Serial"),
        pl.concat_str(
            [pl.col("year"), pl.col("office_id"), pl.lit("C"), pl.col("reg")], separator=" "
        ).alias("SAD Number"),
        _asycuda_date("declared_at").alias("Reg. Date"),
        _asycuda_date("declared_at").alias("Assessment Date"),
        _iso_with_zone("declared_at", minutes + 24 * 60).alias("Receipt Date"),
        pl.col("declarant_id").alias("Declarant Code"),
        _names(d["declarant_id"], company_name, seed).alias("Declarant Name"),
        pl.col("importer_id").alias("Importer TIN"),
        _names(d["importer_id"], company_name, seed).alias("Importer Name"),
        pl.col("exporter_id").alias("Exporter Code"),
        _names(d["exporter_id"], company_name, seed).alias("Exporter Name"),
        pl.col("departure_country").alias("Country of Export"),
        pl.col("transport_mode").alias("Mode of Transport"),
        pl.col("currency").alias("Currency"),
        rate.round(3).alias("Exchange Rate"),
        pl.format("{} of {}", pl.col("item_no"), pl.col("items")).alias("Item"),
        pl.col("hs_code").str.pad_end(8, "0").alias("Commodity Code"),
        pl.col("goods_description").alias("Description"),
        pl.col("origin_country").alias("Country of Origin"),
        pl.lit("4000 000").alias("CPC"),
        pl.col("gross_mass_kg").round(2).alias("Gross Mass (kg)"),
        pl.col("net_mass_kg").round(2).alias("Net Mass (kg)"),
        pl.col("quantity").round(3).alias("Supp. Units"),
        pl.col("quantity_unit").alias("Supp. Unit Code"),
        (pl.col("fob_value") / rate).round(2).alias("Item Price"),
        _whole(pl.col("fob_value")).alias("FOB Value"),
        _whole(cif).alias("CIF Value"),
        _whole(cif).alias("Statistical Value"),
        duty_rate.alias("Duty Rate %"),
        _whole(duty).alias("Customs Duty"),
        _whole(fee).alias("Statistical Fee"),
        _whole(vat).alias("VAT"),
        _whole(duty + fee + vat).alias("Total Taxes"),
        pl.format(
            "Incoterm: {}\nPayment: {}\nContainer: {}",
            extra.struct.field("incoterm").fill_null("-"),
            extra.struct.field("payment_type").fill_null("-"),
            extra.struct.field("container").fill_null("none"),
        ).alias("Additional Information"),
        # The outcome block.
        pl.when(pl.col("inspected")).then(pl.lit("Red"))
        .when(pl.col("reg") % 3 == 0).then(pl.lit("Yellow"))
        .otherwise(pl.lit("Green")).alias("Lane"),
        pl.when(pl.col("inspected")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("Examined"),
        pl.col("inspection_basis").str.to_uppercase().alias("Selection Basis"),
        pl.when(pl.col("fraud")).then(pl.lit("Discrepancy found"))
        .when(pl.col("fraud").not_()).then(pl.lit("No discrepancy"))
        .alias("Inspection Result"),
        _whole(pl.col("revenue_recovered")).alias("Additional Taxes (Inspection)"),
        pl.when(pl.col("finding").is_not_null())
        .then(pl.format("{}\nInspection act filed by {}", pl.col("finding"), pl.col("officer_id")))
        .alias("Inspection Findings"),
        _iso_with_zone("inspected_at", minutes).alias("Inspection Date"),
        pl.col("officer_id").alias("Inspector Code"),
        _names(d["officer_id"], person_name, seed).alias("Inspector Name"),
    )
    if not options.with_outcomes:
        frame = frame.drop(OUTCOME_COLUMNS)
    return frame.select(pl.all().cast(pl.String))


def write_asycuda_export(
    result: SynthResult, path: str | Path, options: AsycudaExportOptions | None = None
) -> Path:
    """Write the export as comma-separated UTF-8 with CRLF line ends; return the path.

    Fields holding a line break, a comma or a quote are quoted (RFC 4180), so notes span
    several physical lines.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    asycuda_frame(result, options).write_csv(path, line_terminator="\r\n", null_value="")
    return path
