"""Inspection outcomes: which declarations were inspected and what the inspection found.

Selection is per declaration, as in a real clearance system: a random share (unbiased) plus a
share picked by an imperfect risk score, so inspected declarations are richer in fraud than the
whole population but far from all of it. An inspection finds a planted fraud with probability
``detection_rate``; fraud is only known for inspected items (null otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearlane.synth.config import SynthConfig
from clearlane.synth.mechanisms import CODE, NONE

FINDINGS: dict[int, str] = {
    CODE["undervaluation"]: "Under-valuation: invoice value below the transaction value",
    CODE["misclassification"]: "Misclassification: goods belong to a higher-duty subheading",
    CODE["false_origin"]: "False origin: preferential certificate of origin not valid",
    CODE["risky_network"]: "Under-valuation through broker network",
    CODE["concealment"]: "Concealment: undeclared goods found in the consignment",
    CODE["new_importer_burst"]: "Under-valuation by newly registered importer",
}
NO_FINDING = "No irregularity found"


@dataclass(frozen=True)
class Outcomes:
    """Per-item outcome arrays (masks say where the nullable outcome columns have a value)."""

    inspected: np.ndarray  # bool
    fraud: np.ndarray  # bool (meaningful where inspected)
    revenue_recovered: np.ndarray  # national currency (meaningful where inspected)
    critical: np.ndarray  # bool (meaningful where inspected)
    inspection_delay_days: np.ndarray  # int (meaningful where inspected)
    officer_no: np.ndarray  # int, officer number within the office
    random_control: np.ndarray  # bool, inspected as part of the random control sample


def inspect(
    decl_of_item: np.ndarray,
    n_declarations: int,
    mechanism: np.ndarray,
    evaded: np.ndarray,
    decl_risk_hint: np.ndarray,
    config: SynthConfig,
    rng: np.random.Generator,
) -> Outcomes:
    """Select declarations for inspection and record what each inspection found.

    ``decl_risk_hint``: per-declaration signals a risk officer would see (risky broker, new
    importer, value), higher = riskier. The targeting score adds the hidden truth at a modest
    weight and a large noise term, so targeting is better than random but imperfect.
    """
    any_fraud = np.zeros(n_declarations)
    np.maximum.at(any_fraud, decl_of_item, (mechanism != NONE).astype(float))
    score = 1.2 * any_fraud + decl_risk_hint + rng.normal(0.0, 1.0, n_declarations)
    random_share = config.inspection_rate * config.random_inspection_share
    random_pick = rng.random(n_declarations) < random_share
    targeted_share = config.inspection_rate * (1.0 - config.random_inspection_share)
    inspected_decl = random_pick.copy()
    if targeted_share > 0:
        rest = np.flatnonzero(~random_pick)
        k = min(len(rest), round(targeted_share * n_declarations))
        if k:
            top = rest[np.argpartition(-score[rest], k - 1)[:k]]
            inspected_decl[top] = True
    inspected = inspected_decl[decl_of_item]
    found = inspected & (mechanism != NONE) & (rng.random(len(mechanism)) < config.detection_rate)
    recovered = np.where(found, evaded, 0.0)
    if found.any():
        big = np.quantile(evaded[mechanism != NONE], 0.9)
        critical = found & ((mechanism == CODE["concealment"]) | (evaded >= big))
    else:
        critical = np.zeros(len(mechanism), dtype=bool)
    delay = rng.integers(0, 3, n_declarations)[decl_of_item]
    officer = rng.integers(1, 7, n_declarations)[decl_of_item]
    return Outcomes(inspected, found, recovered, critical, delay, officer, random_pick[decl_of_item])
