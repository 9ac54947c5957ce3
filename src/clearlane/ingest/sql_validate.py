"""The fast path of validation: the clean majority of a batch, checked and converted in DuckDB.

:func:`clearlane.ingest.validate.validate_batch` (polars) is the reference: it computes every
value, every check and every reason. Running it on millions of rows, and moving the rows between
DuckDB, Arrow and polars, is what made ingest slow. Here the same batch, registered in DuckDB as
``batch_raw`` (text columns + ``__row__``), is turned into canonical values by one SQL statement,
and each row gets a ``suspect`` flag. A row that is not suspect passes every check of the
reference and gets exactly the values the reference would give it; every suspect row (anything
that may be rejected, warned about or read differently) is handed to the reference, which
then names the row, field, value and reason.

Exactness rests on three things:

* fields with few distinct values (HS code, country, currency, dates, yes/no) are validated by
  the reference itself, once per distinct text (:func:`evaluate_distinct`), and joined back;
* numbers are parsed by DuckDB only where that cannot differ from polars: the same characters
  are removed first, and a row is suspect where DuckDB fails, gives a non-finite value, or
  where any check of the reference could fire;
* text fields are stripped of spaces; a row whose text holds any other whitespace character
  (which polars would also strip) is suspect.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from clearlane.ingest.profile import MASS_UNITS_TO_KG, Profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.transforms import nomatch_column
from clearlane.ingest.validate import (
    ISSUE_SCHEMA,
    LOOKUP_KINDS,
    NORMALISATION_SCHEMA,
    ValidationContext,
    evaluate_distinct,
    kept_reason,
)
from clearlane.schema.fields import (
    DECLARATION_FIELDS,
    EXTRA_COLUMN,
    FIELD_NAMES,
    FIELDS_BY_NAME,
    KEY_FIELDS,
    CanonicalField,
    sql_type,
)

CHECKED_TABLE = "batch_checked"
RAW_VIEW = "batch_raw"

# Whitespace that polars' strip_chars() removes, other than the space (U+0020).
_OTHER_WHITESPACE = (
    r"[\t\n\x0b\x0c\r\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}"
    r"\x{205f}\x{3000}]"
)
# Beyond this magnitude a float no longer holds every whole number exactly.
_LARGEST_EXACT = 2.0**53


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def _stripped_sql(raw: str) -> str:
    """``raw`` without leading and trailing spaces, NULL when empty.

    ``trim`` builds a new string for every value; the few values that start or end with a
    space are the only ones that need it (about five times cheaper over a batch).
    """
    return (
        f"(CASE WHEN prefix({raw}, ' ') OR suffix({raw}, ' ') THEN nullif(trim({raw}), '') "
        f"ELSE nullif({raw}, '') END)"
    )


def _other_whitespace_sql(columns: list[str]) -> str:
    """True where any of the text ``columns`` holds whitespace other than the space.

    One pattern over all fields is cheaper than one per field; pure-ASCII text (the usual
    case: byte length = character length) only needs a search for the five ASCII control
    characters, which is cheaper still than the regular expression.
    """
    joined = f"concat({', '.join(columns)})"
    ascii_controls = " OR ".join(f"contains({joined}, chr({code}))" for code in (9, 10, 11, 12, 13))
    return (
        f"(CASE WHEN strlen({joined}) = length({joined}) THEN ({ascii_controls}) "
        f"ELSE regexp_matches({joined}, '{_OTHER_WHITESPACE}') END)"
    )


# Lookup fields whose accepted values may differ from their text (counted as normalisations).
_NORMALISED_KINDS = ("hs", "country", "currency")


def _counts_table(field: str) -> str:
    return f"lookup_counts_{field}"


@dataclass(frozen=True)
class _Lookup:
    """A field validated per distinct text: its temp table and where its text comes from."""

    field: CanonicalField
    table: str
    raw_sql: str  # the source text: a quoted column or a constant literal
    constant: bool


class SqlBatchValidator:
    """Builds and runs the fast-path SQL of one profile over successive batches.

    Use one instance per ingest (it keeps the per-distinct-value lookups between batches):
    :meth:`check` materialises ``batch_checked`` (canonical columns, ``extra``,
    ``source_row`` and ``suspect``) from the registered ``batch_raw``.
    """

    def __init__(
        self,
        profile: Profile,
        context: ValidationContext,
        source_columns: list[str],
        absent: set[str] | None = None,
    ) -> None:
        self.profile = profile
        self.context = context
        self.source_columns = [c for c in source_columns if c != ROW_COLUMN]
        self.absent = absent or set()
        self.lookups: dict[str, _Lookup] = {}
        self._ready = False
        self._filter = ""
        self._checked_kind = ""

    # -- SQL building --------------------------------------------------------------------
    def _raw_sql(self, field: CanonicalField) -> tuple[str | None, bool]:
        """The field's source text as SQL (a column of ``b`` or a literal), and if constant."""
        if field.name in self.profile.constants:
            return _literal(self.profile.constants[field.name]), True
        mapping = self.profile.columns.get(field.name)
        if mapping is None or field.name in self.absent:
            return None, False
        return f"b.{_ident(mapping.column)}", False

    def _select_sql(self, keys_only: bool = False) -> str:
        """Two layers: ``inner`` computes each text, number and lookup once; the outer
        select turns them into canonical values and the ``suspect`` flag.

        ``keys_only``: just the key columns, computed exactly as in the full statement.
        """
        inner: list[str] = [f"b.{_ident(ROW_COLUMN)} AS source_row"]
        values: list[str] = []
        suspects: list[str] = []
        carried: list[str] = []
        joins: list[str] = []
        text_columns: list[str] = []
        number_columns: list[str] = []
        fields = [f for f in DECLARATION_FIELDS if f.name in KEY_FIELDS or not keys_only]
        for field in fields:
            name, kind = field.name, field.kind
            raw, constant = self._raw_sql(field)
            target = sql_type(kind)
            if raw is None:
                default = "1" if name == "item_no" else "NULL"
                values.append(f"CAST({default} AS {target}) AS {name}")
                continue
            text = raw if constant else _stripped_sql(raw)
            t, n = _ident("t:" + name), _ident("n:" + name)
            mapping = self.profile.columns.get(name)
            if not constant and not keys_only and mapping is not None and mapping.extract:
                # The transforms flag values the profile's extract pattern does not match.
                nomatch = _ident("nm:" + name)
                inner.append(f"b.{_ident(nomatch_column(name))} AS {nomatch}")
                suspects.append(nomatch)
            if kind in LOOKUP_KINDS:
                alias = f"lk_{name}"
                joins.append(f"LEFT JOIN {self.lookups[name].table} {alias} ON {alias}.raw = {raw}")
                inner.append(f"{alias}.value AS {name}, {alias}.ok AS {_ident('ok:' + name)}")
                values.append(name)
                suspects.append(f"NOT {_ident('ok:' + name)}")
                if field.required:
                    inner.append(f"{raw} IS NULL AS {_ident('null:' + name)}")
                    suspects.append(_ident("null:" + name))
                if kind in ("hs", "country", "currency"):
                    inner.append(f"{alias}.original AS {_ident('o:' + name)}")
                    carried.append(_ident("o:" + name))
                if self._keeps(name):
                    inner.append(f"coalesce({alias}.kept, false) AS {_ident('kept:' + name)}")
                    carried.append(_ident("kept:" + name))
                continue
            inner.append(f"{text} AS {t}")
            if kind == "str":
                values.append(f"{t} AS {name}")
                if not constant:
                    text_columns.append(raw)
                if field.required:
                    suspects.append(f"{t} IS NULL")
                continue
            # int / float: DuckDB reads what polars reads once spaces and underscores are
            # removed, except for underscores (different rules): those rows go the slow way.
            inner.append(f"TRY_CAST({raw} AS DOUBLE) AS {n}")
            if not constant:
                number_columns.append(raw)
            # One BETWEEN per number (DuckDB would recompute a reused cast): NULL, NaN,
            # infinities and values below the minimum all fall outside.
            low = -_LARGEST_EXACT if kind == "int" else -1.7976931348623157e308
            high = _LARGEST_EXACT if kind == "int" else 1.7976931348623157e308
            if field.minimum is not None:
                low = max(low, field.minimum)
            suspects.append(f"NOT coalesce({n} BETWEEN {low!r} AND {high!r}, {t} IS NULL)")
            if kind == "int":
                suspects.append(f"{n} <> round({n})")
            mapping = self.profile.columns.get(name)
            factor = 1.0
            if mapping is not None and not constant:
                factor = mapping.scale * (MASS_UNITS_TO_KG[mapping.unit] if mapping.unit else 1.0)
            scaled = n if factor == 1.0 else f"({n} * {factor!r})"
            if kind == "int":
                value = f"CAST(round({scaled}) AS BIGINT)"
                if name == "item_no":
                    value = f"coalesce({value}, 1)"
                values.append(f"{value} AS {name}")
            else:
                values.append(f"{scaled} AS {name}")
            if factor != 1.0:
                carried.append(t)
        if keys_only:
            assert not joins, "key fields are never validated through a lookup"
            return f"SELECT {', '.join(values)} FROM (SELECT {', '.join(inner)} FROM {RAW_VIEW} b)"
        if number_columns:
            # One search over the row's number texts: cheaper than one per column.
            inner.append(f"contains(concat({', '.join(number_columns)}), '_') AS underscore")
            suspects.append("underscore")
        if text_columns:
            inner.append(f"{_other_whitespace_sql(text_columns)} AS other_whitespace")
            suspects.append("other_whitespace")
        inner.append(f"{self._extra_sql()} AS {EXTRA_COLUMN}")
        suspect = " OR ".join(f"coalesce({s}, false)" for s in suspects) or "false"
        return (
            f"SELECT source_row, {', '.join(values)}, {EXTRA_COLUMN}, ({suspect}) AS suspect"
            + "".join(f", {c}" for c in carried)
            + f" FROM (SELECT {', '.join(inner)} FROM {RAW_VIEW} b {' '.join(joins)})"
        )

    def _extra_sql(self) -> str:
        """The kept source columns as one JSON object, as the reference encodes it."""
        profile = self.profile
        mapped = {m.column for m in profile.columns.values()}
        columns = (
            [c for c in self.source_columns if c not in mapped]
            if profile.extras == "unmapped"
            else list(profile.extras)
        )
        columns = [c for c in columns if c in self.source_columns and c != EXTRA_COLUMN]
        existing = EXTRA_COLUMN in self.source_columns and profile.extras == "unmapped"
        if columns:
            pairs = ", ".join(f"{_literal(c)}, b.{_ident(c)}" for c in columns)
            new = f"CAST(json_object({pairs}) AS VARCHAR)"
            if not existing:
                return new
            # the source's own extras object and the other kept columns, merged (nothing lost)
            old = f"trim(CAST(b.{_ident(EXTRA_COLUMN)} AS VARCHAR))"
            wrapped = f"CAST(json_object({_literal(EXTRA_COLUMN)}, b.{_ident(EXTRA_COLUMN)}, {pairs}) AS VARCHAR)"
            return (f"CASE WHEN {old} IS NULL OR {old} IN ('', '{{}}') THEN {new} "
                    f"WHEN {old} LIKE '{{%}}' THEN left({old}, length({old}) - 1) || ',' || substr({new}, 2) "
                    f"ELSE {wrapped} END")
        if existing:
            return f"b.{_ident(EXTRA_COLUMN)}"
        return "CAST(NULL AS VARCHAR)"

    def _keeps(self, name: str) -> bool:
        """Whether the field keeps codes that are not ISO (`codes: keep`), with a warning."""
        mapping = self.profile.columns.get(name)
        return (
            mapping is not None
            and mapping.codes == "keep"
            and name not in self.profile.constants
            and FIELDS_BY_NAME[name].kind in ("country", "currency")
        )

    def kept_issues(self, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
        """The warnings on codes kept as-is among the rows that are not suspect (the fast path
        stores those rows itself, so it reports their warnings as the reference would)."""
        parts = []
        for name in self.lookups:
            if not self._keeps(name):
                continue
            reason = _literal(kept_reason(FIELDS_BY_NAME[name].kind))
            parts.append(
                f"SELECT source_row, '{name}' AS field, {_ident('o:' + name)} AS value, "
                f"{reason} AS reason, 'warning' AS severity FROM {CHECKED_TABLE} "
                f"WHERE {_ident('kept:' + name)}{self._filter.replace('WHERE', 'AND')}"
            )
        if not parts:
            return pl.DataFrame(schema=ISSUE_SCHEMA)
        return con.sql(" UNION ALL ".join(parts)).pl().cast(ISSUE_SCHEMA)

    # -- running ---------------------------------------------------------------------------
    def _setup(self, con: duckdb.DuckDBPyConnection) -> None:
        for field in DECLARATION_FIELDS:
            if field.kind not in LOOKUP_KINDS:
                continue
            raw, constant = self._raw_sql(field)
            if raw is None:
                continue
            table = f"lookup_{field.name}"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} (raw VARCHAR, original VARCHAR, "
                f"value {sql_type(field.kind)}, ok BOOLEAN, kept BOOLEAN)"
            )
            self.lookups[field.name] = _Lookup(field, table, raw, constant)
        self._sql = self._select_sql()
        self._keys_sql = self._select_sql(keys_only=True)
        self._ready = True

    def _update_lookups(self, con: duckdb.DuckDBPyConnection) -> None:
        """Validate, with the reference, every text of a lookup field not seen before.

        Fields whose values may be normalised (HS codes, countries, currencies) also keep how
        many rows of the batch hold each text: a batch without suspect rows counts its
        normalisations from those (:meth:`normalisations`) instead of a pass over the batch.
        """
        for name, lookup in self.lookups.items():
            texts = f"SELECT {lookup.raw_sql} AS raw FROM {RAW_VIEW} b"
            if lookup.field.kind in _NORMALISED_KINDS:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {_counts_table(name)} AS "
                    f"SELECT raw, count(*) AS rows FROM ({texts}) GROUP BY ALL"
                )
                texts = f"SELECT raw FROM {_counts_table(name)}"
            new = con.sql(
                f"SELECT DISTINCT raw FROM ({texts}) "
                f"WHERE raw IS NOT NULL AND raw NOT IN (SELECT raw FROM {lookup.table})"
            ).fetchall()
            if not new:
                continue
            evaluated = evaluate_distinct(
                [row[0] for row in new],
                lookup.field,
                self.profile,
                self.context,
                constant=lookup.constant,
            )
            con.register("lookup_input", evaluated.to_arrow())
            try:
                con.execute(f"INSERT INTO {lookup.table} SELECT * FROM lookup_input")
            finally:
                con.unregister("lookup_input")

    def check(self, con: duckdb.DuckDBPyConnection) -> int:
        """Define ``batch_checked`` over ``batch_raw``; returns the number of suspect rows.

        Without suspects it stays a view (each later query computes only the columns it
        reads); with suspects it is materialised once, as every later query filters on them.
        """
        if not self._ready:
            self._setup(con)
        self._update_lookups(con)
        self._drop_checked(con)
        con.execute(f"CREATE TEMP VIEW {CHECKED_TABLE} AS {self._sql}")
        self._checked_kind = "VIEW"
        rows = con.execute(f"SELECT count_if(suspect) FROM {CHECKED_TABLE}").fetchall()
        suspects = int(rows[0][0]) if rows else 0
        if suspects:
            self._drop_checked(con)
            con.execute(f"CREATE TEMP TABLE {CHECKED_TABLE} AS {self._sql}")
            self._checked_kind = "TABLE"
        self._filter = " WHERE NOT suspect" if suspects else ""
        return suspects

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Remove the temporary tables and views this validator made."""
        self._drop_checked(con)
        for name, lookup in self.lookups.items():
            con.execute(f"DROP TABLE IF EXISTS {lookup.table}")
            con.execute(f"DROP TABLE IF EXISTS {_counts_table(name)}")

    def _drop_checked(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._checked_kind:
            con.execute(f"DROP {self._checked_kind} {CHECKED_TABLE}")
            self._checked_kind = ""

    @property
    def accepted_sql(self) -> str:
        """SQL for the canonical columns, ``extra`` and ``source_row`` of non-suspect rows."""
        columns = ", ".join([*FIELD_NAMES, EXTRA_COLUMN, "source_row"])
        return f"SELECT {columns} FROM {CHECKED_TABLE}{self._filter}"

    @property
    def accepted_keys_sql(self) -> str:
        """SQL for the key columns of :attr:`accepted_sql`'s rows, in the same order.

        Without suspects every row is accepted, and the keys are computed from the raw batch
        alone: the duplicate and conflict checks then skip the lookup joins.
        """
        if self._filter:
            return f"SELECT {', '.join(KEY_FIELDS)} FROM {CHECKED_TABLE}{self._filter}"
        return self._keys_sql

    def normalisations(self, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
        """Value changes among the rows that are not suspect (as the reference counts them)."""
        parts: list[str] = []
        for name, lookup in self.lookups.items():
            if lookup.field.kind not in _NORMALISED_KINDS:
                continue
            if not self._filter:
                # Every row is accepted: the per-text counts of this batch suffice.
                parts.append(
                    f"SELECT '{name}' AS field, l.original, l.value AS normalised, "
                    f"sum(c.rows) AS rows FROM {_counts_table(name)} c "
                    f"JOIN {lookup.table} l ON l.raw = c.raw WHERE l.original <> l.value "
                    "GROUP BY ALL"
                )
            else:
                original = _ident("o:" + name)
                parts.append(
                    f"SELECT '{name}' AS field, {original} AS original, {name} AS normalised, "
                    f"count(*) AS rows FROM {CHECKED_TABLE} WHERE {original} <> {name} "
                    f"{self._filter.replace('WHERE', 'AND')} GROUP BY ALL"
                )
        for field in DECLARATION_FIELDS:
            mapping = self.profile.columns.get(field.name)
            if field.kind not in ("int", "float") or mapping is None:
                continue
            raw, constant = self._raw_sql(field)
            factor = mapping.scale * (MASS_UNITS_TO_KG[mapping.unit] if mapping.unit else 1.0)
            if raw is None or constant or factor == 1.0:
                continue
            unit = f" ({mapping.unit} → kg)" if mapping.unit else ""
            parts.append(
                f"SELECT '{field.name}' AS field, {_literal(f'source column {mapping.column!r}')}"
                f" AS original, {_literal(f'multiplied by {factor:g}{unit}')} AS normalised, "
                f"count({_ident('t:' + field.name)}) AS rows FROM {CHECKED_TABLE}"
                f"{self._filter} HAVING count(*) > 0"
            )
        if not parts:
            return pl.DataFrame(schema=NORMALISATION_SCHEMA)
        frame = con.sql(" UNION ALL ".join(parts)).pl()
        return frame.cast(NORMALISATION_SCHEMA)
