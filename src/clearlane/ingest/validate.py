"""Validate and normalise one batch of source rows into canonical declarations.

Pure functions over polars frames: no I/O. A row with any error is rejected whole (it goes to
the quarantine with every reason); warnings keep the row and are reported. Every change of a
value (country names to alpha-2, HS separators removed, unit conversions) is counted per
original → normalised pair so nothing is altered silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, timedelta

import polars as pl

from clearlane.errors import Problem, ValidationError
from clearlane.ingest.profile import MASS_UNITS_TO_KG, Profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.transforms import DERIVED_PREFIX, NOMATCH_PREFIX, nomatch_column
from clearlane.reference.countries import USER_ASSIGNED, normalise_country
from clearlane.reference.currencies import normalise_currency
from clearlane.reference.hs_editions import (
    check_in_edition,
    configured_editions,
    date_dependent_codes,
)
from clearlane.schema.fields import (
    DECLARATION_FIELDS,
    EXTRA_COLUMN,
    CanonicalField,
    canonical_schema,
    polars_dtype,
)

PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
"""A plain decimal numeral (after spaces are removed): what number fields accept."""
NON_FINITE_WORD = r"^[+-]?(?:inf|infinity|nan)$"

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


_UNKNOWN = {
    "country": "unknown country; expected an ISO 3166-1 code (alpha-2, alpha-3, numeric) or an "
    "English name",
    "currency": "unknown ISO 4217 currency code",
}


def kept_reason(kind: str) -> str:
    """The warning on a country or currency code kept as-is (`codes: keep`)."""
    return f"{_UNKNOWN[kind]}; kept as-is (`codes: keep`)"


def is_internal(column: str) -> bool:
    """A column the transforms add to a batch (not a source column)."""
    return column.startswith((NOMATCH_PREFIX, DERIVED_PREFIX))


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
            # Outcome columns are optional: the same profile reads history (with outcomes)
            # and new declarations (without).
            if (profile.missing_columns == "ignore" or field.outcome) and not field.required:
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


def _unique_mapping(
    frame: pl.DataFrame, column: str, fn: Callable[[str], str | None]
) -> dict[str, str | None]:
    """``fn`` applied once per distinct non-null value of ``column`` (values repeat a lot)."""
    return {value: fn(value) for value in frame.get_column(column).drop_nulls().unique().to_list()}


def _hs_reason(digits: str, edition: str) -> str | None:
    return check_in_edition(digits, edition) if 6 <= len(digits) <= 10 else None


def _hs_key_reason(key: str) -> str | None:
    """:func:`_hs_reason` of an ``edition:digits`` key."""
    edition, _, digits = key.partition(":")
    return _hs_reason(digits, edition)


def _hs_edition(work: pl.DataFrame, profile: Profile) -> pl.Expr:
    """The HS edition in force on each row's declaration date (the latest one without it)."""
    editions = configured_editions()
    if "t:declared_at" not in work.columns:
        return pl.lit(editions.latest)
    return editions.expr(_date_expr("t:declared_at", profile.date_formats("declared_at"), "date"))


@dataclass
class _Check:
    """One vectorised check: rows where ``mask`` holds get ``reason`` for ``field``."""

    field: str
    mask: pl.Expr
    reason: str | pl.Expr
    severity: str = ERROR
    kept: bool = False  # the warning of a code kept as-is (`codes: keep`)


@dataclass
class _FieldRules:
    """How one field's text (column ``t:<name>``) becomes its value, and the checks on it."""

    value: pl.Expr
    checks: list[_Check] = dataclass_field(default_factory=list)
    changed: bool = False  # the text may be normalised (each change is counted)
    normalisations: list[pl.DataFrame] = dataclass_field(default_factory=list)


