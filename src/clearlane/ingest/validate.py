"""Validate and normalise one batch of source rows into canonical declarations.

Pure functions over polars frames: no I/O. A row with any error is rejected whole (it goes to
the quarantine with every reason); warnings keep the row and are reported. Every change of a
value (country names to alpha-2, HS separators removed, unit conversions) is counted per
original → normalised pair so nothing is altered silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from clearlane.errors import Problem, ValidationError
from clearlane.ingest.profile import MASS_UNITS_TO_KG, Profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.reference.countries import USER_ASSIGNED, normalise_country
from clearlane.reference.currencies import normalise_currency
from clearlane.reference.hs_nomenclature import check_hs_code
from clearlane.schema.fields import (
    DECLARATION_FIELDS,
    EXTRA_COLUMN,
    CanonicalField,
    canonical_schema,
)

ERROR = "rejected"
WARNING = "warning"
EARLIEST_DATE = date(1950, 1, 1)

ISSUE_SCHEMA = {
    "source_row": pl.Int64,
    "field": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "severity": pl.String,
}
NORMALISATION_SCHEMA = {
    "field": pl.String,
    "original": pl.String,
    "normalised": pl.String,
    "rows": pl.Int64,
}


@dataclass(frozen=True)
class ValidationContext:
    """What validation needs besides the data: today's date and the future-date tolerance."""

    today: date
    max_future_days: int = 1

    @property
    def latest_date(self) -> date:
        return self.today + timedelta(days=self.max_future_days)


@dataclass(frozen=True)
class BatchResult:
    """The outcome of validating one batch.

    ``accepted``: canonical columns + ``extra`` + ``__row__``; ``issues``: one row per
    (row, field) problem with severity; ``rejected``: the raw source rows that were refused,
    as JSON, with their reasons; ``normalisations``: counts of value changes.
    """

    accepted: pl.DataFrame
    issues: pl.DataFrame
    rejected: pl.DataFrame
    normalisations: pl.DataFrame


def check_columns(profile: Profile, columns: list[str], source: str) -> list[str]:
    """The mapped source columns absent from the file; raises if any is needed.

    A mapped column is needed unless the profile says ``missing_columns: ignore`` and the
    field is optional. Required canonical fields must be mapped or given a constant.
    """
    available = set(columns)
    problems: list[Problem] = []
    absent: list[str] = []
    for name, field in ((f.name, f) for f in DECLARATION_FIELDS):
        mapping = profile.columns.get(name)
        if mapping is None:
            if field.required and name not in profile.constants:
                problems.append(Problem(name, None, "required field is not mapped by the profile"))
            continue
        if mapping.column not in available:
            if profile.missing_columns == "ignore" and not field.required:
                absent.append(name)
                continue
            problems.append(
                Problem(name, mapping.column, "column not found in the file", source=source)
            )
    if isinstance(profile.extras, list):
        for column in profile.extras:
            if column not in available:
                problems.append(
                    Problem("extra", column, "extra column not found in the file", source=source)
                )
    if problems:
        shown = ", ".join(repr(c) for c in columns[:40])
        raise ValidationError(
            f"{source}: the file does not match profile {profile.name!r} (file columns: {shown})",
            problems,
        )
    return absent


def _raw_text(profile: Profile, field: CanonicalField, absent: set[str]) -> pl.Expr | None:
    """The source text of a field (stripped, empty → null), or None when not provided."""
    if field.name in profile.constants:
        value = profile.constants[field.name]
        return pl.lit(None if value is None else str(value), dtype=pl.String)
    mapping = profile.columns.get(field.name)
    if mapping is None or field.name in absent:
        return None
    text = pl.col(mapping.column).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _map_unique(
    frame: pl.DataFrame, text_col: str, fn: object
) -> tuple[pl.Series, dict[str, str | None]]:
    uniques = frame.get_column(text_col).drop_nulls().unique().to_list()
    mapping = {value: fn(value) for value in uniques}  # type: ignore[operator]
    series = frame.get_column(text_col).replace_strict(
        mapping, default=None, return_dtype=pl.String
    )
    return series, mapping


