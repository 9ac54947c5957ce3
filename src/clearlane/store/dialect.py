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
            exp.JSONObject: lambda self, e: "json_build_object("
            + ", ".join(
                f"{self.sql(kv, 'this')}, {self.sql(kv, 'expression')}"
                for kv in e.expressions
            )
            + ")",
        }


def _number_placeholders(sql: str) -> str:
    """``?`` (outside literals and comments) → ``$1``, ``$2``… in textual order."""
    tokens = [t for t in _DUCKDB.tokenize(sql) if t.token_type == TokenType.PLACEHOLDER]
    if not tokens:
        return sql
    out, last = [], 0
    for number, token in enumerate(tokens, start=1):
        if token.text != "?":
            continue
        out.append(sql[last:token.start])
        out.append(f"${number}")
        last = token.end + 1
    out.append(sql[last:])
    return "".join(out)


@lru_cache(maxsize=1024)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``$name`` parameters (outside literals) → ``?``, with the names in textual order."""
    tokens = _DUCKDB.tokenize(sql)
    out: list[str] = []
    names: list[str] = []
    last = 0
    for token, following in zip(tokens, tokens[1:], strict=False):
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
    for parameter in list(tree.find_all(exp.Parameter)):
        # DuckDB reads our $n as a parameter; give it back as a placeholder named n
        parameter.replace(exp.Placeholder(this=parameter.name))
    for number, subquery in enumerate(list(tree.find_all(exp.Subquery))):
        # PostgreSQL 15 wants every subquery in FROM named; DuckDB does not
        if not subquery.alias and isinstance(subquery.parent, (exp.From, exp.Join)):
            subquery.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q{number}")))
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() == "hash":
            # 64-bit hash of the values' text: used only to prove keys distinct (a
            # collision costs the exact path), like DuckDB's hash()
            row = exp.cast(exp.Tuple(expressions=list(node.expressions)), "TEXT")
            node.replace(exp.Anonymous(this="hashtextextended",
                                       expressions=[row, exp.Literal.number(0)]))
    return (*before, tree.sql(dialect=_PostgresOut))


COMPAT_FUNCTIONS: tuple[str, ...] = (
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