def _field_rules(
    work: pl.DataFrame, field: CanonicalField, profile: Profile, context: ValidationContext
) -> _FieldRules:
    """The value expression and checks of ``field``; ``work`` holds its text as ``t:<name>``.

    Lookups (HS, country, currency) are computed once per distinct text of ``work``.
    """
    name = field.name
    rules = _FieldRules(value=pl.col(f"t:{name}"))
    text = pl.col(f"t:{name}")
    present = text.is_not_null()
    if field.required:
        rules.checks.append(_Check(name, text.is_null(), "required field is empty"))
    mapping = profile.columns.get(name)
    if field.kind == "str":
        rules.value = text
    elif field.kind in ("int", "float"):
        # Plain decimal numerals only (spaces between digit groups allowed): inf, NaN,
        # 1_000, hexadecimal … are refused with a named reason, as is an overflow (1e400).
        compact = text.str.replace_all(" ", "", literal=True)
        plain = compact.str.contains(PLAIN_NUMBER)
        parsed = compact.cast(pl.Float64, strict=False)
        non_finite_word = compact.str.to_lowercase().str.contains(NON_FINITE_WORD)
        rules.checks.append(
            _Check(name, present & non_finite_word, "not a finite number (inf and NaN are refused)")
        )
        rules.checks.append(
            _Check(name, present & ~plain & ~non_finite_word, "not a number")
        )
        rules.checks.append(
            _Check(
                name,
                present & plain & ~parsed.is_finite(),
                "number out of range (beyond ±1.8e308, the largest 64-bit float)",
            )
        )
        number = pl.when(plain & parsed.is_finite()).then(parsed).otherwise(None)
        if field.kind == "int":
            rules.checks.append(_Check(name, number != number.round(0), "not a whole number"))
            # beyond a 64-bit integer the cast below would give null (item_no: silently 1)
            rules.checks.append(_Check(name, number.abs() >= 2.0**63,
                                       "whole number out of range (beyond ±9.2e18)"))
        if field.minimum is not None:
            suffix = " (negative mass)" if "mass" in name else ""
            rules.checks.append(
                _Check(name, number < field.minimum, f"must be ≥ {field.minimum:g}{suffix}")
            )
        factor = 1.0
        if mapping is not None:
            factor = mapping.scale * (MASS_UNITS_TO_KG[mapping.unit] if mapping.unit else 1.0)
        if factor != 1.0 and mapping is not None:
            converted = int(work.select(pl.col(f"t:{name}").is_not_null().sum()).item())
            unit = f" ({mapping.unit} → kg)" if mapping.unit else ""
            rules.normalisations.append(
                pl.DataFrame(
                    {
                        "field": [name],
                        "original": [f"source column {mapping.column!r}"],
                        "normalised": [f"multiplied by {factor:g}{unit}"],
                        "rows": [converted],
                    },
                    schema=NORMALISATION_SCHEMA,
                )
            )
            number = number * factor
        if field.kind == "int":
            number = number.round(0).cast(pl.Int64, strict=False)
            rules.value = number.fill_null(1) if name == "item_no" else number
        else:
            rules.value = number
    elif field.kind == "bool":
        true_values = [
            v.lower() for v in (mapping.true_values if mapping else ["1", "true", "yes", "y", "t"])
        ]
        false_values = [
            v.lower() for v in (mapping.false_values if mapping else ["0", "false", "no", "n", "f"])
        ]
        lowered = text.str.to_lowercase()
        is_true, is_false = lowered.is_in(true_values), lowered.is_in(false_values)
        rules.checks.append(
            _Check(
                name,
                present & ~is_true & ~is_false,
                f"not a yes/no value; expected one of {sorted(set(true_values) | set(false_values))}",
            )
        )
        rules.value = pl.when(is_true).then(True).when(is_false).then(False).otherwise(None)
    elif field.kind in ("date", "datetime"):
        formats = profile.date_formats(name)
        parsed = _date_expr(f"t:{name}", formats, field.kind)
        as_date = parsed if field.kind == "date" else parsed.dt.date()
        rules.checks.append(
            _Check(
                name,
                present & parsed.is_null(),
                f"not a date in the expected format ({' or '.join(formats)})",
            )
        )
        rules.checks.append(
            _Check(
                name,
                as_date > context.latest_date,
                f"date is in the future (after {context.latest_date})",
            )
        )
        rules.checks.append(
            _Check(
                name,
                as_date < EARLIEST_DATE,
                f"date is out of range (before {EARLIEST_DATE.isoformat()})",
            )
        )
        rules.value = parsed
    elif field.kind == "hs":
        letters = text.str.contains(r"[A-Za-z]")
        digits = text.str.replace_all(r"[^0-9]", "")
        length = digits.str.len_chars()
        rules.checks.append(_Check(name, letters, "HS code contains letters"))
        rules.checks.append(
            _Check(
                name,
                present & ~letters & ((length < 6) | (length > 10)),
                "HS code must have 6 to 10 digits (a lost leading zero?)",
            )
        )
        # checked against the edition in force on the row's date, once per (edition, code)
        key = pl.concat_str([_hs_edition(work, profile), pl.lit(":"), digits])
        reasons = _unique_mapping(work.select(key.alias("k")), "k", _hs_key_reason)
        reason = key.replace_strict(reasons, default=None, return_dtype=pl.String)
        rules.checks.append(_Check(name, reason.is_not_null(), reason, WARNING))
        rules.value = digits
        rules.changed = True
    elif field.kind in ("country", "currency"):
        fn = normalise_country if field.kind == "country" else normalise_currency
        lookup = _unique_mapping(work, f"t:{name}", fn)
        normalised = text.replace_strict(lookup, default=None, return_dtype=pl.String)
        what = _UNKNOWN[field.kind]
        if field.kind == "country":
            upper = text.str.to_uppercase()
            assigned = upper.is_in(list(USER_ASSIGNED)) & normalised.is_null()
            rules.checks.append(
                _Check(
                    name,
                    assigned,
                    "user-assigned ISO code: country unknown or not specified",
                    WARNING,
                )
            )
            normalised = pl.when(assigned).then(upper).otherwise(normalised)
        if mapping is not None and mapping.codes == "keep":
            # Pseudonymised or national codes: kept as they are (trimmed, upper-cased).
            kept = present & normalised.is_null()
            rules.checks.append(_Check(name, kept, kept_reason(field.kind), WARNING, kept=True))
            normalised = pl.when(kept).then(text.str.to_uppercase()).otherwise(normalised)
        else:
            rules.checks.append(_Check(name, present & normalised.is_null(), what))
        rules.value = normalised
        rules.changed = True

    return rules