def validate_batch(
    raw: pl.DataFrame,
    profile: Profile,
    context: ValidationContext,
    absent: set[str] | None = None,
) -> BatchResult:
    """Validate one batch read from a source (see module docstring)."""
    absent = absent or set()
    schema = canonical_schema()
    source_columns = [c for c in raw.columns if c != ROW_COLUMN]
    # 1. The source text of every canonical field, side by side.
    text_exprs = {}
    for field in DECLARATION_FIELDS:
        expr = _raw_text(profile, field, absent)
        if expr is not None:
            text_exprs[field.name] = expr.alias(f"t:{field.name}")
    work = raw.with_columns(list(text_exprs.values()))

    values: dict[str, pl.Series] = {}
    problems: dict[
        str, list[tuple[pl.Series, str]]
    ] = {}  # field -> [(mask, reason)], severity error
    warnings: dict[str, list[tuple[pl.Series, str | pl.Series]]] = {}
    normalisations: list[pl.DataFrame] = []
    n = work.height

    def add_problem(name: str, mask: pl.Series, reason: str, severity: str = ERROR) -> None:
        target = problems if severity == ERROR else warnings
        target.setdefault(name, []).append((mask.fill_null(False), reason))

    for field in DECLARATION_FIELDS:
        name = field.name
        if name not in text_exprs:
            values[name] = pl.Series(
                name, [1] * n if name == "item_no" else [None] * n, dtype=schema[name]
            )
            continue
        text = work.get_column(f"t:{name}")
        if field.required:
            add_problem(name, text.is_null(), "required field is empty")
        present = text.is_not_null()
        mapping = profile.columns.get(name)
        if field.kind == "str":
            values[name] = text.alias(name)
        elif field.kind in ("int", "float"):
            number = text.str.replace_all(r"[\s_]", "").cast(pl.Float64, strict=False)
            add_problem(name, present & number.is_null(), "not a number")
            if field.kind == "int":
                add_problem(
                    name, number.is_not_null() & (number != number.round(0)), "not a whole number"
                )
            if field.minimum is not None:
                add_problem(
                    name,
                    number < field.minimum,
                    f"must be ≥ {field.minimum:g}" + (" (negative mass)" if "mass" in name else ""),
                )
            factor = 1.0
            if mapping is not None:
                factor = mapping.scale * (MASS_UNITS_TO_KG[mapping.unit] if mapping.unit else 1.0)
            if factor != 1.0:
                converted = int((number.is_not_null()).sum())
                normalisations.append(
                    pl.DataFrame(
                        {
                            "field": [name],
                            "original": [f"source column {mapping.column!r}" if mapping else ""],
                            "normalised": [
                                f"multiplied by {factor:g}"
                                + (f" ({mapping.unit} → kg)" if mapping and mapping.unit else "")
                            ],
                            "rows": [converted],
                        },
                        schema=NORMALISATION_SCHEMA,
                    )
                )
                number = number * factor
            if field.kind == "int":
                values[name] = number.round(0).cast(pl.Int64, strict=False).alias(name)
            else:
                values[name] = number.alias(name)
            if name == "item_no":
                values[name] = values[name].fill_null(1)
        elif field.kind == "bool":
            true_values = {
                v.lower()
                for v in (mapping.true_values if mapping else ["1", "true", "yes", "y", "t"])
            }
            false_values = {
                v.lower()
                for v in (mapping.false_values if mapping else ["0", "false", "no", "n", "f"])
            }
            lowered = text.str.to_lowercase()
            is_true = lowered.is_in(list(true_values))
            is_false = lowered.is_in(list(false_values))
            add_problem(
                name,
                present & ~is_true & ~is_false,
                f"not a yes/no value; expected one of {sorted(true_values | false_values)}",
            )
            values[name] = _bool_series(name, is_true, is_false)
        elif field.kind in ("date", "datetime"):
            formats = profile.date_formats(name)
            parsed = _parse_dates(work, f"t:{name}", formats, field.kind)
            add_problem(
                name,
                present & parsed.is_null(),
                f"not a date in the expected format ({' or '.join(formats)})",
            )
            as_date = parsed if field.kind == "date" else parsed.dt.date()
            add_problem(
                name,
                as_date > context.latest_date,
                f"date is in the future (after {context.latest_date.isoformat()})",
            )
            add_problem(
                name,
                as_date < EARLIEST_DATE,
                f"date is out of range (before {EARLIEST_DATE.isoformat()})",
            )
            values[name] = parsed.alias(name)
        elif field.kind == "hs":
            letters = text.str.contains(r"[A-Za-z]")
            digits = text.str.replace_all(r"[^0-9]", "")
            add_problem(name, letters.fill_null(False), "HS code contains letters")
            length = digits.str.len_chars()
            add_problem(
                name,
                present & ~letters.fill_null(False) & ((length < 6) | (length > 10)),
                "HS code must have 6 to 10 digits (a lost leading zero?)",
            )
            check_frame = pl.DataFrame({"d": digits})
            hs_reason, _ = _map_unique(
                check_frame, "d", lambda d: check_hs_code(d) if 6 <= len(d) <= 10 else None
            )
            unknown = hs_reason.is_not_null() & present
            if unknown.any():
                warnings.setdefault(name, []).append((unknown, hs_reason))
            normalisations.append(_changes(name, text, digits))
            values[name] = digits.alias(name)
        elif field.kind in ("country", "currency"):
            fn = normalise_country if field.kind == "country" else normalise_currency
            tmp = pl.DataFrame({"t": text})
            normalised, _ = _map_unique(tmp, "t", fn)
            what = (
                (
                    "unknown country; expected an ISO 3166-1 code (alpha-2, alpha-3, numeric) "
                    "or an English name"
                )
                if field.kind == "country"
                else "unknown ISO 4217 currency code"
            )
            if field.kind == "country":
                assigned = text.str.to_uppercase().is_in(list(USER_ASSIGNED)) & normalised.is_null()
                add_problem(
                    name,
                    assigned,
                    "user-assigned ISO code: country unknown or not specified",
                    WARNING,
                )
                normalised = (
                    pl.DataFrame({"n": normalised, "a": assigned, "t": text})
                    .select(
                        pl.when(pl.col("a"))
                        .then(pl.col("t").str.to_uppercase())
                        .otherwise(pl.col("n"))
                    )
                    .to_series()
                    .alias(name)
                )
            add_problem(name, present & normalised.is_null(), what)
            normalisations.append(_changes(name, text, normalised))
            values[name] = normalised.alias(name)

    # 2. Extras: kept source columns as one JSON object per row.
    mapped_columns = {m.column for m in profile.columns.values()}
    extra_columns = (
        [c for c in source_columns if c not in mapped_columns]
        if profile.extras == "unmapped"
        else list(profile.extras)
    )
    extra_columns = [c for c in extra_columns if c in source_columns and c != EXTRA_COLUMN]
    if extra_columns:
        extra = (
            raw.select(
                pl.struct([pl.col(c).cast(pl.String) for c in extra_columns]).struct.json_encode()
            )
            .to_series()
            .alias(EXTRA_COLUMN)
        )
    elif EXTRA_COLUMN in source_columns and profile.extras == "unmapped":
        extra = raw.get_column(EXTRA_COLUMN).cast(pl.String)
    else:
        extra = pl.Series(EXTRA_COLUMN, [None] * n, dtype=pl.String)

    canonical = pl.DataFrame([values[f.name] for f in DECLARATION_FIELDS]).with_columns(
        extra, raw.get_column(ROW_COLUMN)
    )
    canonical = canonical.cast(pl.Schema(schema))

    # 3. Problems → issues, rejected rows.
    issue_frames: list[pl.DataFrame] = []
    reject_mask = pl.Series([False] * n)
    for severity, table in ((ERROR, problems), (WARNING, warnings)):
        for name, entries in table.items():
            text = (
                work.get_column(f"t:{name}")
                if f"t:{name}" in work.columns
                else pl.Series([None] * n, dtype=pl.String)
            )
            for mask, reason in entries:
                if not mask.any():
                    continue
                if severity == ERROR:
                    reject_mask = reject_mask | mask
                reasons = (
                    reason.filter(mask)
                    if isinstance(reason, pl.Series)
                    else pl.Series([reason] * int(mask.sum()))
                )
                issue_frames.append(
                    pl.DataFrame(
                        {
                            "source_row": raw.get_column(ROW_COLUMN).filter(mask),
                            "field": [name] * int(mask.sum()),
                            "value": text.filter(mask),
                            "reason": reasons,
                            "severity": [severity] * int(mask.sum()),
                        },
                        schema=ISSUE_SCHEMA,
                    )
                )
    issues = pl.concat(issue_frames) if issue_frames else pl.DataFrame(schema=ISSUE_SCHEMA)
    if reject_mask.any():
        rejected_rows = raw.filter(reject_mask)
        raw_json = rejected_rows.select(
            pl.struct([pl.col(c).cast(pl.String) for c in source_columns]).struct.json_encode()
        ).to_series()
        reason_text = (
            issues.filter(pl.col("severity") == ERROR)
            .group_by("source_row", maintain_order=True)
            .agg((pl.col("field") + ": " + pl.col("reason")).str.join("; ").alias("reasons"))
        )
        rejected = pl.DataFrame(
            {
                "source_row": rejected_rows.get_column(ROW_COLUMN),
                "raw": raw_json,
            }
        ).join(reason_text, on="source_row", how="left")
    else:
        rejected = pl.DataFrame(
            schema={"source_row": pl.Int64, "raw": pl.String, "reasons": pl.String}
        )
    norm = (
        pl.concat(normalisations) if normalisations else pl.DataFrame(schema=NORMALISATION_SCHEMA)
    )
    return BatchResult(
        accepted=canonical.filter(~reject_mask),
        issues=issues,
        rejected=rejected,
        normalisations=norm,
    )


