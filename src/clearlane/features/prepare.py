"""Working columns of declarations: one normalisation for batches (polars) and single records
(plain Python), so both paths of :class:`~clearlane.features.FeaturePipeline` see the same
values (HS digits, dates, floats, extra JSON values as text).

HS keys (``hs6``, ``hs4``, ``hs2``) are HS 2022 categories: a code of an older edition (by the
declaration date) is mapped forward, and a split code keeps its own category (``854150@HS2017``;
see :mod:`clearlane.reference.hs_editions`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from clearlane.errors import ValidationError
from clearlane.features.catalog import HistoryGroup
from clearlane.reference.hs_editions import hs2022_categories, hs2022_category
from clearlane.schema.fields import EXTRA_COLUMN

STRING_COLUMNS = (
    "declaration_id", "office_id", "declarant_id", "importer_id", "exporter_id", "hs_code",
    "origin_country", "departure_country", "transport_mode", "currency",
)


FLOAT_COLUMNS = ("customs_value", "net_mass_kg", "quantity", "tax_rate", "taxes_paid",
                  "revenue_recovered")


EPOCH = date(1970, 1, 1)


SCORING_COLUMNS: tuple[str, ...] = (
    "declaration_id", "item_no", "declared_at", *STRING_COLUMNS[1:],
    *[c for c in FLOAT_COLUMNS if c != "revenue_recovered"], EXTRA_COLUMN,
)
"""The canonical columns scoring reads: identifiers, date and every feature input (no labels).
Reading only these from the workspace is much cheaper than whole rows."""


EXTRA_SAMPLE = 1000
"""The ``extra`` texts (the first non-null ones) whose keys become categorical columns."""


def extra_keys(declarations: pl.DataFrame, limit: int = 30) -> list[str]:
    """The keys of the ``extra`` JSON objects among the first :data:`EXTRA_SAMPLE` non-null
    texts, in order of first appearance (at most ``limit``)."""
    if EXTRA_COLUMN not in declarations.columns:
        return []
    return keys_of_texts(declarations[EXTRA_COLUMN].drop_nulls().head(EXTRA_SAMPLE).to_list(),
                         limit)


def keys_of_texts(texts: list[str], limit: int = 30) -> list[str]:
    """The keys of the JSON objects among ``texts``, in order of first appearance."""
    keys: dict[str, None] = {}
    for text in texts:
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(parsed, dict):
            for k in parsed:
                keys.setdefault(str(k), None)
    return list(keys)[:limit]


def prepare(declarations: pl.DataFrame, extras: Sequence[str]) -> pl.DataFrame:
    """Normalised working columns; missing canonical columns become nulls."""
    if "declared_at" not in declarations.columns:
        raise ValidationError(
            "declarations lack the required column 'declared_at'",
        )
    df = declarations
    missing = [
        pl.lit(None, dtype=pl.String).alias(c) for c in STRING_COLUMNS if c not in df.columns
    ] + [pl.lit(None, dtype=pl.Float64).alias(c) for c in FLOAT_COLUMNS if c not in df.columns]
    missing += [
        pl.lit(None, dtype=pl.Boolean).alias(c) for c in ("inspected", "fraud") if c not in df.columns
    ]
    if EXTRA_COLUMN not in df.columns:
        missing.append(pl.lit(None, dtype=pl.String).alias(EXTRA_COLUMN))
    if missing:
        df = df.with_columns(missing)
    # HS codes mapped forward to their HS 2022 category by declaration date (one replace per
    # older edition present): an old code and its HS 2022 successor share every hs* key.
    df = df.with_columns(
        pl.col("hs_code").cast(pl.String).str.replace_all(r"[^0-9]", "").str.slice(0, 6)
        .alias("__hs6"),
        pl.col("declared_at").cast(pl.Date).alias("__day"),
    )
    df = df.with_columns(hs2022_categories(df, "__hs6", "__day"))
    hs = pl.col("__hs6")
    inspected = pl.col("inspected").cast(pl.Boolean).fill_null(False)
    fraud = (pl.col("fraud").cast(pl.Boolean).fill_null(False)) & inspected
    value = pl.col("customs_value").cast(pl.Float64)
    mass = pl.col("net_mass_kg").cast(pl.Float64)
    out = df.select(
        pl.col("declared_at").cast(pl.Date).alias("day"),
        *[pl.col(c).cast(pl.String) for c in STRING_COLUMNS if c not in ("hs_code",)],
        hs.alias("hs6"),
        hs.str.slice(0, 4).alias("hs4"),
        hs.str.slice(0, 2).alias("hs2"),
        hs.str.slice(0, 6).cast(pl.Float64, strict=False).alias("hs6_numeric"),
        *[pl.col(c).cast(pl.Float64, strict=False) for c in FLOAT_COLUMNS],
        pl.when((value > 0) & (mass > 0)).then((value / mass).log()).alias("log_uv"),
        inspected.alias("_insp"),
        fraud.alias("_fraud"),
        pl.when(fraud).then(pl.col("revenue_recovered").cast(pl.Float64).fill_null(0.0))
        .otherwise(0.0)
        .alias("_rev"),
        pl.col(EXTRA_COLUMN).cast(pl.String).alias("_extra"),
    )
    if extras:
        # Extra JSON repeats a lot: parse each distinct text once, then join back.
        distinct = out.select(pl.col("_extra").unique().drop_nulls())
        parsed = distinct.with_columns(
            pl.col("_extra").str.json_path_match(f"$['{k}']").alias(f"extra:{k}")
            for k in extras
        )
        # join the one text column, not the whole frame (a join copies every column it carries)
        values = out.select("_extra").join(parsed, on="_extra", how="left", maintain_order="left")
        out = out.hstack(values.drop("_extra").get_columns())
    out = out.drop("_extra")
    if out["day"].null_count():
        raise ValidationError("declared_at is missing on some declarations; every row needs a date")
    return out.with_columns(pl.col("day").cast(pl.Int64).cast(pl.Float64).alias("day_num"))


_NON_DIGITS = re.compile(r"[^0-9]")


def _to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _to_float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _to_day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ValidationError(f"declared_at {value!r} is not a date (YYYY-MM-DD)") from exc


def prepare_record(record: Mapping[str, Any], extras: Sequence[str]) -> dict[str, Any]:
    """The working columns of :func:`prepare` for one declaration, without polars."""
    row: dict[str, Any] = {c: _to_text(record.get(c)) for c in STRING_COLUMNS}
    row["day"] = _to_day(record.get("declared_at"))
    row["day_num"] = float((row["day"] - EPOCH).days) if row["day"] is not None else math.nan
    hs = row.pop("hs_code")
    digits = _NON_DIGITS.sub("", hs) if hs is not None else None
    hs6 = hs2022_category(digits[:6], row["day"]) if digits is not None else None
    row["hs6"] = hs6
    row["hs4"] = hs6[:4] if hs6 is not None else None
    row["hs2"] = hs6[:2] if hs6 is not None else None
    row["hs6_numeric"] = _to_float(hs6[:6]) if hs6 else math.nan
    for c in FLOAT_COLUMNS:
        row[c] = _to_float(record.get(c))
    value, mass = row["customs_value"], row["net_mass_kg"]
    row["log_uv"] = math.log(value / mass) if value > 0 and mass > 0 else math.nan
    parsed: Any = None
    text = record.get(EXTRA_COLUMN)
    if extras and text:
        try:
            parsed = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            parsed = None
    for k in extras:
        row[f"extra:{k}"] = _to_text(parsed.get(k)) if isinstance(parsed, dict) else None
    return row


def record_key(row: Mapping[str, Any], group: HistoryGroup) -> str | None:
    if not group.columns:
        return "*"
    parts = [row[c] for c in group.columns]
    if any(p is None for p in parts):
        return None
    return "\x1f".join(parts)
