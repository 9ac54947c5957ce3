"""The small fixed synthetic workspace behind the selector golden file.

Built the same way by the test and by the regeneration script (``make_golden.py``): synthetic
declarations, the fraud model and anomaly detector trained and assessed, value bands and an HS
classifier (so the price and HS checks are signals), the example rule profile, one selection.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from clearlane.selection import SelectionPolicy
from clearlane.services.hs import train_classifier
from clearlane.services.risk import assess_declarations, train_models
from clearlane.services.selection import SelectionRun, select_for_inspection
from clearlane.services.synth import ingest_synthetic, write_synthetic
from clearlane.services.valuation import build_workspace_bands
from clearlane.store.workspace import Workspace
from clearlane.synth import SynthConfig
from clearlane.valuation.bands import BandConfig

RULES = Path(__file__).resolve().parents[3] / "src/clearlane/rules/examples/basic.yaml"
GOLDEN = Path(__file__).resolve().parent / "lanes.json"
SELECT_FROM = date(2024, 1, 22)


def build(root: Path) -> Workspace:
    ws = Workspace.create(root / "ws")
    files = write_synthetic(SynthConfig(n_items=2000, days=30, seed=7), root / "data")
    ingest_synthetic(ws, files.files)
    train_models(ws, seed=3, search=False)
    assess_declarations(ws)
    build_workspace_bands(ws, config=BandConfig(period="all", min_count=5),
                          national_currency="XOF")
    train_classifier(ws)
    return ws


def select(ws: Workspace, per_declaration: bool = True) -> SelectionRun:
    """One selection of the last days; ``per_declaration`` false selects items (and quotes
    the fraud model's own reasons in model-rank reasons)."""
    last = ws.query("SELECT max(declared_at) FROM declarations").item(0, 0)
    return select_for_inspection(
        ws, date_from=SELECT_FROM, date_to=last, rules_path=RULES, seed=3,
        policy=SelectionPolicy(red_rate=0.15, random_share=0.02, yellow_rate=0.05,
                               blue_rate=0.03, per_declaration=per_declaration))


def summary(run: SelectionRun) -> dict[str, Any]:
    """Lane counts per office × lane × basis, reason codes per lane, and the texts of the
    check signals' reasons (which the selector builds from structured evidence)."""
    lanes = run.result.lanes
    counts = lanes.group_by("office_id", "lane", "basis").len().sort("office_id", "lane", "basis")
    per_office: dict[str, dict[str, int]] = {}
    for row in counts.iter_rows(named=True):
        per_office.setdefault(str(row["office_id"]), {})[f"{row['lane']}/{row['basis']}"] = \
            int(row["len"])
    codes: Counter[str] = Counter()
    check_texts: set[str] = set()
    for lane, text in lanes.select("lane", "reasons").iter_rows():
        for reason in json.loads(text or "[]"):
            codes[f"{lane}/{reason['code']}"] += 1
            if reason["code"] in ("HS_CHECK", "PRICE_CHECK"):
                check_texts.add(reason["text"])
    model_texts = sorted(
        r["text"] for text in lanes["reasons"].to_list() for r in json.loads(text or "[]")
        if r["code"] == "MODEL_RANK" and "(" in r["text"])
    every = lanes.sort("declaration_id", "item_no").select("declaration_id", "item_no", "lane",
                                                            "basis", "reasons")
    digest = hashlib.sha256(every.write_csv().encode()).hexdigest()
    return {"per_office": per_office, "reason_codes": dict(sorted(codes.items())),
            "check_texts": sorted(check_texts), "model_rank_texts": model_texts[:10],
            "lanes_and_reasons_sha256": digest, "notes": [
                n for n in run.notes if not n.startswith("segment")]}
