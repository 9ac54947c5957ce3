"""Profile transforms, applied to each raw batch before validation (both paths see the result).

* ``extract``: a regular expression; the first capture group (or the whole match) replaces the
  text. A value that does not match keeps its text and its row is rejected with the reason
  (column ``__nomatch:<field>`` tells the validators).
* ``map``: a value map on the trimmed text; unmapped values pass through unchanged.
* decimal comma (``csv.decimal: ","``, or detected): numbers of numeric fields are read with
  ``.`` as thousands separator and ``,`` as decimal separator (``1.234,56`` → ``1234.56``).
* extras whose names collide once normalised (``PORT.NAME`` / ``PORT_NAME``, or differing in
  case), within the file or with keys already stored, are renamed (``port_name_2``);
* header names the reader changed (empty or repeated) are reported the same way.

Every change is counted in the batch's normalisations (one line per field and transform, or
per value for maps). Constants are never transformed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl
import pyarrow as pa

from clearlane.ingest.profile import ColumnMapping, Profile
from clearlane.schema.fields import EXTRA_COLUMN, FIELDS_BY_NAME

NOMATCH_PREFIX = "__nomatch:"
DECIMAL_COMMA_NUMBER = r"^[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?$"
"""A number written with a decimal comma (and dots between thousands), spaces removed."""
DERIVED_PREFIX = "__t:"
_NORMALISATION_SCHEMA = {
    "field": pl.String,
    "original": pl.String,
    "normalised": pl.String,
    "rows": pl.Int64,
}


def normalised_key(name: str) -> str:
    """The form under which two extras collide (as feature names compare them)."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower())


def nomatch_column(field_name: str) -> str:
    return NOMATCH_PREFIX + field_name


@dataclass
class _FieldTransform:
    field: str
    source: str  # the column read
    target: str  # the column written (the source itself, or a derived column)
    mapping: ColumnMapping
    decimal_comma: bool


@dataclass
class Transforms:
    """What to do to each raw batch of one file, and the profile the validators then use."""

    profile: Profile
    columns: list[str]
    renames: dict[str, str] = field(default_factory=dict)
    fields: list[_FieldTransform] = field(default_factory=list)
    header_renames: list[tuple[str, str]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self.renames or self.fields or self.header_renames)

    def apply(self, table: pa.Table) -> tuple[pa.Table, pl.DataFrame]:
        """The transformed batch and its normalisation counts."""
        if not self.active:
            return table, pl.DataFrame(schema=_NORMALISATION_SCHEMA)
        notes: list[pl.DataFrame] = [
            _note("header", written, f"read as {name!r}", table.num_rows)
            for written, name in self.header_renames
        ]
        if self.renames:
            table = table.rename_columns([self.renames.get(c, c) for c in table.column_names])
            for old, new in self.renames.items():
                notes.append(
                    _note("extra", f"source column {old!r}", f"kept as extra {new!r}",
                          table.num_rows)
                )
        if not self.fields:
            return table, pl.concat(notes) if notes else pl.DataFrame(schema=_NORMALISATION_SCHEMA)
        frame = pl.from_arrow(table.select([t.source for t in self.fields]))
        assert isinstance(frame, pl.DataFrame)
        outputs: dict[str, pl.Series] = {}
        for t in self.fields:
            text = frame.get_column(t.source).cast(pl.String)
            value, nomatch, changes = _transform(text, t)
            outputs[t.target] = value
            if nomatch is not None:
                outputs[nomatch_column(t.field)] = nomatch
            notes.extend(changes)
        for column, series in outputs.items():
            array = series.to_arrow(compat_level=pl.CompatLevel.oldest())
            if array.type == pa.large_string():
                array = array.cast(pa.string())
            index = table.schema.get_field_index(column)
            table = (
                table.set_column(index, column, array)
                if index >= 0
                else table.append_column(column, array)
            )
        norm = pl.concat(notes) if notes else pl.DataFrame(schema=_NORMALISATION_SCHEMA)
        return table, norm


def _note(field_name: str, original: str, normalised: str, rows: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"field": [field_name], "original": [original], "normalised": [normalised],
         "rows": [rows]},
        schema=_NORMALISATION_SCHEMA,
    )


