"""Duplicates: conflicts and skipped rows from ingest, repeated keys and suspected double
submissions in the store."""

from __future__ import annotations

from clearlane.quality.report import DuplicateSummary, IssueExample
from clearlane.quality.sql import Scope, scalar
from clearlane.store.connection import Connection

_DUPLICATES_TABLE = "_quality_suspected_duplicates"


def duplicate_summary(
    con: Connection, scope: Scope, conflicts: int, skipped: int, examples: int
) -> DuplicateSummary:
    """Duplicates in ``scope``; ``conflicts`` and ``skipped`` come from the ingest records."""
    conflict_examples = tuple(
        IssueExample(
            batch_id=r[0], source_file=r[1], row=None if r[2] is None else int(r[2]),
            field="declaration_id", value=f"{r[3]} item {r[4]}",
            reason=f"already stored by batch {r[5]} with different {r[6] or 'content'}",
            declaration_id=r[3], item_no=None if r[4] is None else int(r[4]),
        )
        for r in con.execute(
            f"""SELECT batch_id, source_file, source_row, declaration_id, item_no, existing_batch_id,
                       differing_fields
                FROM conflicts WHERE {scope.sql}
                ORDER BY batch_id, source_row LIMIT {int(examples)}""",
            scope.params,
        ).fetchall()
    )
    repeated = scalar(
        con,
        f"""SELECT coalesce(sum(n - 1), 0) FROM (
                SELECT count(*) AS n FROM declarations WHERE {scope.sql}
                GROUP BY declaration_id, item_no HAVING count(*) > 1)""",
        scope.params,
    )
    # Same importer, HS code, date, origin, value and net mass under different declaration ids.
    # Stage 1 groups on a hash of the key and keeps groups with two ids (cheap); stage 2
    # regroups only those rows on the real key, so a hash collision cannot create a duplicate.
    key = "importer_id, hs_code, declared_at, origin_country, customs_value, net_mass_kg"
    con.execute(f"DROP TABLE IF EXISTS {_DUPLICATES_TABLE}")
    con.execute(
        f"""CREATE TEMP TABLE {_DUPLICATES_TABLE} AS
        WITH base AS (
            SELECT declaration_id, {key}, hash({key}) AS k FROM declarations
            WHERE {scope.sql} AND importer_id IS NOT NULL AND hs_code IS NOT NULL
                  AND declared_at IS NOT NULL AND customs_value IS NOT NULL
                  AND net_mass_kg IS NOT NULL),
        candidates AS (
            SELECT k FROM base GROUP BY k HAVING min(declaration_id) <> max(declaration_id))
        SELECT count(DISTINCT declaration_id) AS ids,
               list(DISTINCT declaration_id ORDER BY declaration_id) AS declaration_ids
        FROM base WHERE k IN (SELECT k FROM candidates)
        GROUP BY {key} HAVING count(DISTINCT declaration_id) > 1""",
        scope.params,
    )
    row = con.execute(
        f"SELECT count(*), coalesce(sum(ids - 1), 0) FROM {_DUPLICATES_TABLE}"
    ).fetchone()
    groups, extra_ids = (int(row[0]), int(row[1])) if row else (0, 0)
    suspected_examples = tuple(
        IssueExample(
            batch_id=None, source_file=None, row=None, field="declaration_id",
            value=", ".join(str(i) for i in r[1][:5]),
            reason=f"{r[0]} declarations repeat importer, HS code, date, origin, value and mass",
            declaration_id=str(r[1][0]),
        )
        for r in con.execute(
            f"SELECT ids, declaration_ids FROM {_DUPLICATES_TABLE} "
            f"ORDER BY ids DESC, declaration_ids LIMIT {int(examples)}"
        ).fetchall()
    )
    con.execute(f"DROP TABLE IF EXISTS {_DUPLICATES_TABLE}")
    return DuplicateSummary(
        exact_skipped=skipped,
        conflicts=conflicts,
        key_repeated=repeated,
        suspected_rows=extra_ids,
        suspected_groups=groups,
        conflict_examples=conflict_examples,
        suspected_examples=suspected_examples,
    )
