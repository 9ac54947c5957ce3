"""The canonical declaration: one row per declaration item, aligned with the WCO Data Model.

This module is the single source of truth for field names, types and meaning. Ingest maps any
source layout onto it, the store creates its tables from it, and every scorer reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FieldKind = Literal["str", "int", "float", "bool", "date", "datetime", "hs", "country", "currency"]


@dataclass(frozen=True)
class CanonicalField:
    """One canonical field.

    ``kind`` drives validation and normalisation; ``wco_id`` is the WCO Data Model element id
    where one exists; ``required`` fields must be present and non-empty on every accepted row.
    """

    name: str
    kind: FieldKind
    description: str
    required: bool = False
    wco_id: str | None = None
    outcome: bool = False
    minimum: float | None = None


DECLARATION_FIELDS: tuple[CanonicalField, ...] = (
    CanonicalField(
        "declaration_id", "str", "Functional reference of the declaration.", True, "D026"
    ),
    CanonicalField(
        "item_no", "int", "Goods item sequence number (default 1).", False, "021", minimum=1
    ),
    CanonicalField("declared_at", "date", "Acceptance date of the declaration.", True, "D023"),
    CanonicalField("office_id", "str", "Customs office of declaration.", False, "G005"),
    CanonicalField("declarant_id", "str", "Declarant (broker) identifier.", False, "R123"),
    CanonicalField("importer_id", "str", "Importer identifier.", False, "R124"),
    CanonicalField("exporter_id", "str", "Exporter / seller identifier.", False, "R031"),
    CanonicalField("hs_code", "hs", "Commodity code, 6-10 digits.", True, "145"),
    CanonicalField("goods_description", "str", "Description of goods, free text.", False, "137"),
    CanonicalField(
        "origin_country", "country", "Country of origin, ISO 3166-1 alpha-2.", False, "063"
    ),
    CanonicalField(
        "departure_country",
        "country",
        "Country of export/departure, ISO 3166-1 alpha-2.",
        False,
        "062",
    ),
    CanonicalField(
        "transport_mode", "str", "Mode of transport at the border (UN/ECE Rec. 19).", False, "T022"
    ),
    CanonicalField(
        "quantity", "float", "Quantity in supplementary units.", False, "131", minimum=0
    ),
    CanonicalField("quantity_unit", "str", "Supplementary unit code.", False, "130"),
    CanonicalField("net_mass_kg", "float", "Net mass in kilograms.", False, "128", minimum=0),
    CanonicalField("gross_mass_kg", "float", "Gross mass in kilograms.", False, "126", minimum=0),
    CanonicalField(
        "customs_value",
        "float",
        "Customs (CIF) value in national currency.",
        False,
        "108",
        minimum=0,
    ),
    CanonicalField("fob_value", "float", "FOB value in national currency.", False, None, minimum=0),
    CanonicalField("currency", "currency", "Invoice currency, ISO 4217.", False, "135"),
    CanonicalField(
        "tax_rate", "float", "Declared/assessed duty rate in percent.", False, None, minimum=0
    ),
    CanonicalField(
        "taxes_paid",
        "float",
        "Duties and taxes assessed, national currency.",
        False,
        None,
        minimum=0,
    ),
    # Outcome of an inspection (may be absent).
    CanonicalField("inspected", "bool", "Whether the item was inspected.", outcome=True),
    CanonicalField(
        "inspection_basis",
        "str",
        "Why the item was inspected: `random` for the random control sample (the unbiased one); "
        "otherwise the selection basis (`rule`, `model`, `exploration`, …) or a national code.",
        outcome=True,
    ),
    CanonicalField("fraud", "bool", "Whether the inspection found fraud.", outcome=True),
    CanonicalField(
        "revenue_recovered",
        "float",
        "Additional duties/taxes raised, national currency.",
        outcome=True,
        minimum=0,
    ),
    CanonicalField("critical", "bool", "Whether the finding was critical.", outcome=True),
    CanonicalField("finding", "str", "Inspection finding, free text.", outcome=True),
    CanonicalField("inspected_at", "date", "Date of the inspection.", outcome=True),
    CanonicalField("officer_id", "str", "Officer who recorded the outcome.", outcome=True),
)

ADDED_FIELDS: dict[str, int] = {"inspection_basis": 14}
"""Fields added after the first schema, with the migration version that adds their column (the
earlier migrations create the declarations table without them)."""
RANDOM_BASIS = "random"
"""The ``inspection_basis`` of the random control sample (compared case-insensitively)."""

FIELDS_BY_NAME: dict[str, CanonicalField] = {f.name: f for f in DECLARATION_FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in DECLARATION_FIELDS)
REQUIRED_FIELDS: tuple[str, ...] = tuple(f.name for f in DECLARATION_FIELDS if f.required)
OUTCOME_FIELDS: tuple[str, ...] = tuple(f.name for f in DECLARATION_FIELDS if f.outcome)
KEY_FIELDS: tuple[str, str] = ("declaration_id", "item_no")
EXTRA_COLUMN = "extra"
"""Name of the JSON column holding source columns kept as extras (``{"col": "value"}``)."""


def polars_dtype(kind: FieldKind) -> Any:
    """The polars dtype that stores a canonical field of this kind."""
    import polars as pl

    return {
        "str": pl.String,
        "hs": pl.String,
        "country": pl.String,
        "currency": pl.String,
        "int": pl.Int64,
        "float": pl.Float64,
        "bool": pl.Boolean,
        "date": pl.Date,
        "datetime": pl.Datetime("us"),
    }[kind]


def canonical_schema() -> dict[str, Any]:
    """Ordered mapping field name → polars dtype, plus the ``extra`` JSON string column."""
    import polars as pl

    schema: dict[str, Any] = {f.name: polars_dtype(f.kind) for f in DECLARATION_FIELDS}
    schema[EXTRA_COLUMN] = pl.String
    return schema


def sql_type(kind: FieldKind) -> str:
    """SQL column type (DuckDB and PostgreSQL) for a canonical field kind."""
    return {
        "str": "VARCHAR",
        "hs": "VARCHAR",
        "country": "VARCHAR",
        "currency": "VARCHAR",
        "int": "BIGINT",
        "float": "DOUBLE",
        "bool": "BOOLEAN",
        "date": "DATE",
        "datetime": "TIMESTAMP",
    }[kind]
