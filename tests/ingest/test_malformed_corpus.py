"""Every file of the malformed corpus (``scripts/make_malformed_corpus.py``) ingests as its
manifest says: counts, reasons, line spans, nothing lost; no input changes another batch."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearlane.errors import ClearlaneError, ValidationError
from clearlane.ingest.profile import Profile, parse_profile
from clearlane.ingest.readers import open_source
from clearlane.services.ingest import ingest_file
from clearlane.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "malformed"
MANIFEST = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
TODAY = date.fromisoformat(MANIFEST["today"])
COLUMNS = [
    "declaration_id", "item_no", "declared_at", "hs_code", "origin_country", "customs_value",
    "goods_description",
]


def profile_for(options: dict[str, Any] | None = None) -> Profile:
    data = {
        "name": "corpus",
        "columns": {c: c for c in COLUMNS},
        "missing_columns": "ignore",
        "extras": "unmapped",
    }
    if options:
        data["csv"] = options
    return parse_profile(json.dumps(data), "corpus")


def test_corpus_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_malformed_corpus", ROOT / "scripts" / "make_malformed_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, data in module.render().items():
        assert (CORPUS / name).read_bytes() == data, f"{name} is stale: rerun the script"


@pytest.mark.parametrize("name", sorted(MANIFEST["cases"]))
def test_corpus_case(name: str, tmp_path: Path) -> None:
    expected = MANIFEST["cases"][name]
    path = CORPUS / name
    profile = profile_for(expected.get("csv"))
    workspace = Workspace.create(tmp_path / "ws")
    if "error" in expected:
        with pytest.raises(ValidationError, match=expected["error"]):
            ingest_file(workspace, path, profile, today=TODAY)
        assert workspace.query("SELECT count(*) FROM ingest_batches").item() == 0
        return
    if expected["accepted"] == 0 and expected["quarantined"] == 0:
        scan = open_source(path)
        assert sum(b.height for b in scan.batches()) == 0
        assert scan.malformed == []
        return
    report = ingest_file(workspace, path, profile, today=TODAY)
    counts = report.counts
    assert counts.rows_read == expected["records"]
    assert counts.rows_accepted == expected["accepted"]
    assert counts.rows_rejected == expected["quarantined"]
    # Nothing lost: every record of the file is stored or quarantined.
    assert counts.rows_accepted + counts.rows_rejected == expected["records"]
    quarantine = workspace.query("SELECT source_row, reasons FROM quarantine ORDER BY source_row")
    assert quarantine.get_column("source_row").to_list() == expected["quarantine_lines"]
    reasons = quarantine.get_column("reasons").to_list()
    for want, got in zip(expected["reasons"], reasons, strict=True):
        assert want in got
    stored = workspace.query(
        "SELECT declaration_id, source_row, goods_description, customs_value, extra "
        "FROM declarations ORDER BY source_row"
    )
    if "lines" in expected:
        assert stored.get_column("source_row").to_list() == expected["lines"]
    by_id = {r["declaration_id"]: r for r in stored.to_dicts()}
    for key, value in expected.get("values", {}).items():
        assert by_id[key]["goods_description"] == value
    for key, value in expected.get("numbers", {}).items():
        assert by_id[key]["customs_value"] == value
    for key, extras in expected.get("extras", {}).items():
        kept = json.loads(by_id[key]["extra"])
        assert {k: kept[k] for k in extras} == extras
    for key in expected.get("extra_keys", []):
        assert all(key in json.loads(r["extra"]) for r in by_id.values())
    for field, changes in expected.get("normalised", {}).items():
        reported = workspace.query(
            "SELECT normalised FROM normalisations WHERE field = ?", [field]
        ).get_column("normalised").to_list()
        assert set(changes) <= set(reported)


def _big_field_file(path: Path, size: int) -> Path:
    rows = [
        "D001,1,2024-01-05,851713,CN,10,short",
        f'D002,1,2024-01-05,851713,CN,10,"{"x" * size}"',
        "D003,1,2024-01-05,851713,CN,10,after",
        f"D004,1,2024-01-05,851713,CN,10,{'y' * size}",
        "D005,1,2024-01-05,851713,CN,10,last",
    ]
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_3_mb_field_within_the_limit_is_read(tmp_path: Path) -> None:
    path = _big_field_file(tmp_path / "big.csv", 3_000_000)
    workspace = Workspace.create(tmp_path / "ws")
    report = ingest_file(workspace, path, profile_for(), today=TODAY)
    assert report.counts.rows_accepted == 5
    lengths = workspace.query(
        "SELECT source_row, length(goods_description) FROM declarations ORDER BY 1"
    ).rows()
    assert lengths[1] == (3, 3_000_000)


def test_a_field_above_the_limit_quarantines_its_record_only(tmp_path: Path) -> None:
    path = _big_field_file(tmp_path / "big.csv", 3_000_000)
    workspace = Workspace.create(tmp_path / "ws")
    profile = profile_for({"max_field_bytes": 1_000_000})
    report = ingest_file(workspace, path, profile, today=TODAY)
    assert (report.counts.rows_accepted, report.counts.rows_rejected) == (3, 2)
    quarantine = workspace.query("SELECT source_row, reasons FROM quarantine ORDER BY 1").rows()
    assert [q[0] for q in quarantine] == [3, 5]
    assert all("longer than the limit of 1,000,000 bytes" in q[1] for q in quarantine)
    stored = workspace.query("SELECT source_row FROM declarations ORDER BY 1")
    assert stored.get_column("source_row").to_list() == [2, 4, 6]


# -- no input file ever changes another batch's rows -------------------------------------------

FRAGMENTS = st.sampled_from(
    ['"', '""', ",", ";", "\n", "\r\n", "\r", "\t", "D001", "D9", "2024-01-05", "851713", "CN",
     "inf", "1e400", "1_000", "1.234,56", "é", "€", "\ufeff", "\x00", " ", "x" * 50, "{}",
     '{"a": [1]}']
)


def _digest(workspace: Workspace, batch: str) -> str:
    text = ""
    for table, order in (
        ("declarations", "source_row, declaration_id, item_no"),
        ("quarantine", "source_row"),
        ("ingest_issues", "source_row, field, reason"),
        ("normalisations", "field, original"),
    ):
        rows = workspace.query(
            f"SELECT * FROM {table} WHERE batch_id = ? ORDER BY {order}", [batch]
        ).rows()
        text += repr(rows)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str, str, Path]:
    folder = tmp_path_factory.mktemp("property")
    workspace = Workspace.create(folder / "ws")
    first = folder / "first.csv"
    first.write_text(
        ",".join(COLUMNS) + "\n"
        + "".join(f"D{i:03d},1,2024-01-05,851713,CN,{i}.5,\"Item {i}\nnote\"\n" for i in range(30))
        + "D999,1,2024-01-05,851713,Atlantis,1,bad\n",
        encoding="utf-8",
    )
    report = ingest_file(workspace, first, profile_for(), today=TODAY)
    assert report.batch_id is not None
    return workspace, report.batch_id, _digest(workspace, report.batch_id), folder


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.lists(st.lists(FRAGMENTS, max_size=12).map("".join), max_size=15),
    suffix=st.sampled_from([".csv", ".jsonl", ".tsv"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]),
)
def test_no_input_changes_another_batch(
    shared: tuple[Workspace, str, str, Path], body: list[str], suffix: str, encoding: str
) -> None:
    workspace, batch, digest, folder = shared
    content = ",".join(COLUMNS) + "\n" + "\n".join(body)
    path = folder / f"generated{suffix}"
    path.write_bytes(content.encode(encoding, errors="replace"))
    # An unusable file is refused with a message (a ClearlaneError), never a raw reader error.
    with contextlib.suppress(ClearlaneError):
        ingest_file(workspace, path, profile_for(), today=TODAY)
    assert _digest(workspace, batch) == digest
