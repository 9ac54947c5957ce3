"""The one place where DuckDB's SQL and PostgreSQL's differ.

Services and domain modules write one SQL text (DuckDB's dialect, ``?`` placeholders). On a
PostgreSQL workspace the store translates each statement once (cached by its text) with
sqlglot, plus the few rewrites sqlglot does not make: ``?`` becomes PostgreSQL's native
``$n`` (so a ``%`` in a literal needs no escaping), DuckDB-only clauses of the schema
(column compression, session settings) are dropped, and functions PostgreSQL lacks are either
rewritten here or defined in the database by :data:`COMPAT_FUNCTIONS`.

Translation is checked by running the services' tests on both stores (``pytest
--store=postgresql``), not by trusting the translator.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import TokenType

from clearlane.errors import ClearlaneError

_DUCKDB = sqlglot.Dialect.get_or_raise("duckdb")
# DuckDB-only clauses with no meaning on PostgreSQL: physical compression of a column.
_COMPRESSION = re.compile(r"\s+USING\s+COMPRESSION\s+\w+", re.IGNORECASE)
# DuckDB session settings (memory_limit, temp_directory, threads...): the server's own
# configuration decides these on PostgreSQL.
_DUCKDB_SETTING = re.compile(
    r"^\s*SET\s+(memory_limit|temp_directory|threads|preserve_insertion_order|"
    r"max_temp_directory_size)\b", re.IGNORECASE
)
_CREATE_OR_REPLACE_TABLE = re.compile(
    r"^\s*CREATE\s+OR\s+REPLACE\s+(TEMP|TEMPORARY)\s+TABLE\s+(\w+)\s+AS\b", re.IGNORECASE
)


class DialectError(ClearlaneError):
    """A statement could not be translated for PostgreSQL (a Clearlane bug, not user input)."""


class _PostgresOut(Postgres):
    class Generator(Postgres.Generator):  # type: ignore[valid-type,misc]
        TRANSFORMS = {  # noqa: RUF012 - sqlglot's own extension point
            **Postgres.Generator.TRANSFORMS,
            exp.Placeholder: lambda self, e: f"${e.name}",
            # PostgreSQL 15 has no arg_max / arg_min / any_value aggregates
            exp.ArgMax: lambda self, e: f"(array_agg({self.sql(e, 'this')} ORDER BY "
            f"{self.sql(e, 'expression')} DESC NULLS LAST))[1]",
            exp.ArgMin: lambda self, e: f"(array_agg({self.sql(e, 'this')} ORDER BY "
            f"{self.sql(e, 'expression')} ASC NULLS LAST))[1]",
            exp.AnyValue: lambda self, e: f"(array_agg({self.sql(e, 'this')}) FILTER "
            f"(WHERE {self.sql(e, 'this')} IS NOT NULL))[1]",
            exp.IgnoreNulls: lambda self, e: self.sql(e, "this"),
            exp.Mode: lambda self, e: f"MODE() WITHIN GROUP (ORDER BY {self.sql(e, 'this')})",
            exp.RegexpFullMatch: lambda self, e: f"({self.sql(e, 'this')} ~ ('^(?:' || "
            f"{self.sql(e, 'expression')} || ')$'))",
            # the pattern wrapped in one more group, so group 0 (the whole match) is [1]
            exp.RegexpExtract: lambda self, e: "(regexp_match("
            f"{self.sql(e, 'this')}, '(' || {self.sql(e, 'expression')} || ')'))"
            f"[{int(self.sql(e, 'group') or 0) + 1}]",
            exp.JSONKeys: lambda self, e: f"clearlane_json_keys(CAST({self.sql(e, 'this')} "
            "AS TEXT))",
            exp.JSONObject: lambda self, e: "json_build_object("
            + ", ".join(
                f"{self.sql(kv, 'this')}, {self.sql(kv, 'expression')}"
                for kv in e.expressions
            )
            + ")",
        }


def _number_placeholders(sql: str) -> str:
    """``?`` (outside literals and comments) → a marker column ``__clp1__``, ``__clp2__``…
    in textual order; :data:`_MARKER` turns them into ``$n`` after translation (DuckDB's own
    reading of ``$1`` can take a later quote for a dollar-quoted string)."""
    tokens = [t for t in _DUCKDB.tokenize(sql) if t.token_type == TokenType.PLACEHOLDER]
    if not tokens:
        return sql
    out, last = [], 0
    for number, token in enumerate(tokens, start=1):
        if token.text != "?":
            continue
        out.append(sql[last:token.start])
        out.append(f"__clp{number}__")
        last = token.end + 1
    out.append(sql[last:])
    return "".join(out)


_MARKER = re.compile(r"\b__clp(\d+)__\b", re.IGNORECASE)


@lru_cache(maxsize=1024)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``$name`` parameters (outside literals) → ``?``, with the names in textual order."""
    tokens = _DUCKDB.tokenize(sql)
    out: list[str] = []
    names: list[str] = []
    last = 0
    for token, following in itertools.pairwise(tokens):
        if token.token_type == TokenType.PARAMETER and following.start == token.end + 1:
            out.append(sql[last:token.start])
            out.append("?")
            names.append(following.text)
            last = following.end + 1
    out.append(sql[last:])
    return "".join(out), tuple(names)