_BATCH_FREE_KINDS = frozenset({"str", "int", "float", "bool", "date", "datetime"})
"""Field kinds whose rules do not read the batch (no look-up of its distinct values)."""
_RULES_KEPT = 512
_rules_cache: dict[tuple[int, str, ValidationContext], tuple[Profile, _FieldRules]] = {}
_text_cache: dict[tuple[int, str, frozenset[str]], tuple[Profile, pl.Expr | None]] = {}


def _batch_free(field: CanonicalField, profile: Profile) -> bool:
    """Whether ``field``'s rules depend only on the profile and the context: no look-up of
    the batch's values and no unit conversion (whose change count reads the batch)."""
    mapping = profile.columns.get(field.name)
    return field.kind in _BATCH_FREE_KINDS and (
        mapping is None or (mapping.scale == 1.0 and not mapping.unit))


def _rules_for(
    work: pl.DataFrame, field: CanonicalField, profile: Profile, context: ValidationContext
) -> _FieldRules:
    """:func:`_field_rules`, built once per (profile, field, context) for a field whose rules
    do not read the batch: a server validating one item per request reuses them (the
    expressions are immutable; the profile is kept with them, so its id is not reused)."""
    if not _batch_free(field, profile):
        return _field_rules(work, field, profile, context)
    key = (id(profile), field.name, context)
    held = _rules_cache.get(key)
    if held is None or held[0] is not profile:
        if len(_rules_cache) >= _RULES_KEPT:
            _rules_cache.clear()
        held = _rules_cache[key] = (profile, _field_rules(work, field, profile, context))
    return held[1]


def _text_for(profile: Profile, field: CanonicalField, absent: set[str]) -> pl.Expr | None:
    """:func:`_raw_text`, built once per (profile, field, absent fields)."""
    key = (id(profile), field.name, frozenset(absent))
    held = _text_cache.get(key)
    if held is None or held[0] is not profile:
        if len(_text_cache) >= _RULES_KEPT:
            _text_cache.clear()
        held = _text_cache[key] = (profile, _raw_text(profile, field, absent))
    return held[1]


LOOKUP_KINDS = frozenset({"hs", "country", "currency", "date", "datetime", "bool"})
"""Field kinds with few distinct values: validated once per distinct text (see below)."""


def load_reference_data() -> None:
    """Load the HS nomenclature, country and currency tables the checks use (cached).

    The ingest calls this while its first batch is still being read, so the loading (a
    third of a second, mostly the nomenclature) overlaps with reading instead of following it.
    """
    check_in_edition("010121")
    date_dependent_codes()  # the older HS editions, when several are in force
    normalise_country("CN")
    normalise_currency("USD")


