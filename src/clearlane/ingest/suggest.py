"""Suggest a column-mapping profile for an unknown layout from column names and contents.

Every (source column, canonical field) pair is scored on two things:

* the **name**: how well the column's words match the field's name or one of its synonyms
  (English, French, ASYCUDA database names, Arabic transliterations; see
  :mod:`clearlane.ingest.suggest_vocabulary`);
* the **content**: what a sample of the values looks like (dates and their format, ISO or
  pseudonymised country codes, currencies, 6-10 digit codes, numbers, yes/no values,
  ``n of m`` item numbers, free text, person or company names).

Some pairs are ruled out whatever their score: a column of names (``KONE Aminata``,
``SAHEL TRADING SARL``) or a column called ``… Name`` is never an identifier; an office is
not an officer; an exchange rate is not a tax rate; tax raised by an inspection is not the tax
paid. Columns and fields are then matched **one to one** so that the total score is highest
(the assignment problem, solved by :func:`scipy.optimize.linear_sum_assignment`), and a pair
is kept only where its score reaches :data:`MIN_SCORE`. Each column gets a confidence (its
score) and a reason; the others are kept as extras.

Where the data show it, the mapping carries the options a profile needs to read the column
(a date format decided from the values, ``extract`` for ``1 of 3``, ``codes: keep`` for
country codes that are not ISO, the yes/no words of an outcome column). What cannot be
decided from the data (day/month order when no day exceeds 12, a required field with no
column) is listed as a decision for the user, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from difflib import SequenceMatcher
from typing import Any

import numpy as np
import polars as pl
import yaml
from scipy.optimize import linear_sum_assignment

from clearlane.ingest.profile import Profile, parse_profile
from clearlane.ingest.suggest_content import (
    ITEM_EXTRACT,
    TRUE_FLAGS,
    ColumnContent,
    describe_column,
    swap_day_month,
    yes_no_values,
)
from clearlane.ingest.suggest_vocabulary import (
    FORBIDDEN_TOKENS,
    ID_FIELDS,
    KNOWN_EXTRAS,
    NAME_WORDS,
    name_tokens,
    synonym_tokens,
)
from clearlane.reference.currencies import normalise_currency
from clearlane.schema.fields import DECLARATION_FIELDS, FIELDS_BY_NAME

MIN_SCORE = 0.5
"""A (column, field) pair scoring less is not suggested; the column becomes an extra."""
NAME_WEIGHT = 0.6
"""Share of the score that comes from the name; the rest comes from the content."""

@dataclass(frozen=True)
class ColumnSuggestion:
    """The field suggested for one source column, with its confidence (0-1) and the reason.

    ``options`` are the mapping options the data call for (``format``, ``extract``,
    ``codes``, ``true_values`` …); ``field`` is None for a column kept as an extra.
    """

    column: str
    field: str | None
    score: float
    why: str
    options: dict[str, Any] = dataclass_field(default_factory=dict)

    @property
    def confidence(self) -> float:
        return self.score


@dataclass(frozen=True)
class Decision:
    """Something the data cannot settle: the field (or profile key) and what to decide."""

    field: str
    message: str
    blocking: bool = True


@dataclass(frozen=True)
class ProfileSuggestion:
    """A proposed profile: its YAML (commented), the parsed profile, and the reasoning."""

    profile: Profile
    columns: list[ColumnSuggestion]
    decisions: list[Decision]
    yaml_text: str

    @property
    def ingests_as_is(self) -> bool:
        """True when nothing blocking is left to decide."""
        return not any(d.blocking for d in self.decisions)


# -- names ------------------------------------------------------------------------------


def name_score(column: str, field_name: str) -> float:
    """Similarity of a column name to a field name or one of its synonyms (0-1)."""
    return _name_match(column, field_name)[0]


def _name_match(column: str, field_name: str) -> tuple[float, str]:
    col = name_tokens(column)
    if not col:
        return 0.0, ""
    best, best_synonym = 0.0, ""
    for synonym, weight in synonym_tokens(field_name):
        if not synonym:
            continue
        score = weight * _token_score(col, synonym)
        if score > best:
            best, best_synonym = score, " ".join(synonym)
    return best, best_synonym


def _token_score(col: tuple[str, ...], synonym: tuple[str, ...]) -> float:
    if col == synonym:
        return 1.0
    shared = len(set(col) & set(synonym))
    if shared == len(set(synonym)):  # every word of the synonym is in the column name
        return 0.75 + 0.2 * shared / len(set(col))
    partial = 0.6 * (shared / len(set(synonym))) * (shared / len(set(col))) ** 0.5
    joined_col, joined_syn = "".join(col), "".join(synonym)
    fuzzy = SequenceMatcher(None, joined_col, joined_syn).ratio()
    # Close spellings of long words only ("HSCODE", "Importeur"); short words differ by meaning.
    fuzzy_score = 0.7 * fuzzy if fuzzy >= 0.85 and min(len(joined_col), len(joined_syn)) >= 5 else 0
    return max(partial, fuzzy_score)


# -- scoring ----------------------------------------------------------------------------


def _content_fit(field_name: str, c: ColumnContent) -> tuple[float, str]:
    """How well the values fit the field (0-1), and what was seen."""
    if c.present == 0:
        return 0.0, "no values in the sample"
    kind = FIELDS_BY_NAME[field_name].kind
    not_date = 1.0 - (c.date.share if c.date else 0.0)
    if field_name in ("goods_description", "finding"):
        return c.text, f"{c.text:.0%} free text"
    if field_name == "item_no":
        if c.item_of >= 0.9:
            return c.item_of, f"{c.item_of:.0%} of values are 'n of m' item numbers"
        small = c.integer >= 0.99 and c.minimum is not None and c.minimum >= 1 and (
            c.maximum or 0) <= 9999
        return (1.0, "small whole numbers") if small else (0.0, "not item numbers")
    if kind == "hs":
        return c.hs, f"{c.hs:.0%} are 6-10 digit codes"
    if kind == "country":
        if c.pseudo_country > c.country:
            return c.pseudo_country, f"{c.pseudo_country:.0%} are country codes that are not ISO"
        return c.country, f"{c.country:.0%} are ISO country codes"
    if kind == "currency":
        return c.currency, f"{c.currency:.0%} are ISO currency codes"
    if kind in ("date", "datetime"):
        if c.date is None:
            return 0.0, "not dates"
        return c.date.share, f"{c.date.share:.0%} are dates as {' or '.join(c.date.formats)}"
    if kind == "bool":
        if c.flag or yes_no_values(list(c.values)):
            return 1.0, f"yes/no values {list(c.values)}"
        return 0.0, f"{list(c.values or c.examples)} are not yes/no values"
    if kind in ("int", "float"):
        fit = c.numeric * not_date
        if field_name == "tax_rate" and (c.maximum or 0) > 100:
            return fit * 0.3, f"{c.numeric:.0%} numbers, up to {c.maximum:g} (high for a rate)"
        if (c.minimum or 0) < 0 and FIELDS_BY_NAME[field_name].minimum == 0:
            fit *= 0.5
        return fit, f"{c.numeric:.0%} numbers"
    # identifiers and short codes
    if field_name in ID_FIELDS and c.names >= 0.5:
        return 0.0, f"{c.names:.0%} look like person or company names"
    if field_name == "declaration_id":
        fit = c.code * not_date * min(1.0, 3 * c.distinct_ratio)
        return fit, f"codes, {c.distinct} distinct in {c.present} rows"
    if field_name in ("transport_mode", "quantity_unit", "inspection_basis"):
        few = 1.0 if c.distinct <= 30 else 0.3
        return few * not_date * (c.short if field_name != "inspection_basis" else 1.0), (
            f"{c.distinct} distinct short codes"
        )
    if field_name in ID_FIELDS:
        return c.code * not_date * (0.3 if c.distinct <= 1 else 1.0), f"{c.code:.0%} codes"
    return 0.5 * not_date, "text"


def _veto(column: str, field_name: str, content: ColumnContent) -> str | None:
    """Why the pair is ruled out whatever its score, or None."""
    words = set(name_tokens(column))
    if field_name in ID_FIELDS and words & NAME_WORDS:
        return "a name column is never an identifier"
    if field_name in ID_FIELDS and content.names >= 0.5:
        return "values look like person or company names: not an identifier"
    forbidden = FORBIDDEN_TOKENS.get(field_name)
    if forbidden and words & forbidden[0]:
        return forbidden[1]
    return None


def _score_matrix(
    sample: pl.DataFrame, contents: dict[str, ColumnContent]
) -> tuple[np.ndarray, list[list[str]], dict[str, str], dict[str, str]]:
    """Scores (columns × fields, 0 where ruled out or below MIN_SCORE), the reason of each
    scored pair, and per column the strongest rule that ruled a field out (``vetoes``) and the
    strongest name whose field the values contradict (``contradictions``)."""
    fields = [f.name for f in DECLARATION_FIELDS]
    scores = np.zeros((len(sample.columns), len(fields)))
    reasons: list[list[str]] = [["" for _ in fields] for _ in sample.columns]
    vetoes: dict[str, str] = {}
    contradictions: dict[str, str] = {}
    for i, column in enumerate(sample.columns):
        content = contents[column]
        veto_name = contradiction_name = 0.0
        for j, field_name in enumerate(fields):
            by_name, synonym = _name_match(column, field_name)
            fit, seen = _content_fit(field_name, content)
            kind = FIELDS_BY_NAME[field_name].kind
            # Content alone may name a field only where it is unmistakable.
            content_only = kind in ("hs", "currency") and fit >= 0.95
            if by_name < 0.45 and not content_only:
                continue
            veto = _veto(column, field_name, content)
            if veto:
                if by_name > veto_name:
                    vetoes[column], veto_name = f"not {field_name}: {veto}", by_name
                continue
            if fit < 0.2 and kind not in ("str",):
                # The values contradict the name (text in a number field, 0/1/2 for yes/no).
                if by_name >= 0.75 and by_name > contradiction_name:
                    contradictions[column] = f"the name says {field_name} but {seen}"
                    contradiction_name = by_name
                continue
            score = NAME_WEIGHT * by_name + (1 - NAME_WEIGHT) * fit
            scores[i, j] = score if score >= MIN_SCORE else 0.0
            named = f"name ≈ '{synonym}'" if synonym else "content only"
            reasons[i][j] = f"{named} ({by_name:.2f}); {seen}"
    return scores, reasons, vetoes, contradictions


def suggest_columns(
    sample: pl.DataFrame, contents: dict[str, ColumnContent] | None = None
) -> list[ColumnSuggestion]:
    """The best one-to-one assignment of columns to fields, with options, for a sample
    (``contents``: each column described, when the caller has done so already)."""
    if contents is None:
        contents = _describe(sample)
    fields = [f.name for f in DECLARATION_FIELDS]
    scores, reasons, vetoes, contradictions = _score_matrix(sample, contents)
    chosen: dict[str, ColumnSuggestion] = {}
    if scores.size:
        rows, cols = linear_sum_assignment(scores, maximize=True)
        for i, j in zip(rows, cols, strict=True):
            if scores[i, j] <= 0:
                continue
            column, field_name = sample.columns[i], fields[j]
            options, note = _options(field_name, contents[column])
            why = reasons[i][j] + (f"; {note}" if note else "")
            score = float(scores[i, j])
            others = np.delete(scores[:, j], i)
            runner_up = float(others.max()) if others.size else 0.0
            if runner_up > 0 and runner_up > score - 0.1:
                # Another column fits the field almost as well: say so, and be less sure.
                k = int(np.argmax(np.where(np.arange(len(scores)) == i, -1.0, scores[:, j])))
                why += f"; also fits: {sample.columns[k]!r} ({runner_up:.2f})"
                score -= 2 * (runner_up - (score - 0.1))
            chosen[column] = ColumnSuggestion(column, field_name, round(score, 2), why, options)
    result = []
    for i, column in enumerate(sample.columns):
        if column in chosen:
            result.append(chosen[column])
            continue
        row = scores[i]
        if column in vetoes:
            why = f"kept as extra: {vetoes[column]}"
        elif row.max() > 0:
            j = int(row.argmax())
            why = f"kept as extra: {fields[j]} went to a better column"
        elif column in contradictions:
            why = f"kept as extra: {contradictions[column]}"
        elif known := [KNOWN_EXTRAS[w] for w in name_tokens(column) if w in KNOWN_EXTRAS]:
            why = f"kept as extra: {known[0]}"
        else:
            why = "kept as extra: no field matches its name and values"
        result.append(ColumnSuggestion(column, None, 0.0, why))
    return result


def _describe(sample: pl.DataFrame) -> dict[str, ColumnContent]:
    return {c: describe_column(sample.get_column(c)) for c in sample.columns}


def _options(field_name: str, content: ColumnContent) -> tuple[dict[str, Any], str]:
    """Mapping options the values call for, and a note saying why."""
    kind = FIELDS_BY_NAME[field_name].kind
    options: dict[str, Any] = {}
    notes: list[str] = []
    if kind in ("date", "datetime") and content.date:
        formats = content.date.formats
        options["format"] = formats[0] if len(formats) == 1 else list(formats)
        if content.date.evidence and not content.date.ambiguous_order:
            notes.append(f"day/month order from the data: {content.date.evidence}")
    if field_name == "item_no" and content.item_of >= 0.9:
        options["extract"] = ITEM_EXTRACT
        notes.append(f"'{content.examples[0]}' → extract the first number")
    if kind == "country" and content.pseudo_country > content.country:
        options["codes"] = "keep"
        notes.append(f"codes such as {content.examples[0]!r} are kept as they are")
    if kind == "bool" and not content.flag:
        split = yes_no_values(list(content.values))
        if split:
            options["true_values"], options["false_values"] = split
            notes.append(f"yes = {split[0]}, no = {split[1]}")
    elif kind == "bool" and content.flag:
        split = yes_no_values(list(content.values))
        if split and {v.lower() for v in split[0]} - set(TRUE_FLAGS[:5]):
            options["true_values"], options["false_values"] = split
    return options, "; ".join(notes)


# -- the profile -------------------------------------------------------------------------


def suggest_profile(sample: pl.DataFrame, name: str) -> ProfileSuggestion:
    """A profile proposal for a sample of a file's rows, with per-column reasons and the
    decisions left to the user. The YAML parses back to ``profile`` exactly."""
    decisions: list[Decision] = []
    contents = _describe(sample)
    columns = suggest_columns(sample, contents)
    mapped = {s.field: s for s in columns if s.field}
    for s in mapped.values():
        content = contents[s.column]
        guess = content.date
        if FIELDS_BY_NAME[s.field or ""].kind in ("date", "datetime") and guess:
            if guess.ambiguous_order:
                fmt = guess.formats[0]
                decisions.append(Decision(
                    s.field or "", f"column {s.column!r}: day/month order cannot be told from "
                    f"the sample ({guess.evidence}); assumed {fmt}, use {swap_day_month(fmt)} if "
                    "months come first"))
            if guess.share < 1.0:
                decisions.append(Decision(
                    s.field or "", f"column {s.column!r}: {1 - guess.share:.0%} of the sampled "
                    f"values are not dates in {' or '.join(guess.formats)}", blocking=False))
        if FIELDS_BY_NAME[s.field or ""].kind == "bool" and "true_values" not in s.options and (
            not content.flag
        ):
            decisions.append(Decision(
                s.field or "", f"column {s.column!r}: say which values mean yes "
                f"(`true_values`) and no (`false_values`); seen {list(content.values)}"))
    repeated = _repeated_keys(sample, mapped)
    if repeated:
        decisions.append(Decision("declaration_id", repeated))
    for f in DECLARATION_FIELDS:
        if f.required and f.name not in mapped:
            decisions.append(Decision(
                f.name, f"required field {f.name!r} has no column; map one of "
                f"{[s.column for s in columns if s.field is None][:8]}"))
    top: list[str] = []
    comma = [s.column for s in mapped.values() if contents[s.column].decimal_comma
             and FIELDS_BY_NAME[s.field or ""].kind in ("int", "float")]
    if comma:
        top.append(f'csv: {{decimal: ","}}  # decimal commas in {comma[:3]}')
    found = national_currency_from_names(sample.columns)
    if found:
        top.append(f"national_currency: {found[0]}  # from the column name {found[1]!r}")
    else:
        decisions.append(Decision(
            "national_currency", "amounts are taken to be in national currency: add "
            "`national_currency: <ISO 4217 code>` (e.g. XOF) to say which", blocking=False))
    yaml_text = _render_yaml(name, columns, decisions, top)
    profile = parse_profile(yaml_text, f"{name}.yaml")
    return ProfileSuggestion(profile, columns, decisions, yaml_text)


def _repeated_keys(sample: pl.DataFrame, mapped: dict[str, ColumnSuggestion]) -> str:
    """Why the suggested key (declaration_id, item_no) is not unique in the sample, or ''."""
    declaration = mapped.get("declaration_id")
    if declaration is None or sample.height == 0:
        return ""
    key = [pl.col(declaration.column).cast(pl.String).alias("d")]
    item = mapped.get("item_no")
    if item is not None:
        text = pl.col(item.column).cast(pl.String)
        pattern = item.options.get("extract")
        key.append((text.str.extract(pattern, 1) if pattern else text).alias("i"))
    keys = sample.select(key)
    repeats = keys.filter(keys.is_duplicated())
    if repeats.is_empty():
        return ""
    example = repeats.row(0)
    return (
        f"{repeats.height} sampled rows share a key (declaration_id from {declaration.column!r}"
        + (f", item_no from {item.column!r}" if item else "")
        + f"), e.g. {example}: ingest would keep the first and record the others as conflicts. "
        "Map a column that is unique per declaration (in ASYCUDA, numbers restart per office "
        "and year: office, year and number together), or the item number"
    )


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def national_currency_from_names(names: Sequence[str]) -> tuple[str, str] | None:
    """An ISO 4217 code written in an amount column's name (``CIF Value (XOF)``), with the
    column, or None."""
    for column in names:
        if "currency" in name_tokens(column):
            continue  # the invoice currency column, not the national one
        for code in re.findall(r"(?:\(|\[|\b)([A-Z]{3})(?:\)|\]|$)", column):
            if normalise_currency(code) == code:
                return code, column
    return None


def _render_yaml(
    name: str, columns: list[ColumnSuggestion], decisions: list[Decision], top: list[str]
) -> str:
    mapped = [s for s in columns if s.field]
    fields = {s.field for s in mapped}
    lines = [
        "# Suggested by `clearlane profile suggest`: review the confidence and reason of each",
        "# mapping (0-1, after the #) before use.",
    ]
    for d in decisions:
        tag = "DECIDE" if d.blocking else "NOTE"
        lines.append(f"# {tag} {d.field}: {_one_line(d.message)}")
    lines += [f"name: {_flow(name)}",
              f"description: {_flow('Suggested by clearlane profile suggest; review before use.')}"]
    lines += top
    lines.append("columns:")
    for s in sorted(mapped, key=lambda s: list(FIELDS_BY_NAME).index(s.field or "")):
        value: Any = {"column": s.column, **s.options} if s.options else s.column
        lines.append(f"  {s.field}: {_flow(value)}  # {s.score:.2f}: {_one_line(s.why)}")
    if "item_no" not in fields:
        lines += ["constants:", "  item_no: 1  # no item number column: one item per declaration"]
    lines.append("extras: unmapped  # every other column is kept in `extra`:")
    for s in columns:
        if s.field is None:
            lines.append(f"#   {_one_line(s.column)}: {_one_line(s.why)}")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())
