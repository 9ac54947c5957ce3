"""The ASYCUDA World-style export written from synthetic declarations."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from clearlane.synth import SynthConfig, SynthResult, generate
from clearlane.synth.asycuda_export import (
    OUTCOME_COLUMNS,
    AsycudaExportOptions,
    asycuda_frame,
    pseudonyms,
    write_asycuda_export,
)


@pytest.fixture(scope="module")
def result() -> SynthResult:
    return generate(SynthConfig(n_items=600, seed=5, days=40))


def test_one_row_per_item_in_the_asycuda_habits(result: SynthResult) -> None:
    frame = asycuda_frame(result)
    d = result.declarations
    assert frame.height == d.height
    # Declaration numbers: year, office, serial C, number; one per declaration.
    assert frame["SAD Number"].str.contains(r"^\d{4} \S+ C \d+$").all()
    assert frame["SAD Number"].n_unique() == d["declaration_id"].n_unique()
    # Items "n of m": m is the declaration's number of items, n runs 1..m.
    parts = frame.select(
        pl.col("SAD Number"),
        pl.col("Item").str.extract(r"^(\d+) of", 1).cast(pl.Int64).alias("n"),
        pl.col("Item").str.extract(r"of (\d+)$", 1).cast(pl.Int64).alias("m"),
    )
    check = parts.group_by("SAD Number").agg(
        pl.col("m").first(), pl.len(), pl.col("n").sort().alias("ns")
    )
    assert (check["m"] == check["len"]).all()
    assert all(ns == list(range(1, len(ns) + 1)) for ns in check["ns"].to_list())
    # dd-Mon-yy dates read back to the declaration dates.
    dates = sorted(datetime.strptime(v, "%d-%b-%y").date() for v in frame["Reg. Date"])
    assert dates == sorted(d["declared_at"].to_list())
    # Box 47: the duty rate without VAT; taxes by type add up to the total.
    ordered = d.sort("declared_at", "declaration_id", "item_no")
    assert (frame["Duty Rate %"].cast(pl.Float64) + result.config.vat_rate
            == ordered["tax_rate"]).all()
    taxes = frame.select(pl.col("Customs Duty", "Statistical Fee", "VAT", "Total Taxes").cast(
        pl.Int64))
    assert (taxes["Customs Duty"] + taxes["Statistical Fee"] + taxes["VAT"]
            == taxes["Total Taxes"]).all()
    # Names beside codes, multi-line notes, ISO timestamps with a zone for inspections.
    assert frame["Importer Name"].str.contains(r"^[A-Z ]+$").all()
    assert frame["Additional Information"].str.contains("\n").all()
    inspected = frame.filter(pl.col("Examined") == "Y")
    assert inspected.height == int(d["inspected"].sum()) > 0
    assert inspected["Inspection Date"].str.contains(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$").all()


def test_without_outcomes_and_with_pseudonymised_countries(result: SynthResult) -> None:
    frame = asycuda_frame(
        result, AsycudaExportOptions(with_outcomes=False, pseudonymised_countries=True, seed=3)
    )
    assert not set(OUTCOME_COLUMNS) & set(frame.columns)
    mapping = pseudonyms(3)
    assert len(set(mapping.values())) == len(mapping)  # no two countries share a pseudonym
    for column, iso in (("Country of Origin", "origin_country"),
                        ("Country of Export", "departure_country")):
        assert frame[column].str.contains(r"^C\d{4}$").all()
        expected = result.declarations.sort("declared_at", "declaration_id", "item_no")[iso]
        assert frame[column].to_list() == [mapping[c] for c in expected.to_list()]


def test_deterministic_for_a_seed(result: SynthResult, tmp_path: Path) -> None:
    a = write_asycuda_export(result, tmp_path / "a.csv", AsycudaExportOptions(seed=1))
    b = write_asycuda_export(result, tmp_path / "b.csv", AsycudaExportOptions(seed=1))
    c = write_asycuda_export(result, tmp_path / "c.csv", AsycudaExportOptions(seed=2))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_the_csv_keeps_multi_line_notes_in_one_record(result: SynthResult, tmp_path: Path) -> None:
    path = write_asycuda_export(result, tmp_path / "export.csv")
    raw = path.read_bytes()
    assert b"\r\n" in raw and re.search(rb'"Incoterm: [^"\r]*\nPayment', raw)
    again = pl.read_csv(path, infer_schema=False)
    assert again.height == result.declarations.height
    assert again.columns == asycuda_frame(result).columns


def test_synth_layout_asycuda_writes_the_export(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from clearlane.cli.main import app

    result = CliRunner().invoke(
        app, ["synth", "-n", "300", "--days", "20", "--layout", "asycuda", "--out", str(tmp_path),
              "--format", "csv"], env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    export = pl.read_csv(tmp_path / "asycuda_export.csv", infer_schema=False)
    assert export.height == 300 and "SAD Number" in export.columns
    assert (tmp_path / "declarations.csv").exists() and (tmp_path / "truth.csv").exists()
