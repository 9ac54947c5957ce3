"""`select_for_inspection` over a real workspace: unassessed declarations, the price check as a
signal, and the segment signal fed by recorded outcomes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from clearlane.selection import SelectionPolicy
from clearlane.services.outcomes import record_outcomes
from clearlane.services.selection import select_for_inspection
from clearlane.services.synth import ingest_synthetic, write_synthetic
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("sel")
    ws = Workspace.create(root / "ws")
    files = write_synthetic(SynthConfig(n_items=2500, days=40, seed=5), root / "data")
    ingest_synthetic(ws, files.files)
    return ws


def _assess(ws: Workspace, until: date, version: str = "m1") -> None:
    """Store fake assessments (probability from the customs value) up to ``until``."""
    frame = ws.declarations(["declaration_id", "item_no", "customs_value", "declared_at"])
    frame = frame.filter(pl.col("declared_at").cast(pl.Date) <= until)
    rank = frame["customs_value"].rank() / frame.height
    table = frame.select(
        "declaration_id", pl.col("item_no").cast(pl.Int64), pl.lit(version).alias("model_version"),
        (rank * 0.5).alias("fraud_probability"),
        (rank * 0.5 * pl.col("customs_value") * 0.1).alias("expected_revenue"),
        pl.lit(0.1).alias("anomaly_score"), pl.lit(None, pl.String).alias("reasons"),
        pl.lit(datetime.now(UTC).replace(tzinfo=None)).alias("assessed_at"))
    with ws.transaction() as con:
        con.execute("DELETE FROM risk_assessments")
        con.register("fake", table.to_arrow())
        con.execute("INSERT INTO risk_assessments BY NAME SELECT * FROM fake")
        con.unregister("fake")


def _window(ws: Workspace) -> tuple[date, date]:
    days = ws.query("SELECT min(declared_at) AS a, max(declared_at) AS b FROM declarations")
    return days.item(0, 0), days.item(0, 1)


def test_unassessed_declarations_are_warned_about_and_get_no_model_slot(
        workspace: Workspace) -> None:
    first, last = _window(workspace)
    middle = date.fromordinal((first.toordinal() + last.toordinal()) // 2)
    _assess(workspace, middle)
    run = select_for_inspection(workspace, date_from=first, date_to=last, seed=1, checks=False,
                                policy=SelectionPolicy(red_rate=0.2, random_share=0.01))
    assert len(run.warnings) == 1
    warning = run.warnings[0]
    assert "have no risk assessment" in warning and "clearlane assess --from" in warning
    assert str(last) in warning
    lanes = run.result.lanes.with_columns(pl.col("declared_at").cast(pl.Date))
    late = lanes.filter(pl.col("declared_at") > middle)
    assert late.filter(pl.col("basis").is_in(["model", "exploration", "anomaly"])).height == 0
    assert lanes.filter((pl.col("declared_at") <= middle)
                        & (pl.col("basis") == "model")).height > 0


def test_price_check_becomes_a_signal_with_its_reason(workspace: Workspace) -> None:
    from clearlane.services.valuation import build_workspace_bands
    from clearlane.valuation.bands import BandConfig

    first, last = _window(workspace)
    _assess(workspace, last)
    build_workspace_bands(workspace, config=BandConfig(period="all", min_count=5),
                          national_currency="XOF")
    run = select_for_inspection(workspace, date_from=first, date_to=last, seed=1,
                                policy=SelectionPolicy(red_rate=0.3, random_share=0.0))
    assert any(n.startswith("price check:") for n in run.notes)
    reasons = [r for text in run.result.lanes.filter(pl.col("lane") != "green")["reasons"]
               for r in json.loads(text)]
    price = [r for r in reasons if r["code"] == "PRICE_CHECK"]
    below = [r for r in price if r["text"].startswith("price check: declared ")]
    assert below and ", below the band: the 5th–95th percentile" in below[0]["text"]


def test_quantity_short_of_the_net_mass_is_a_full_price_signal(workspace: Workspace) -> None:
    from clearlane.services.selection import _price_signal, price_check_frame
    from clearlane.services.valuation import build_workspace_bands
    from clearlane.valuation.bands import BandConfig

    first, last = _window(workspace)
    build_workspace_bands(workspace, config=BandConfig(period="all", min_count=5),
                          national_currency="XOF")
    declarations = workspace.declarations(where=f"declared_at >= DATE '{first}'")
    frame = price_check_frame(workspace, declarations, first, last)
    assert frame.available and frame.scorer == "price_check"
    signal = _price_signal(frame)
    assert signal is not None
    short = signal.filter(pl.col("price_check_note").str.contains("below the declared net mass"))
    assert short.height > 0  # the synthetic concealment mechanism declares too few kg
    assert (short["price_check"] == 1.0).all()
    others = signal.filter(~pl.col("price_check_note").str.contains("net mass").fill_null(False))
    assert others["price_check"].max() < 1.0


def test_recorded_frauds_raise_their_segment_next_time(workspace: Workspace,
                                                       tmp_path: Path) -> None:
    first, last = _window(workspace)
    _assess(workspace, last)
    run = select_for_inspection(workspace, date_from=first, date_to=first, seed=2,
                                checks=False, policy=SelectionPolicy(red_rate=0.5))
    red = run.result.lanes.filter(pl.col("lane") == "red")
    # every inspected item turned out to be a fraud, far above the model's probabilities
    record_outcomes(workspace, red.select("declaration_id", "item_no",
                                          pl.lit(True).alias("fraud")))
    later = select_for_inspection(workspace, date_from=last - timedelta(days=5), date_to=last,
                                  seed=2, checks=False,
                                  policy=SelectionPolicy(red_rate=0.5, exploration_share=0.5,
                                                         exploration="segments"))
    assert any(n.startswith("segment signal:") for n in later.notes)
    reasons = [r for text in later.result.lanes["reasons"] for r in json.loads(text)]
    assert any(r["code"] == "SEGMENT_SIGNAL" for r in reasons)
    explored = [r for r in reasons if r["code"] == "EXPLORATION"]
    assert explored and all("segment" in r["text"] for r in explored)