@lru_cache(maxsize=4096)
def to_postgres(sql: str) -> tuple[str, ...]:
    """The PostgreSQL statements for one DuckDB statement (empty: nothing to run).

    The parameters of the original statement belong to the last statement returned.
    """
    if _DUCKDB_SETTING.match(sql):
        return ()
    sql = _COMPRESSION.sub("", sql)
    before: tuple[str, ...] = ()
    replaced = _CREATE_OR_REPLACE_TABLE.match(sql)
    if replaced:
        before = (f"DROP TABLE IF EXISTS {replaced.group(2)}",)
        sql = f"CREATE TEMP TABLE {replaced.group(2)} AS" + sql[replaced.end():]
    numbered = _number_placeholders(sql)
    try:
        tree = sqlglot.parse_one(numbered, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise DialectError(f"cannot translate for PostgreSQL: {exc}\n{sql}") from exc
    for number, subquery in enumerate(list(tree.find_all(exp.Subquery))):
        # PostgreSQL 15 wants every subquery in FROM named; DuckDB does not
        if not subquery.alias and isinstance(subquery.parent, (exp.From, exp.Join)):
            subquery.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q{number}")))
    for node in list(tree.find_all(exp.Select, exp.Update)):
        _semi_anti_to_exists(node)
    for explode in list(tree.find_all(exp.Explode)):
        # DuckDB's generate_series is a list to unnest; PostgreSQL's is already a set
        if isinstance(explode.this, exp.GenerateSeries):
            explode.replace(explode.this)
    for select in list(tree.find_all(exp.Select)):
        _inline_aliases(select)
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if group is not None and group.args.get("all"):
            # GROUP BY ALL: every selected expression that is not an aggregate, by position
            positions = [
                exp.Literal.number(number)
                for number, item in enumerate(select.expressions, start=1)
                if not any(isinstance(n, exp.AggFunc) for n in item.walk())
            ]
            select.set("group", exp.Group(expressions=positions) if positions else None)
    for extract in list(tree.find_all(exp.JSONExtractScalar, exp.JSONExtract)):
        # DuckDB's JSONPath ('$.a.b', '$.a[*].b') and JSON pointers ('/a') on text columns:
        # PostgreSQL's jsonpath reads the same paths (see COMPAT_FUNCTIONS)
        path = extract.expression
        path_sql = path.sql(dialect="duckdb") if isinstance(path, exp.JSONPath) else None
        wildcard = path_sql is not None and "*" in path_sql
        if isinstance(extract, exp.JSONExtractScalar):
            name = "clearlane_json_texts" if wildcard else "clearlane_json_text"
        else:
            name = "clearlane_json"
        argument = exp.Literal.string(path_sql.strip("'")) if path_sql else path
        extract.replace(exp.Anonymous(this=name, expressions=[
            exp.cast(extract.this, "TEXT"), exp.cast(argument, "TEXT")]))
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() == "list_extract" and len(node.expressions) == 2:
            # list_extract(list, i): element i (1-based) of a list: PostgreSQL's array[i]
            array, index = (e.sql(dialect=_PostgresOut) for e in node.expressions)
            node.replace(exp.Var(this=f"({array})[{index}]"))
            continue
        if node.name.lower() == "hash":
            # 64-bit hash of the values' text: used only to prove keys distinct (a
            # collision costs the exact path), like DuckDB's hash()
            row = exp.cast(exp.Tuple(expressions=list(node.expressions)), "TEXT")
            node.replace(exp.Anonymous(this="hashtextextended",
                                       expressions=[row, exp.Literal.number(0)]))
    return (*before, _MARKER.sub(r"$\1", tree.sql(dialect=_PostgresOut)))


def _inline_aliases(select: exp.Select) -> None:
    """DuckDB lets WHERE and HAVING name a select-list alias; PostgreSQL needs the expression."""
    aliases = {
        item.alias: item.this for item in select.expressions
        # an alias that shadows a column it reads (min(office_id) AS office_id): DuckDB binds
        # the column there, so nothing is inlined
        if isinstance(item, exp.Alias) and not any(
            column.name == item.alias for column in item.this.find_all(exp.Column))
    }
    if not aliases:
        return
    for clause in ("where", "having", "order"):
        part = select.args.get(clause)
        if part is None:
            continue
        for column in list(part.find_all(exp.Column)):
            # ORDER BY may name an output column on its own, not inside an expression
            bare_order = clause == "order" and isinstance(column.parent, exp.Ordered)
            aggregate = any(isinstance(n, exp.AggFunc) for n in aliases.get(
                column.name, exp.Null()).walk())
            if clause == "where" and aggregate:
                continue  # an aggregate is never allowed there: the name is a column
            if not column.table and column.name in aliases and not bare_order and (
                    column.find_ancestor(exp.Select) is select):
                column.replace(exp.paren(aliases[column.name].copy()))


def _semi_anti_to_exists(node: exp.Expression) -> None:
    """``a SEMI JOIN b ON c`` → ``a … WHERE EXISTS (SELECT 1 FROM b WHERE c)`` (ANTI: NOT)."""
    joins = node.args.get("joins") or []
    source = node.args.get("from_")
    if isinstance(node, exp.Update) and source is not None:
        joins = source.this.args.get("joins") or joins
    kept = []
    for join in joins:
        kind = (join.args.get("kind") or "").upper()
        if kind not in ("SEMI", "ANTI"):
            kept.append(join)
            continue
        right = join.this
        condition = join.args.get("on")
        if condition is None:
            left = source.this.alias_or_name if source is not None else ""
            condition = exp.and_(*(
                exp.column(c.name, table=left).eq(exp.column(c.name, table=right.alias_or_name))
                for c in join.args.get("using") or []
            ))
        test: exp.Expression = exp.Exists(this=exp.select("1").from_(right).where(condition))
        if kind == "ANTI":
            test = exp.not_(test)
        where = node.args.get("where")
        node.set("where", exp.Where(this=exp.and_(where.this, test) if where else test))
    if isinstance(node, exp.Update) and source is not None and source.this.args.get("joins"):
        source.this.set("joins", kept)
    elif node.args.get("joins"):
        node.set("joins", kept)


COMPAT_FUNCTIONS: tuple[str, ...] = (
    # json_extract_string(doc, path) with a JSONPath ('$.a.b') or a JSON pointer ('/a/b')
    """CREATE OR REPLACE FUNCTION clearlane_json_text(doc TEXT, path TEXT) RETURNS TEXT
       LANGUAGE sql IMMUTABLE AS $$
       SELECT CASE WHEN left(path, 1) = '/' THEN doc::jsonb #>> (
                SELECT coalesce(array_agg(replace(replace(p, '~1', '/'), '~0', '~')
                                          ORDER BY n), '{}')
                FROM unnest(string_to_array(substr(path, 2), '/')) WITH ORDINALITY AS s(p, n))
              ELSE jsonb_path_query_first(doc::jsonb, path::jsonpath) #>> '{}' END $$""",
    # json_extract_string(doc, '$.a[*].b'): every match, as a text array (DuckDB: a list)
    """CREATE OR REPLACE FUNCTION clearlane_json_texts(doc TEXT, path TEXT) RETURNS TEXT[]
       LANGUAGE sql IMMUTABLE AS $$
       SELECT array_agg(v #>> '{}') FROM jsonb_path_query(doc::jsonb, path::jsonpath) AS v $$""",
    # json_extract(doc, path): the JSON value found
    """CREATE OR REPLACE FUNCTION clearlane_json(doc TEXT, path TEXT) RETURNS JSONB
       LANGUAGE sql IMMUTABLE AS $$
       SELECT jsonb_path_query_first(doc::jsonb, path::jsonpath) $$""",
    # DuckDB's mad(x): the median absolute deviation from the median
    """CREATE OR REPLACE FUNCTION clearlane_mad_final(v DOUBLE PRECISION[])
       RETURNS DOUBLE PRECISION LANGUAGE sql IMMUTABLE AS $$
       WITH m AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS med
                  FROM unnest(v) AS x WHERE x IS NOT NULL)
       SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(x - m.med))
       FROM unnest(v) AS x, m WHERE x IS NOT NULL $$""",
    """CREATE OR REPLACE AGGREGATE mad(DOUBLE PRECISION) (
       SFUNC = array_append, STYPE = DOUBLE PRECISION[], FINALFUNC = clearlane_mad_final)""",
    # json_array_length(doc[, path]): the length of the array found (NULL: not an array)
    """CREATE OR REPLACE FUNCTION json_array_length(doc TEXT) RETURNS BIGINT
       LANGUAGE sql IMMUTABLE AS $$
       SELECT CASE WHEN jsonb_typeof(doc::jsonb) = 'array'
              THEN jsonb_array_length(doc::jsonb) ELSE 0 END $$""",
    """CREATE OR REPLACE FUNCTION json_array_length(doc TEXT, path TEXT) RETURNS BIGINT
       LANGUAGE sql IMMUTABLE AS $$
       SELECT json_array_length(clearlane_json(doc, path)::TEXT) $$""",
    """CREATE OR REPLACE FUNCTION json_type(doc TEXT) RETURNS TEXT
       LANGUAGE sql IMMUTABLE AS $$
       SELECT CASE jsonb_typeof(doc::jsonb) WHEN 'object' THEN 'OBJECT' WHEN 'array' THEN 'ARRAY'
              WHEN 'string' THEN 'VARCHAR' WHEN 'boolean' THEN 'BOOLEAN' WHEN 'null' THEN 'NULL'
              ELSE 'DOUBLE' END $$""",
    """CREATE OR REPLACE FUNCTION clearlane_json_keys(doc TEXT) RETURNS TEXT[]
       LANGUAGE sql IMMUTABLE AS $$
       SELECT coalesce(array_agg(k), '{}') FROM jsonb_object_keys(doc::jsonb) AS k $$""",
    # DuckDB's json_valid / json_extract_string(json, pointer) for text holding JSON
    """CREATE OR REPLACE FUNCTION json_valid(doc TEXT) RETURNS BOOLEAN
       LANGUAGE plpgsql IMMUTABLE AS $$
       BEGIN
         PERFORM doc::json;
         RETURN TRUE;
       EXCEPTION WHEN others THEN
         RETURN FALSE;
       END $$""",
)