def evaluate_distinct(
    texts: list[str],
    field: CanonicalField,
    profile: Profile,
    context: ValidationContext,
    *,
    constant: bool = False,
) -> pl.DataFrame:
    """Each distinct raw text of a field validated exactly as :func:`validate_batch` would.

    Returns ``raw`` (the text as given), ``original`` (the text the checks see), ``value``
    (the canonical value), ``ok`` (no check of any severity fires, but for the warning on a
    code kept as-is) and ``kept`` (that warning fires: the fast path reports it itself). A constant from the
    profile is used as given; a column's text is stripped first (empty → null).
    """
    raw = pl.Series("raw", texts, dtype=pl.String)
    original = pl.col("raw")
    if not constant:
        stripped = original.str.strip_chars()
        original = pl.when(stripped == "").then(None).otherwise(stripped)
    work = pl.DataFrame([raw]).with_columns(original.alias(f"t:{field.name}"))
    rules = _field_rules(work, field, profile, context)
    fired = [c.mask.fill_null(False) for c in rules.checks if not c.kept]
    kept = [c.mask.fill_null(False) for c in rules.checks if c.kept]
    return work.select(
        pl.col("raw"),
        pl.col(f"t:{field.name}").alias("original"),
        rules.value.cast(polars_dtype(field.kind)).alias("value"),
        (~pl.any_horizontal(fired) if fired else pl.lit(True)).alias("ok"),
        (pl.any_horizontal(kept) if kept else pl.lit(False)).alias("kept"),
    )


def validate_batch(
    raw: pl.DataFrame,
    profile: Profile,
    context: ValidationContext,
    absent: set[str] | None = None,
    *,
    count_changes: bool = True,
) -> BatchResult:
    """Validate one batch read from a source (see module docstring).

    Builds one expression per canonical value and per check, then evaluates them in a single
    pass; Python only touches the distinct values of HS, country and currency columns.
    ``count_changes=False`` leaves ``normalisations`` empty, for a caller that does not report
    them (assess at lodgement): every other result is the same.
    """
    absent = absent or set()
    schema = canonical_schema()
    source_columns = [c for c in raw.columns if c != ROW_COLUMN and not is_internal(c)]
    # 1. The source text of every canonical field, side by side.
    text_exprs = {}
    for field in DECLARATION_FIELDS:
        expr = _text_for(profile, field, absent)
        if expr is not None:
            text_exprs[field.name] = expr.alias(f"t:{field.name}")
    work = raw.with_columns(list(text_exprs.values()))

    values: dict[str, pl.Expr] = {}
    checks: list[_Check] = []
    changed: list[str] = []  # fields whose text may be normalised
    normalisations: list[pl.DataFrame] = []

    for field in DECLARATION_FIELDS:
        name = field.name
        if name not in text_exprs:
            default = 1 if name == "item_no" else None
            values[name] = pl.lit(default, dtype=schema[name]).alias(name)
            continue
        rules = _rules_for(work, field, profile, context)
        values[name] = rules.value
        checks.extend(rules.checks)
        nomatch = nomatch_column(name)
        mapping = profile.columns.get(name)
        if nomatch in raw.columns and mapping is not None:
            checks.append(
                _Check(
                    name,
                    pl.col(nomatch),
                    f"no match for the profile's extract pattern {mapping.extract!r}",
                )
            )
        if count_changes:
            normalisations.extend(rules.normalisations)
        if rules.changed:
            changed.append(name)

    # 2. Extras: kept source columns as one JSON object per row.
    mapped_columns = {m.column for m in profile.columns.values()}
    extra_columns = (
        [c for c in source_columns if c not in mapped_columns]
        if profile.extras == "unmapped"
        else list(profile.extras)
    )
    extra_columns = [c for c in extra_columns if c in source_columns and c != EXTRA_COLUMN]
    existing = EXTRA_COLUMN in source_columns and profile.extras == "unmapped"
    if extra_columns:
        kept = [pl.col(c).cast(pl.String) for c in extra_columns]
        extra = pl.struct(kept).struct.json_encode()
        if existing:  # the source's own extras object and the other kept columns, merged
            old = pl.col(EXTRA_COLUMN).cast(pl.String).str.strip_chars(" ")
            is_object = old.str.starts_with("{") & old.str.ends_with("}") & (old.str.len_chars() >= 2)
            extra = (
                pl.when(old.is_null() | old.is_in(["", "{}"])).then(extra)
                .when(is_object).then(old.str.slice(0, old.str.len_chars() - 1) + "," + extra.str.slice(1))
                .otherwise(pl.struct([pl.col(EXTRA_COLUMN).cast(pl.String), *kept]).struct.json_encode())
            )
    elif existing:
        extra = pl.col(EXTRA_COLUMN).cast(pl.String)
    else:
        extra = pl.lit(None, dtype=pl.String)

    # 3. One pass: canonical values, check masks and check reasons.
    mask_exprs = [c.mask.fill_null(False).alias(f"m:{i}") for i, c in enumerate(checks)]
    reason_exprs = [
        c.reason.alias(f"r:{i}") for i, c in enumerate(checks) if isinstance(c.reason, pl.Expr)
    ]
    evaluated = work.select(
        *[values[f.name].cast(schema[f.name]).alias(f.name) for f in DECLARATION_FIELDS],
        extra.alias(EXTRA_COLUMN),
        pl.col(ROW_COLUMN),
        *mask_exprs,
        *reason_exprs,
        *[pl.col(f"t:{name}") for name in text_exprs],
    )
    hits = (
        evaluated.select(pl.col(f"m:{i}").sum() for i in range(len(checks))).row(0)
        if checks
        else ()
    )
    issue_frames: list[pl.DataFrame] = []
    reject_mask = pl.lit(False)
    for i, (check, count) in enumerate(zip(checks, hits, strict=True)):
        if not count:
            continue
        if check.severity == ERROR:
            reject_mask = reject_mask | pl.col(f"m:{i}")
        reason = pl.col(f"r:{i}") if isinstance(check.reason, pl.Expr) else pl.lit(check.reason)
        issue_frames.append(
            evaluated.filter(pl.col(f"m:{i}"))
            .select(
                pl.col(ROW_COLUMN).alias("source_row"),
                pl.lit(check.field).alias("field"),
                pl.col(f"t:{check.field}").alias("value"),
                reason.alias("reason"),
                pl.lit(check.severity).alias("severity"),
            )
            .cast(ISSUE_SCHEMA)  # type: ignore[arg-type]
        )
    issues = pl.concat(issue_frames) if issue_frames else pl.DataFrame(schema=ISSUE_SCHEMA)
    rejected_flags = evaluated.select(reject_mask.alias("x")).to_series() if issue_frames else None
    output_columns = [f.name for f in DECLARATION_FIELDS] + [EXTRA_COLUMN, ROW_COLUMN]
    for name in changed if count_changes else ():
        normalisations.append(
            _changes(name, work.get_column(f"t:{name}"), evaluated.get_column(name))
        )
    norm = (
        pl.concat(normalisations) if normalisations else pl.DataFrame(schema=NORMALISATION_SCHEMA)
    )

    if rejected_flags is None or not rejected_flags.any():
        return BatchResult(
            accepted=evaluated.select(output_columns),
            issues=issues,
            rejected=pl.DataFrame(
                schema={"source_row": pl.Int64, "raw": pl.String, "reasons": pl.String}
            ),
            normalisations=norm,
        )
    rejected_rows = raw.filter(rejected_flags)
    raw_json = rejected_rows.select(
        pl.col(ROW_COLUMN).alias("source_row"),
        pl.struct([pl.col(c).cast(pl.String) for c in source_columns])
        .struct.json_encode()
        .alias("raw"),
    )
    reason_text = (
        issues.filter(pl.col("severity") == ERROR)
        .group_by("source_row", maintain_order=True)
        .agg((pl.col("field") + ": " + pl.col("reason")).str.join("; ").alias("reasons"))
    )
    return BatchResult(
        accepted=evaluated.filter(~rejected_flags).select(output_columns),
        issues=issues,
        rejected=raw_json.join(reason_text, on="source_row", how="left"),
        normalisations=norm,
    )


