"""Helpers for the quality tests: crafted declaration rows and their constants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from clearlane.schema.fields import canonical_schema
from clearlane.store.workspace import Workspace

AS_OF = date(2026, 11, 23)
PLANTED_LOW = "P-LOW"
PLANTED_HIGH = "B-HIGH"


def declaration(declaration_id: str, batch_id: str, source_row: int, **values: Any) -> dict[str, Any]:
    """One canonical row with sensible defaults; ``values`` override fields."""
    row: dict[str, Any] = {name: None for name in canonical_schema()}
    row.update(
        declaration_id=declaration_id, item_no=1, declared_at=date(2026, 1, 1),
        office_id="OF1", declarant_id="DEC1", importer_id="IMP1", exporter_id="EXP1",
        hs_code="01012100", goods_description="live horses", origin_country="FR",
        net_mass_kg=100.0, gross_mass_kg=110.0, customs_value=1000.0, currency="EUR",
        tax_rate=5.0,
    )
    row.update(values)
    row.update(batch_id=batch_id, source_row=source_row)
    return row


@dataclass(frozen=True)
class Crafted:
    workspace: Workspace
    main_ids: tuple[str, ...]


def insert_declarations(workspace: Workspace, rows: list[dict[str, Any]]) -> None:
    schema = {**canonical_schema(), "batch_id": pl.String, "source_row": pl.Int64}
    frame = pl.DataFrame(rows, schema=schema)  # type: ignore[arg-type]
    with workspace.transaction() as con:
        con.register("incoming", frame)
        con.execute("INSERT INTO declarations BY NAME SELECT * FROM incoming")


