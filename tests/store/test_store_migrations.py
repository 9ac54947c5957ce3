from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from clearlane.errors import NotFoundError
from clearlane.store.migrations import LATEST_VERSION, MIGRATIONS
from clearlane.store.workspace import SchemaVersionError, Workspace


def test_create_applies_every_migration_once(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    assert ws.schema_version() == LATEST_VERSION
    assert ws.migrate() == []  # nothing pending the second time
    versions = ws.query("SELECT version FROM schema_migrations ORDER BY version").get_column(
        "version"
    )
    assert versions.to_list() == [m.version for m in MIGRATIONS]


def test_versions_are_increasing_and_unique() -> None:
    versions = [m.version for m in MIGRATIONS]
    assert versions == sorted(set(versions))


@pytest.mark.duckdb_only(reason="builds an old DuckDB workspace file by hand")
def test_old_workspace_is_upgraded(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "old")
    ws.path.mkdir()
    con = duckdb.connect(str(ws.database))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
    )
    for statement in MIGRATIONS[0].statements:
        con.execute(statement)
    con.execute("INSERT INTO schema_migrations VALUES (1, 'v1', now())")
    con.execute(
        "INSERT INTO declarations (declaration_id, item_no, goods_description, batch_id) "
        "VALUES ('D1', 1, 'cotton t-shirts', 'b1')"
    )
    con.close()
    upgraded = Workspace.open(ws.path)
    assert upgraded.schema_version() == LATEST_VERSION
    # The rebuilt declarations table kept its rows and stores free text with zstd.
    kept = upgraded.query("SELECT declaration_id, goods_description FROM declarations")
    assert kept.rows() == [("D1", "cotton t-shirts")]
    # fields added after the first schema arrive with their own migration, empty on old rows
    assert upgraded.query("SELECT inspection_basis FROM declarations").rows() == [(None,)]
    ddl = upgraded.query("SELECT sql FROM duckdb_tables() WHERE table_name = 'declarations'").item(
        0, 0
    )
    assert "goods_description VARCHAR USING COMPRESSION ZSTD" in ddl


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    with ws.connect() as con:
        con.execute("INSERT INTO schema_migrations VALUES (9999, 'future', now())")
    with pytest.raises(SchemaVersionError, match="newer"):
        Workspace.open(ws.path)


def test_open_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="clearlane init"):
        Workspace.open(tmp_path / "nothing")


def test_a_lower_numbered_migration_added_later_is_still_applied(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws")
    with ws.connect() as con:
        # Pretend the workspace was created before the lowest migration after 1 existed.
        later = MIGRATIONS[1]
        con.execute("DELETE FROM schema_migrations WHERE version = ?", [later.version])
        for statement in later.statements:
            table = statement.split("TABLE", 1)[1].split("(", 1)[0].strip()
            con.execute(f"DROP TABLE IF EXISTS {table}")
    assert Workspace.open(ws.path).migrate() == []  # open() already applied it
    versions = ws.query("SELECT version FROM schema_migrations ORDER BY version").get_column(
        "version"
    )
    assert versions.to_list() == [m.version for m in MIGRATIONS]