_TZ_DIRECTIVES = ("%#z", "%:z", "%::z", "%z")
_TZ_SUFFIX = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def _date_expr(column: str, formats: list[str], kind: str) -> pl.Expr:
    attempts = []
    for fmt in formats:
        tz = next((d for d in _TZ_DIRECTIVES if d in fmt), None)
        if tz is not None:
            if kind == "date":
                # The date as written (the office's calendar day), whatever the offset.
                naive = fmt.replace(tz, "")
                text = pl.col(column).str.replace(_TZ_SUFFIX, "")
                attempts.append(text.str.to_datetime(naive, strict=False, time_unit="us").dt.date())
            else:
                # A moment: converted to UTC and stored without a zone ('Z' accepted too).
                expr = pl.col(column).str.to_datetime(
                    fmt.replace(tz, "%#z"), strict=False, time_unit="us"
                )
                attempts.append(expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None))
            continue
        if any(token in fmt for token in ("%H", "%M", "%S", "%T")):
            expr = pl.col(column).str.to_datetime(fmt, strict=False, time_unit="us")
            attempts.append(expr.dt.date() if kind == "date" else expr)
        else:
            expr = pl.col(column).str.to_date(fmt, strict=False)
            attempts.append(expr if kind == "date" else expr.cast(pl.Datetime("us")))
    return pl.coalesce(attempts)


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
