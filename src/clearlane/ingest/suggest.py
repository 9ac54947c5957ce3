"""Suggest a column-mapping profile for an unknown layout from column names and contents.

Each (source column, canonical field) pair gets a score: name similarity against the field's
name and known synonyms (English and French), plus what a sample of the values looks like
(dates, country codes, HS-like digit strings, numbers, yes/no flags). Columns are assigned
greedily by score; unassigned columns become extras. The result is a starting point for the
user to edit, never applied silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

import polars as pl

from clearlane.ingest.profile import ColumnMapping, Profile
from clearlane.reference.countries import normalise_country
from clearlane.reference.currencies import normalise_currency
from clearlane.schema.fields import DECLARATION_FIELDS, FIELDS_BY_NAME

SYNONYMS: dict[str, tuple[str, ...]] = {
    "declaration_id": (
        "declaration id",
        "declaration number",
        "decl no",
        "ucr",
        "reference",
        "numero declaration",
        "sad number",
        "entry number",
        "declaration",
    ),
    "item_no": (
        "item",
        "item number",
        "item no",
        "line",
        "line number",
        "article",
        "numero article",
    ),
    "declared_at": (
        "date",
        "declaration date",
        "acceptance date",
        "registration date",
        "date declaration",
        "date enregistrement",
    ),
    "office_id": ("office", "office id", "customs office", "bureau", "port", "station"),
    "declarant_id": (
        "declarant",
        "declarant id",
        "broker",
        "agent",
        "customs broker",
        "commissionnaire",
    ),
    "importer_id": ("importer", "importer id", "consignee", "importateur", "tin", "importer tin"),
    "exporter_id": (
        "exporter",
        "seller",
        "seller id",
        "supplier",
        "consignor",
        "exportateur",
        "vendeur",
    ),
    "hs_code": (
        "hs",
        "hs code",
        "hs6",
        "hs6 code",
        "commodity code",
        "tariff code",
        "tariff line",
        "code sh",
        "nomenclature",
        "hscode",
    ),
    "goods_description": (
        "description",
        "goods description",
        "commercial description",
        "designation",
        "designation des marchandises",
        "item description",
    ),
    "origin_country": ("origin", "country of origin", "origin country", "pays origine", "coo"),
    "departure_country": (
        "departure",
        "country of departure",
        "export country",
        "country of export",
        "provenance",
        "pays provenance",
        "consignment country",
    ),
    "transport_mode": ("mode of transport", "transport mode", "transport", "mode transport"),
    "quantity": ("quantity", "qty", "supplementary quantity", "quantite", "units"),
    "quantity_unit": ("unit", "quantity unit", "uom", "unite"),
    "net_mass_kg": ("net mass", "net weight", "net mass kg", "poids net", "weight", "mass"),
    "gross_mass_kg": ("gross mass", "gross weight", "poids brut"),
    "customs_value": (
        "customs value",
        "cif value",
        "value",
        "item price",
        "statistical value",
        "valeur en douane",
        "valeur",
        "cif",
    ),
    "fob_value": ("fob", "fob value", "valeur fob", "invoice value"),
    "currency": ("currency", "invoice currency", "devise", "monnaie"),
    "tax_rate": ("tax rate", "duty rate", "rate", "taux", "taux droit"),
    "taxes_paid": ("taxes", "taxes paid", "duty paid", "duties", "droits", "tax amount"),
    "inspected": ("inspected", "examined", "controlled", "controle", "inspection"),
    "inspection_basis": ("inspection basis", "selection basis", "selectivity", "control type",
                         "selection criterion", "type de controle", "critere de selection"),
    "fraud": ("fraud", "fraudulent", "offence", "infraction", "positive", "hit"),
    "revenue_recovered": ("revenue recovered", "additional revenue", "recovered", "redressement"),
    "critical": ("critical", "critical fraud", "serious"),
    "finding": ("finding", "result", "remarks", "constat"),
    "inspected_at": ("inspection date", "date inspection", "examined at"),
    "officer_id": ("officer", "inspector", "agent id", "verificateur"),
}


@dataclass(frozen=True)
class ColumnSuggestion:
    """The best canonical field for one source column, with the score that chose it (0-1)."""

    column: str
    field: str | None
    score: float
    why: str


def _norm(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower().replace("_", " ")).split())


def name_score(column: str, field: str) -> float:
    """Similarity of a column name to a field name or one of its synonyms (0-1)."""
    col = _norm(column)
    candidates = (_norm(field), *SYNONYMS.get(field, ()))
    best = 0.0
    for cand in candidates:
        if col == cand:
            return 1.0
        ratio = SequenceMatcher(None, col, cand).ratio()
        if cand in col.split() or (len(cand) > 3 and cand in col):
            ratio = max(ratio, 0.8)
        best = max(best, ratio)
    return best


def _mean(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _content_scores(values: pl.Series) -> dict[str, float]:
    """How well a sample of text values fits each field kind (share of values that fit)."""
    text = values.cast(pl.String).str.strip_chars().drop_nulls()
    text = text.filter(text != "")
    if text.is_empty():
        return {}
    sample = text.head(500)
    numeric = sample.str.replace_all(r"[\s,_]", "").cast(pl.Float64, strict=False)
    share_numeric = _mean(numeric.is_not_null().mean())
    dates = (
        pl.DataFrame({"t": sample})
        .select(
            pl.coalesce(
                [
                    pl.col("t").str.to_date(f, strict=False)
                    for f in ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%m/%d/%Y")
                ]
            )
        )
        .to_series()
    )
    share_date = _mean(dates.is_not_null().mean())
    uniques = sample.unique().to_list()
    share_country = sum(1 for u in uniques if len(u) <= 3 and normalise_country(u)) / max(
        len(uniques), 1
    )
    share_currency = sum(1 for u in uniques if normalise_currency(u)) / max(len(uniques), 1)
    digits = sample.str.replace_all(r"[.\s]", "")
    share_hs = _mean(digits.str.contains(r"^\d{6,10}$").mean())
    lowered = set(u.lower() for u in uniques)
    share_flag = (
        1.0 if lowered and lowered <= {"0", "1", "true", "false", "yes", "no", "y", "n"} else 0.0
    )
    mean_len = _mean(sample.str.len_chars().mean())
    return {
        "numeric": share_numeric,
        "date": share_date,
        "country": share_country,
        "currency": share_currency,
        "hs": share_hs,
        "flag": share_flag,
        "long_text": 1.0 if mean_len > 25 and share_numeric < 0.2 else 0.0,
    }


def _kind_fit(field: str, content: dict[str, float]) -> float:
    kind = FIELDS_BY_NAME[field].kind
    if not content:
        return 0.0
    if field == "goods_description":
        return content["long_text"]
    if kind == "hs":
        return content["hs"]
    if kind == "country":
        return content["country"]
    if kind == "currency":
        return content["currency"]
    if kind in ("date", "datetime"):
        return content["date"]
    if kind == "bool":
        return content["flag"]
    if kind in ("int", "float"):
        return content["numeric"]
    return 0.5 * (1.0 - content["date"])  # identifiers and codes: anything that is not a date


def suggest_columns(sample: pl.DataFrame) -> list[ColumnSuggestion]:
    """Score every (column, field) pair and assign greedily, best pairs first."""
    pairs: list[tuple[float, str, str, str]] = []
    for column in sample.columns:
        content = _content_scores(sample.get_column(column))
        for field in (f.name for f in DECLARATION_FIELDS):
            by_name = name_score(column, field)
            fit = _kind_fit(field, content)
            score = 0.7 * by_name + 0.3 * fit
            distinctive = FIELDS_BY_NAME[field].kind in ("hs", "country", "currency", "date")
            if by_name < 0.65 and not (distinctive and fit >= 0.95):
                continue
            why = f"name {by_name:.2f}, content {fit:.2f}"
            pairs.append((score, column, field, why))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    chosen: dict[str, ColumnSuggestion] = {}
    taken: set[str] = set()
    for score, column, field, why in pairs:
        if column in chosen or field in taken or score < 0.6:
            continue
        chosen[column] = ColumnSuggestion(column, field, round(score, 3), why)
        taken.add(field)
    return [
        chosen.get(c, ColumnSuggestion(c, None, 0.0, "no good match: kept as extra"))
        for c in sample.columns
    ]


def suggest_profile(sample: pl.DataFrame, name: str) -> tuple[Profile, list[ColumnSuggestion]]:
    """A profile proposal for a sample of a file's rows, and the per-column reasoning."""
    suggestions = suggest_columns(sample)
    columns = {s.field: ColumnMapping(column=s.column) for s in suggestions if s.field}
    extras = [s.column for s in suggestions if s.field is None]
    constants: dict[str, object] = {}
    if "item_no" not in columns:
        constants["item_no"] = 1
    profile = Profile(
        name=name,
        description="Suggested by `clearlane profile suggest`; review before use.",
        columns=columns,
        constants=constants,
        extras=extras,
    )
    return profile, suggestions