def _transform(
    text: pl.Series, t: _FieldTransform
) -> tuple[pl.Series, pl.Series | None, list[pl.DataFrame]]:
    mapping = t.mapping
    notes: list[pl.DataFrame] = []
    value = text
    nomatch: pl.Series | None = None
    if mapping.extract is not None:
        stripped = value.str.strip_chars()
        groups = _group_count(mapping.extract)
        found = stripped.str.extract(mapping.extract, 1 if groups else 0)
        present = stripped.is_not_null() & (stripped != "")
        nomatch = (present & found.is_null()).alias(nomatch_column(t.field))
        changed = int((found.is_not_null() & (found != stripped)).sum())
        value = pl.select(
            pl.when(found.is_not_null()).then(found).otherwise(value)
        ).to_series()
        if changed:
            notes.append(
                _note(t.field, f"source column {mapping.column!r}",
                      f"extracted with {mapping.extract!r}", changed)
            )
    if mapping.map:
        keys = list(mapping.map)
        stripped = value.str.strip_chars()
        hit = stripped.is_in(keys)
        mapped = stripped.replace_strict(mapping.map, default=None, return_dtype=pl.String)
        counts = (
            pl.DataFrame({"original": stripped.filter(hit), "normalised": mapped.filter(hit)})
            .group_by(["original", "normalised"])
            .len("rows")
        )
        for original, normalised, rows in counts.iter_rows():
            if original != normalised:
                notes.append(_note(t.field, original, normalised, rows))
        value = pl.select(pl.when(hit).then(mapped).otherwise(value)).to_series()
    if t.decimal_comma:
        # Only numbers written the decimal-comma way are converted: `1.234,56`, `12,5`,
        # `1.234` (thousands), `1 234,5`. Anything else (`1,234.56`, `12.5`) is left as it
        # is, for validation to accept or refuse as written.
        compact = (
            value.str.strip_chars()
            .str.replace_all(" ", "", literal=True)
            .str.replace_all("\u00a0", "", literal=True)
            .str.replace_all("\u202f", "", literal=True)
        )
        touched = (
            compact.str.contains(DECIMAL_COMMA_NUMBER) & compact.str.contains(r"[.,]")
        ).fill_null(False)
        converted = compact.str.replace_all(".", "", literal=True).str.replace(
            ",", ".", literal=True
        )
        rows = int(touched.sum())
        if rows:
            notes.append(
                _note(t.field, "decimal comma (1.234,56)", "decimal point (1234.56)", rows)
            )
        value = pl.select(pl.when(touched).then(converted).otherwise(value)).to_series()
    return value.alias(t.target), nomatch, notes


def _group_count(pattern: str) -> int:
    import re

    return re.compile(pattern).groups


def plan_transforms(
    profile: Profile,
    columns: list[str],
    *,
    decimal: str = ".",
    absent: Iterable[str] = (),
    stored_extra_keys: Iterable[str] = (),
    header_renames: Iterable[tuple[str, str]] = (),
) -> Transforms:
    """The transforms of ``profile`` for a file with ``columns`` (see module docstring).

    ``decimal`` is the file's decimal separator (from the profile, or as the reader detected
    it); ``stored_extra_keys``: the extra keys already in the workspace.
    """
    absent = set(absent)
    renames = _extra_renames(profile, columns, stored_extra_keys)
    effective_columns = [renames.get(c, c) for c in columns]
    updates: dict[str, object] = {}
    if renames and isinstance(profile.extras, list):
        updates["extras"] = [renames.get(c, c) for c in profile.extras]
    transforms: list[_FieldTransform] = []
    users: dict[str, int] = {}
    for mapping in profile.columns.values():
        users[mapping.column] = users.get(mapping.column, 0) + 1
    new_columns = dict(profile.columns)
    for name, mapping in profile.columns.items():
        if name in absent or mapping.column not in columns:
            continue
        kind = FIELDS_BY_NAME[name].kind
        comma = decimal == "," and kind in ("int", "float")
        if mapping.extract is None and not mapping.map and not comma:
            continue
        source = renames.get(mapping.column, mapping.column)
        target = source
        if users[mapping.column] > 1:
            # The column feeds several fields: transform a copy for this one.
            target = DERIVED_PREFIX + name
            new_columns[name] = mapping.model_copy(update={"column": target})
        transforms.append(_FieldTransform(name, source, target, mapping, comma))
    if new_columns != profile.columns:
        updates["columns"] = new_columns
        if profile.extras == "unmapped":
            mapped = {renames.get(m.column, m.column) for m in profile.columns.values()}
            updates["extras"] = [
                c for c in effective_columns if c not in mapped and c != EXTRA_COLUMN
            ]
    effective = profile.model_copy(update=updates) if updates else profile
    return Transforms(effective, effective_columns, renames, transforms, list(header_renames))


def kept_extras(profile: Profile, columns: list[str]) -> list[str]:
    """The source columns ``profile`` keeps as extras in a file with ``columns``."""
    mapped = {m.column for m in profile.columns.values()}
    if profile.extras == "unmapped":
        return [c for c in columns if c not in mapped and c != EXTRA_COLUMN]
    return [c for c in profile.extras if c in columns]


def _extra_renames(
    profile: Profile, columns: list[str], stored_extra_keys: Iterable[str]
) -> dict[str, str]:
    """Kept source columns renamed so that no two extras collide once normalised."""
    kept = kept_extras(profile, columns)
    taken: dict[str, str] = {}  # normalised → the name that holds it
    for key in stored_extra_keys:
        taken.setdefault(normalised_key(key), key)
    used = set(columns)
    renames: dict[str, str] = {}
    for column in kept:
        norm = normalised_key(column)
        holder = taken.get(norm)
        if holder is None or holder == column:
            taken.setdefault(norm, column)
            continue
        n = 2
        while normalised_key(f"{norm}_{n}") in taken or f"{norm}_{n}" in used:
            n += 1
        new = f"{norm}_{n}"
        renames[column] = new
        taken[normalised_key(new)] = new
        used.add(new)
    return renames