def _bool_series(name: str, is_true: pl.Series, is_false: pl.Series) -> pl.Series:
    return (
        pl.DataFrame({"t": is_true, "f": is_false})
        .select(
            pl.when(pl.col("t"))
            .then(True)
            .when(pl.col("f"))
            .then(False)
            .otherwise(None)
            .alias(name)
        )
        .to_series()
    )


def _parse_dates(work: pl.DataFrame, column: str, formats: list[str], kind: str) -> pl.Series:
    source = work.get_column(column)
    attempts = []
    for fmt in formats:
        has_time = any(token in fmt for token in ("%H", "%M", "%S", "%T"))
        if has_time:
            expr = pl.col(column).str.to_datetime(fmt, strict=False, time_unit="us")
            attempts.append(expr.dt.date() if kind == "date" else expr)
        else:
            expr = pl.col(column).str.to_date(fmt, strict=False)
            attempts.append(expr if kind == "date" else expr.cast(pl.Datetime("us")))
    if not attempts:
        return source
    return work.select(pl.coalesce(attempts).alias(column)).to_series()


def _changes(name: str, before: pl.Series, after: pl.Series) -> pl.DataFrame:
    """Counts of distinct original → normalised value pairs where the value changed."""
    frame = pl.DataFrame({"original": before, "normalised": after})
    changed = frame.filter(
        pl.col("original").is_not_null()
        & pl.col("normalised").is_not_null()
        & (pl.col("original") != pl.col("normalised"))
    )
    if changed.is_empty():
        return pl.DataFrame(schema=NORMALISATION_SCHEMA)
    return (
        changed.group_by(["original", "normalised"])
        .len("rows")
        .with_columns(pl.lit(name).alias("field"))
        .select(list(NORMALISATION_SCHEMA))
        .cast(NORMALISATION_SCHEMA)  # type: ignore[arg-type]
    )
