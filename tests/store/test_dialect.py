"""The DuckDB → PostgreSQL translation of the store layer (no server needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.store.dialect import positional, to_postgres


def one(sql: str) -> str:
    statements = to_postgres(sql)
    assert len(statements) == 1
    return statements[0]


def test_placeholders_are_numbered_in_order_and_literals_left_alone() -> None:
    out = one("SELECT a FROM t WHERE x = ? AND y LIKE '%?%' AND z IN (?, ?)")
    assert "x = $1" in out and "IN ($2, $3)" in out
    assert "'%?%'" in out


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6))
def test_named_parameters_become_positional_in_textual_order(names: list[str]) -> None:
    sql = "SELECT 1 WHERE " + " AND ".join(f"{n} = ${n}" for n in names)
    text, order = positional(sql)
    assert order == tuple(names)
    assert text.count("?") == len(names)


def test_duckdb_only_settings_are_dropped_and_compression_stripped() -> None:
    assert to_postgres("SET memory_limit = ?") == ()
    assert "COMPRESSION" not in one("CREATE TABLE d (a VARCHAR USING COMPRESSION zstd)")


def test_create_or_replace_temp_table_becomes_drop_then_create() -> None:
    drop, create = to_postgres("CREATE OR REPLACE TEMP TABLE s AS SELECT ? AS x")
    assert drop == "DROP TABLE IF EXISTS s"
    assert create.startswith("CREATE TEMPORARY TABLE s AS") and "$1" in create


def test_semi_and_anti_joins_become_exists() -> None:
    anti = one("SELECT i.k FROM incoming i ANTI JOIN declarations d ON d.k = i.k AND d.o = ?")
    assert "NOT EXISTS(SELECT 1 FROM declarations AS d WHERE d.k = i.k AND d.o = $1)" in anti
    semi = one("SELECT r.k FROM r SEMI JOIN d USING (k, n)")
    assert "EXISTS(SELECT 1 FROM d WHERE r.k = d.k AND r.n = d.n)" in semi


def test_group_by_all_lists_the_non_aggregates_by_position() -> None:
    assert one("SELECT a, b, count(*) FROM t GROUP BY ALL").endswith("GROUP BY 1, 2")


def test_select_aliases_are_inlined_where_postgres_needs_the_expression() -> None:
    out = one("SELECT h, count(*) AS lo FROM t GROUP BY h HAVING lo > 0 ORDER BY lo + 1, lo")
    assert "HAVING (COUNT(*)) > 0" in out
    assert "ORDER BY (COUNT(*)) + 1, lo" in out


def test_unnamed_subqueries_get_a_name() -> None:
    assert "AS _q0" in one("SELECT count(*) FROM (SELECT 1)")


@pytest.mark.parametrize(("duckdb", "postgres"), [
    ("SELECT arg_max(a, b) FROM t", "(array_agg(a ORDER BY b DESC NULLS LAST))[1]"),
    ("SELECT json_extract_string(j, '$.a.b') FROM t", "clearlane_json_text(CAST(j AS TEXT)"),
    ("SELECT json_extract_string(j, '$.a[*].b') FROM t", "clearlane_json_texts("),
    ("SELECT json_object('a', x)::VARCHAR FROM t", "json_build_object('a', x)"),
    ("SELECT mode(x) FROM t", "MODE() WITHIN GROUP (ORDER BY x)"),
    ("SELECT count(DISTINCT hash(a, b)) FROM t", "HASHTEXTEXTENDED(CAST((a, b) AS TEXT), 0)"),
    ("SELECT regexp_full_match(a, '[0-9]+') FROM t", "a ~ ('^(?:' || '[0-9]+' || ')$')"),
])
def test_functions_postgres_lacks_are_rewritten(duckdb: str, postgres: str) -> None:
    assert postgres.lower() in one(duckdb).lower()
