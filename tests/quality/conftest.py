"""A small workspace with crafted declarations, ingest records and planted problems."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from quality_fixtures import (
    PLANTED_HIGH,
    PLANTED_LOW,
    Crafted,
    declaration,
    insert_declarations,
)

from clearlane.store.workspace import Workspace


@pytest.fixture
def crafted(workspace: Workspace) -> Crafted:
    """Batch ``batch-a`` (46 accepted, 3 quarantined, 1 duplicate skipped, 3 warned) and
    ``batch-b`` (4 accepted, 1 duplicate skipped, 1 conflict) with planted problems."""
    rows: list[dict[str, Any]] = []
    main_ids = []
    # 40 items of HS6 010121 with unit values between 9.5 and 10.4 per kg.
    for i in range(40):
        did = f"A-{i:03d}"
        main_ids.append(did)
        rows.append(declaration(
            did, "batch-a", i + 2,
            declared_at=date(2026, 1, 1) + timedelta(days=i),
            importer_id=f"IMP{i % 7}",
            customs_value=1000.0 * (1 + 0.01 * (i % 10 - 5)),
            exporter_id=None if i < 10 else "EXP1",
            goods_description="" if i < 5 else (None if i < 10 else "live horses"),
        ))
    # Row 1 repeats row 0 under another declaration id: a suspected double submission.
    rows[1].update({k: rows[0][k] for k in ("declared_at", "importer_id", "customs_value")})
    # The planted under-valued item: 0.05 per kg against a median of about 10.
    rows.append(declaration(PLANTED_LOW, "batch-a", 50, customs_value=5.0))
    # A small HS6 cell (5 items, too few to test) carrying one range violation each.
    small = {"hs_code": "020130"}
    rows += [
        declaration("S-0", "batch-a", 60, **small, net_mass_kg=0.0),
        declaration("S-1", "batch-a", 61, **small, tax_rate=150.0, customs_value=10.0),
        declaration("S-2", "batch-a", 62, **small, declared_at=date(1980, 5, 1)),
        declaration("S-3", "batch-a", 63, **small, gross_mass_kg=50.0, customs_value=1e6),
        declaration("S-4", "batch-a", 64, **small, fob_value=2000.0),
    ]
    # Batch b: three ordinary items of HS6 010121 and one far too dear.
    rows += [
        declaration(f"B-{i}", "batch-b", i + 2, declared_at=date(2026, 6, 1), importer_id=f"IMPB{i}")
        for i in range(3)
    ]
    rows.append(declaration(PLANTED_HIGH, "batch-b", 9, customs_value=1e7))
    insert_declarations(workspace, rows)
    with workspace.transaction() as con:
        con.executemany(
            "INSERT INTO ingest_batches VALUES (?, ?, 'sha', 1, 'canonical', 'fp', "
            "TIMESTAMP '2026-11-01 10:00:00', ?, ?, ?, ?, ?, ?, ?)",
            [
                ["batch-a", "a.csv", "2026-11-01 10:00:05", 50, 46, 3, 1, 0, 3],
                ["batch-b", "b.csv", "2026-11-02 10:00:05", 6, 4, 0, 1, 1, 0],
            ],
        )
        con.executemany(
            "INSERT INTO quarantine (batch_id, source_file, source_row, raw, reasons) "
            "VALUES ('batch-a', 'a.csv', ?, ?, ?)",
            [
                [101, '{"hs_code": "01A121"}', "hs_code: HS code contains letters"],
                [102, '{"hs_code": "B10121"}', "hs_code: HS code contains letters"],
                [103, '{"declared_at": "31/02"}', "declared_at: not a date"],
            ],
        )
        con.executemany(
            "INSERT INTO ingest_issues VALUES ('batch-a', 'a.csv', ?, ?, ?, ?, ?)",
            [
                [101, "hs_code", "01A121", "HS code contains letters", "rejected"],
                [102, "hs_code", "B10121", "HS code contains letters", "rejected"],
                [3, "origin_country", "ZZ", "user-assigned ISO code", "warning"],
                [4, "origin_country", "ZZ", "user-assigned ISO code", "warning"],
                [5, "origin_country", "XZ", "user-assigned ISO code", "warning"],
            ],
        )
        con.execute(
            "INSERT INTO conflicts (batch_id, source_file, source_row, declaration_id, item_no, "
            "existing_batch_id, existing_source_row, differing_fields) "
            "VALUES ('batch-b', 'b.csv', 7, 'A-005', 1, 'batch-a', 3, 'customs_value')"
        )
        con.executemany(
            "INSERT INTO normalisations VALUES ('batch-a', ?, ?, ?, ?)",
            [["origin_country", "France", "FR", 5], ["hs_code", "0101.21.00", "01012100", 2]],
        )
    return Crafted(workspace, tuple(main_ids))
