"""Batches: list, show, drop. A drop leaves the workspace as it was before that ingest."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearlane.errors import ConflictError, NotFoundError
from clearlane.services import cases
from clearlane.services.batches import batch_details, drop_batch, dropped_batches, list_batches
from clearlane.services.ingest import ingest_file
from clearlane.store.transfer import table_names
from clearlane.store.workspace import Workspace

HEADER = "declaration_id,item_no,declared_at,hs_code,origin_country,net_mass_kg,customs_value\n"
TODAY = date(2024, 6, 1)
# The tables a drop changes on purpose: its log and the audit log (append-only).
LOG_TABLES = {"batch_drops", "audit_log"}


def write(path: Path, *lines: str) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def table_digests(ws: Workspace) -> dict[str, str]:
    """A digest of every table's sorted content (every table of the database, not a list)."""
    with ws.connect() as con:
        names = [*table_names(con), "schema_migrations"]
    assert "declarations" in names and "risk_assessments" in names
    digests = {}
    for name in names:
        if name in LOG_TABLES:
            continue
        rows = sorted(ws.query(f'SELECT * FROM "{name}"').rows(), key=repr)
        digests[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def rows_of(ws: Workspace, batch_id: str) -> list[tuple[object, ...]]:
    return sorted(
        ws.query("SELECT * FROM declarations WHERE batch_id = ?", [batch_id]).rows(), key=repr
    )


A_LINES = (
    "D1,1,2024-01-02,851713,CN,10,100",
    "D1,2,2024-01-02,851713,KR,5,50",
    "D2,1,2024-01-03,610462,FR,1,9",
    "D3,1,2024-01-03,610462,Atlantis,1,9",  # rejected: unknown country
)
B_LINES = (
    "D1,1,2024-01-02,851713,CN,10,100",  # duplicate of A
    "D1,2,2024-01-02,851713,KR,5,999",  # conflict with A
    "D3,1,2024-01-03,610462,FR,1,9",  # the row A rejected, fixed: stored by B
    "D4,1,2024-01-04,851713,CN,-3,9",  # rejected: negative mass
    "D5,1,2024-01-05,851713,CN,3,9",  # new
    "D5,1,2024-01-05,851713,CN,3,10",  # conflict inside B
    "D6,1,2024-01-05,851713,France,3,9",  # new, its country normalised
)


def test_drop_restores_the_workspace_exactly(workspace: Workspace, tmp_path: Path) -> None:
    a = ingest_file(workspace, write(tmp_path / "a.csv", *A_LINES), today=TODAY)
    before = table_digests(workspace)
    b = ingest_file(workspace, write(tmp_path / "b.csv", *B_LINES), today=TODAY)
    c = b.counts
    assert (c.rows_accepted, c.rows_duplicate, c.rows_conflict, c.rows_rejected) == (3, 1, 2, 1)
    assert table_digests(workspace) != before
    assert b.batch_id is not None
    report = drop_batch(workspace, b.batch_id, by="tester", reason="wrong file")
    assert table_digests(workspace) == before
    assert report.removed["declarations"] == 3
    assert report.removed["normalisations"] == 1
    assert report.removed["conflicts"] == 2
    assert report.removed["quarantine"] == 1
    assert report.removed["ingest_batches"] == 1
    assert report.cascaded == {}
    # the drop is logged, with who, why and what it removed
    log = dropped_batches(workspace).row(0, named=True)
    assert (log["batch_id"], log["source_file"], log["dropped_by"], log["reason"]) == (
        b.batch_id, "b.csv", "tester", "wrong file",
    )
    assert json.loads(log["removed"])["removed"]["declarations"] == 3
    # and the dropped file can be ingested again: it is no longer "already ingested"
    again = ingest_file(workspace, tmp_path / "b.csv", today=TODAY)
    assert not again.already_ingested and again.counts.rows_accepted == 3
    assert a.batch_id in list_batches(workspace).get_column("batch_id").to_list()


def test_drop_of_the_only_batch_empties_the_store(workspace: Workspace, tmp_path: Path) -> None:
    before = table_digests(workspace)
    a = ingest_file(workspace, write(tmp_path / "a.csv", *A_LINES), today=TODAY)
    assert a.batch_id is not None
    drop_batch(workspace, "latest")
    assert table_digests(workspace) == before


def test_a_batch_later_batches_met_is_not_dropped(workspace: Workspace, tmp_path: Path) -> None:
    a = ingest_file(workspace, write(tmp_path / "a.csv", *A_LINES), today=TODAY)
    b = ingest_file(workspace, write(tmp_path / "b.csv", *B_LINES), today=TODAY)
    assert a.batch_id is not None and b.batch_id is not None
    before = table_digests(workspace)
    with pytest.raises(ConflictError, match=rf"{b.batch_id} \(b.csv\): 1 rows skipped as copies"):
        drop_batch(workspace, a.batch_id)
    assert table_digests(workspace) == before  # refused: nothing changed, nothing logged
    assert dropped_batches(workspace).height == 0
    reliant = batch_details(workspace, a.batch_id).reliant
    assert [(r.batch_id, r.duplicates, r.conflicts) for r in reliant] == [(b.batch_id, 1, 1)]
    drop_batch(workspace, b.batch_id)
    drop_batch(workspace, a.batch_id)
    assert workspace.query("SELECT count(*) FROM declarations").item() == 0


def test_drop_with_dependents_needs_cascade(workspace: Workspace, tmp_path: Path) -> None:
    a = ingest_file(workspace, write(tmp_path / "a.csv", *A_LINES), today=TODAY)
    assert a.batch_id is not None
    keep = ingest_file(
        workspace, write(tmp_path / "k.csv", "K1,1,2024-01-02,851713,CN,10,100"), today=TODAY
    )
    now = datetime.now(UTC)
    with workspace.transaction() as con:
        for key in ("D1", "K1"):
            con.execute(
                "INSERT INTO risk_assessments (declaration_id, item_no, model_version, "
                "fraud_probability, expected_revenue, anomaly_score, reasons, assessed_at) "
                "VALUES (?, 1, 'm1', 0.5, 1.0, 0.1, '[]', ?)",
                [key, now],
            )
        con.execute(
            "INSERT INTO selections VALUES ('s1', ?, NULL, NULL, 1, 'p', NULL, NULL, 'm1', 2)",
            [now],
        )
        con.execute(
            "INSERT INTO selections VALUES ('s2', ?, NULL, NULL, 1, 'p', NULL, NULL, 'm1', 1)",
            [now],
        )
        for selection, key in (("s1", "D1"), ("s1", "K1"), ("s2", "D2")):
            con.execute(
                "INSERT INTO lane_decisions (selection_id, declaration_id, item_no, lane, basis, "
                "random_control, explored) VALUES (?, ?, 1, 'red', 'risk', false, false)",
                [selection, key],
            )
        con.execute(
            "INSERT INTO outcomes (declaration_id, item_no, fraud, recorded_at) "
            "VALUES ('D2', 1, true, ?)",
            [now],
        )
        cases.open_alerts(con, now.replace(tzinfo=None))  # red lanes: D1, K1, D2
        con.execute("INSERT INTO case_events (alert_id, event_at, actor, kind, detail) "
                    "SELECT alert_id, ?, 'amina', 'comment', '{}' FROM alerts", [now])
    before = table_digests(workspace)
    with pytest.raises(ConflictError, match="1 risk_assessments, 2 lane_decisions, 1 outcomes"):
        drop_batch(workspace, a.batch_id)
    assert table_digests(workspace) == before
    details = batch_details(workspace, a.batch_id)
    assert details.dependents["lane_decisions"] == 2
    report = drop_batch(workspace, a.batch_id, cascade=True)
    assert report.cascaded["risk_assessments"] == 1
    assert report.cascaded["lane_decisions"] == 2
    assert report.cascaded["outcomes"] == 1
    assert report.cascaded["selections"] == 1  # s2 held only this batch's declarations
    assert report.cascaded["alerts"] == 2
    assert workspace.query("SELECT declaration_id FROM alerts").rows() == [("K1",)]
    # only K1's case records are left (each alert had its opening event and a comment)
    left = workspace.query("SELECT e.kind FROM case_events e JOIN alerts a USING (alert_id) "
                           "WHERE a.declaration_id = 'K1'").height
    assert workspace.query("SELECT count(*) FROM case_events").item() == left >= 1
    assert report.cascaded["case_events"] == 2 * left
    # what concerns other batches is kept
    assert workspace.query("SELECT declaration_id FROM risk_assessments").rows() == [("K1",)]
    assert workspace.query("SELECT selection_id, declaration_id FROM lane_decisions").rows() == [
        ("s1", "K1")
    ]
    assert workspace.query("SELECT selection_id FROM selections").rows() == [("s1",)]
    assert keep.batch_id is not None and len(rows_of(workspace, keep.batch_id)) == 1


def test_unknown_batch_is_named(workspace: Workspace) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        drop_batch(workspace, "nope")


def test_details_summarise_the_quarantine_reasons(workspace: Workspace, tmp_path: Path) -> None:
    a = ingest_file(
        workspace,
        write(
            tmp_path / "a.csv",
            "D1,1,2024-01-02,851713,Atlantis,10,100",
            "D2,1,2024-01-02,851713,Narnia,10,100",
            "D3,1,2024-01-02,851713,CN,-1,100",
            "D4,1,2024-01-02,851713,CN,1,100",
        ),
        today=TODAY,
    )
    assert a.batch_id is not None
    details = batch_details(workspace, a.batch_id[:12])
    assert details.stored_rows == 1 and details.quarantined_rows == 3
    assert [(f, n) for f, _, n in details.reasons] == [("origin_country", 2), ("net_mass_kg", 1)]


def test_conflicts_keep_the_incoming_row(workspace: Workspace, tmp_path: Path) -> None:
    ingest_file(workspace, write(tmp_path / "a.csv", "D1,1,2024-01-02,851713,CN,10,100"), today=TODAY)
    ingest_file(workspace, write(tmp_path / "b.csv", "D1,1,2024-01-02,851713,CN,10,999"), today=TODAY)
    incoming = json.loads(workspace.query("SELECT incoming FROM conflicts").item())
    assert incoming["customs_value"] == 999
    assert (incoming["declaration_id"], incoming["item_no"]) == ("D1", 1)
    assert incoming["declared_at"] == "2024-01-02"
    assert workspace.query("SELECT customs_value FROM declarations").item() == 100


def test_quarantined_rows_keep_their_key(workspace: Workspace, tmp_path: Path) -> None:
    ingest_file(
        workspace,
        write(tmp_path / "a.csv", " D7 ,3,2024-01-02,851713,Atlantis,10,100", "D8,1,2024-01-02"),
        today=TODAY,
    )
    keys = workspace.query(
        "SELECT declaration_id, item_no FROM quarantine ORDER BY source_row"
    ).rows()
    assert keys == [("D7", "3"), (None, None)]  # a malformed line has no readable key


def test_a_workspace_folder_named_with_quotes(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "it's \"odd\"")
    report = ingest_file(ws, write(tmp_path / "a.csv", *A_LINES), today=TODAY)
    assert report.counts.rows_accepted == 3
    assert report.batch_id is not None
    drop_batch(ws, report.batch_id)
    assert ws.query("SELECT count(*) FROM declarations").item() == 0


ROW = st.tuples(
    st.sampled_from(["D1", "D2", "D3", "D9", "E1"]),  # keys overlapping A's and new ones
    st.integers(1, 3),
    st.sampled_from(["2024-01-02", "2024-02-30", "2099-01-01"]),
    st.sampled_from(["851713", "610462", "12AB"]),
    st.sampled_from(["CN", "FR", "Atlantis"]),
    st.sampled_from(["10", "5", "-1", "x"]),
    st.sampled_from(["100", "50", "9", ""]),
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(other=st.lists(ROW, min_size=1, max_size=12))
def test_another_file_never_changes_a_stored_row_of_an_earlier_batch(
    tmp_path_factory: pytest.TempPathFactory, other: list[tuple[object, ...]]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    ws = Workspace.create(folder / "ws")
    a = ingest_file(ws, write(folder / "a.csv", *A_LINES), today=TODAY)
    assert a.batch_id is not None
    stored_a = rows_of(ws, a.batch_id)
    before = table_digests(ws)
    b = ingest_file(
        ws, write(folder / "b.csv", *(",".join(map(str, r)) for r in other)), today=TODAY
    )
    assert rows_of(ws, a.batch_id) == stored_a
    c = b.counts
    assert c.rows_read == len(other)
    assert c.rows_accepted + c.rows_duplicate + c.rows_conflict + c.rows_rejected == len(other)
    if b.batch_id is not None and not b.already_ingested:
        drop_batch(ws, b.batch_id)
    assert table_digests(ws) == before
