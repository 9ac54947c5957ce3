"""The PostgreSQL store on a real server: migrations, concurrent writers, workspace copy.

These need a server where the tests may create databases: ``CLEARLANE_TEST_POSTGRES_URL``
(``make test`` starts one and sets it). Without it they are skipped with that reason, unless
``CLEARLANE_REQUIRE_POSTGRES=1`` (``make test``), where a missing server fails them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import psycopg
import pytest

from clearlane.services.ingest import ingest_file
from clearlane.services.workspace_copy import copy_workspace
from clearlane.store.transfer import column_names, content_digest, read_batches
from clearlane.store.workspace import SchemaVersionError, Workspace

ADMIN_URL = os.environ.get("CLEARLANE_TEST_POSTGRES_URL")


def _database_url(name: str) -> str:
    assert ADMIN_URL is not None
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture
def new_database() -> Iterator[callable]:  # type: ignore[valid-type]
    """A factory of fresh, empty databases (dropped after the test)."""
    if ADMIN_URL is None:
        if os.environ.get("CLEARLANE_REQUIRE_POSTGRES") == "1":
            pytest.fail("CLEARLANE_TEST_POSTGRES_URL is not set: no PostgreSQL server to test")
        pytest.skip("no PostgreSQL server: set CLEARLANE_TEST_POSTGRES_URL (make test does)")
    made: list[str] = []

    def make() -> str:
        name = f"cl_s_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        made.append(name)
        return _database_url(name)

    yield make
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for name in made:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def declarations_csv(path: Path, n: int, prefix: str) -> Path:
    pl.DataFrame({
        "declaration_id": [f"{prefix}{i}" for i in range(n)],
        "declared_at": ["2024-03-01"] * n,
        "hs_code": ["851713"] * n,
        "customs_value": [float(i % 997) + 1 for i in range(n)],
        "net_mass_kg": [-1.0 if i % 500 == 0 else 2.0 for i in range(n)],
    }).write_csv(path)
    return path


def cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "clearlane.cli.main", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_migrations_apply_and_a_newer_database_is_refused(new_database, tmp_path: Path) -> None:
    url = new_database()
    ws = Workspace.create(tmp_path / "ws", url)
    assert ws.backend == "postgresql"
    assert "password" not in (tmp_path / "ws" / "store.json").read_text()
    assert Workspace.open(tmp_path / "ws").database_url == url
    with ws.connect() as con:
        con.execute("INSERT INTO schema_migrations VALUES (9999, 'from the future', NULL)")
    with pytest.raises(SchemaVersionError, match="newer"):
        Workspace.open(tmp_path / "ws")


def test_two_ingests_of_different_files_at_once_both_succeed(new_database,
                                                             tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws", new_database())
    first = declarations_csv(tmp_path / "a.csv", 4000, "A")
    second = declarations_csv(tmp_path / "b.csv", 3000, "B")
    runs = [cli("ingest", str(f), "-w", str(ws.path)) for f in (first, second)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    counts = ws.query("SELECT left(declaration_id, 1) AS p, count(*) AS n FROM declarations "
                      "GROUP BY 1 ORDER BY 1")
    assert counts.rows() == [("A", 3992), ("B", 2994)]
    assert ws.query("SELECT count(*) FROM ingest_batches").item() == 2


def test_the_same_file_ingested_twice_at_once_is_stored_once(new_database,
                                                             tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws", new_database())
    source = declarations_csv(tmp_path / "a.csv", 4000, "A")
    runs = [cli("ingest", str(source), "-w", str(ws.path)) for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sum("already ingested" in " ".join(out.split()) for out in outputs) == 1, outputs
    assert ws.query("SELECT count(*) FROM declarations").item() == 3992
    assert ws.query("SELECT count(*) FROM ingest_batches").item() == 1


def test_ingest_outcomes_and_selection_write_at_once(new_database, tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "ws", new_database())
    ingest_file(ws, declarations_csv(tmp_path / "a.csv", 2000, "A"), today=date(2024, 6, 1))
    outcomes = tmp_path / "outcomes.csv"
    pl.DataFrame({"declaration_id": [f"A{i}" for i in range(1, 200)],
                  "item_no": [1] * 199, "fraud": [i % 7 == 0 for i in range(1, 200)],
                  "revenue_recovered": [10.0 if i % 7 == 0 else 0.0 for i in range(1, 200)],
                  }).write_csv(outcomes)
    runs = [
        cli("ingest", str(declarations_csv(tmp_path / "b.csv", 3000, "B")), "-w", str(ws.path)),
        cli("outcomes", "record", str(outcomes), "-w", str(ws.path)),
        cli("select", "-w", str(ws.path), "--random-share", "0.1"),
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs[:2]] == [0, 0], outputs
    assert ws.query("SELECT count(*) FROM declarations").item() == 1996 + 2994
    assert ws.query("SELECT count(*) FROM outcomes").item() == 199
    assert ws.query("SELECT count(*) FROM declarations WHERE inspected").item() == 199


def test_workspace_copy_both_ways_keeps_every_row(new_database, tmp_path: Path) -> None:
    embedded = Workspace.create(tmp_path / "duck")
    ingest_file(embedded, declarations_csv(tmp_path / "a.csv", 1500, "A"),
                today=date(2024, 6, 1))
    (embedded.artifacts_dir / "note.txt").write_text("kept")
    to_pg = copy_workspace(embedded, tmp_path / "pg", new_database())
    back = copy_workspace(Workspace.open(tmp_path / "pg"), tmp_path / "duck2")
    assert to_pg.rows >= 1500 and (tmp_path / "duck2" / "artifacts" / "note.txt").exists()
    source, copied = Workspace.open(tmp_path / "duck"), Workspace.open(tmp_path / "duck2")
    with source.connect() as a, copied.connect() as b:
        columns = column_names(a, "declarations")
        assert content_digest(read_batches(a, "declarations", columns)) == content_digest(
            read_batches(b, "declarations", columns))
    assert {t.table: t.digest for t in to_pg.tables}["declarations"] == {
        t.table: t.digest for t in back.tables}["declarations"]


def test_copy_into_a_database_holding_data_is_refused(new_database, tmp_path: Path) -> None:
    url = new_database()
    target = Workspace.create(tmp_path / "pg", url)
    ingest_file(target, declarations_csv(tmp_path / "a.csv", 100, "A"), today=date(2024, 6, 1))
    embedded = Workspace.create(tmp_path / "duck")
    with pytest.raises(Exception, match="already holds data"):
        copy_workspace(embedded, tmp_path / "pg", url)
    assert target.query("SELECT count(*) FROM declarations").item() == 99  # one row rejected


def test_a_streamed_read_equals_the_row_by_row_read(new_database, tmp_path: Path) -> None:
    """Workspace.query streams a large read with COPY; every kind of value reads the same."""
    ws = Workspace.create(tmp_path / "ws", new_database())
    with ws.connect() as con:
        con.execute("CREATE TABLE sample (s VARCHAR, n BIGINT, x DOUBLE, b BOOLEAN, d DATE, "
                    "t TIMESTAMP)")
        con.execute("INSERT INTO sample VALUES ('', 1, 0.1, TRUE, DATE '2024-01-02', "
                    "TIMESTAMP '2024-01-02 03:04:05.123456'), (NULL, NULL, NULL, NULL, NULL, "
                    "NULL), ('a \"quoted\", multi\nline \\N é', -5, 1e300, FALSE, "
                    "DATE '1999-12-31', TIMESTAMP '1999-12-31 23:59:59')")
        by_rows = con.execute("SELECT * FROM sample ORDER BY n NULLS LAST").pl()
    streamed = ws.query("SELECT * FROM sample ORDER BY n NULLS LAST")
    assert streamed.equals(by_rows) and streamed.schema == by_rows.schema
    assert streamed["s"].to_list()[1] == ""
