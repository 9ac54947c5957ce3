"""Planted fraud: which items are fraudulent, how, and what each does to the declared values.

Each item carries at most one mechanism. Network and burst fraud follow from who the importer is;
the four item-level mechanisms are then planted on exactly ``round(rate × n_items)`` items each
(fewer only when too few items are eligible), chosen at random among eligible, still-clean items.

How each shows in the data (what a detector can use):

- ``undervaluation``: customs_value = true × (1 − depth); unit value (per kg and per unit) falls
  below the usual band of the HS6 code while mass and quantity stay true.
- ``misclassification``: hs_code is a lower-duty subheading of the same heading (else chapter);
  goods_description still describes the true code; tax_rate is the decoy's.
- ``false_origin``: origin_country is an ECOWAS member (duty-free) while the goods come from
  elsewhere. For ``1 − false_origin_disguised_share`` of them departure_country stays the true
  one (origin ≠ departure, rare for genuine ECOWAS goods); the rest are trans-shipped through the
  claimed country (departure = claimed origin), visible only as an unusual origin for the HS
  code and a price typical of the true origin.
- ``concealment``: hidden goods ride along: net and gross mass are the weighed (true) masses, but
  quantity and customs_value cover only the declared share (1 − hidden). Value per kg and
  quantity per kg both fall below the HS6 norm, value per unit stays normal.
- ``risky_network``: importers routed through a few risky brokers under-value
  (as undervaluation) at ``risky_network_fraud_rate``.
- ``new_importer_burst``: importers first seen in a short window under-value at
  ``burst_fraud_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearlane.synth.config import MECHANISMS, SynthConfig

NONE = 0
CODE: dict[str, int] = {name: i + 1 for i, name in enumerate(MECHANISMS)}
"""Mechanism name → small integer used inside the generator (0 = clean)."""


@dataclass(frozen=True)
class TrueItems:
    """The true facts of every item (aligned arrays, one entry per item)."""

    code_idx: np.ndarray  # index into the catalogue
    has_decoy: np.ndarray  # bool: a lower-duty code exists for the true code
    duty: np.ndarray  # true duty in percent (0 for preferential origin)
    decoy_duty: np.ndarray  # duty of the decoy code in percent
    origin_idx: np.ndarray  # index into countries
    preferential: np.ndarray  # bool: true origin is preferential
    value: np.ndarray  # true customs value
    quantity: np.ndarray
    risky_importer: np.ndarray  # bool
    burst_importer: np.ndarray  # bool


@dataclass(frozen=True)
class Planted:
    """What the fraud changed: the mechanism per item and the declared values."""

    mechanism: np.ndarray  # int8, 0 = clean, else CODE[name]
    declared_value: np.ndarray
    declared_quantity: np.ndarray
    declared_duty: np.ndarray
    use_decoy: np.ndarray  # bool: hs_code is the decoy
    declared_origin_idx: np.ndarray
    transshipped: np.ndarray  # bool: departure country rewritten to the claimed origin
    depth: np.ndarray  # fraction of the true value not declared (0 when clean)
    evaded: np.ndarray  # duties and taxes evaded, national currency (0 when clean)


def plant(
    items: TrueItems,
    preferential_origin_idx: np.ndarray,
    preferential_share: np.ndarray,
    config: SynthConfig,
    rng: np.random.Generator,
) -> Planted:
    """Choose the fraudulent items and derive their declared values.

    ``preferential_origin_idx`` / ``preferential_share``: the duty-free origins a false-origin
    declaration claims, and how often each is claimed.
    """
    n = len(items.value)
    mechanism = np.zeros(n, dtype=np.int8)
    u = rng.random(n)
    mechanism[items.burst_importer & (u < config.burst_fraud_rate)] = CODE["new_importer_burst"]
    network = items.risky_importer & ~items.burst_importer & (u < config.risky_network_fraud_rate)
    mechanism[network] = CODE["risky_network"]

    clean_pool = ~items.risky_importer & ~items.burst_importer
    eligible = {
        "misclassification": items.has_decoy & (items.duty > items.decoy_duty),
        "false_origin": ~items.preferential & (items.duty > 0),
        "concealment": np.ones(n, dtype=bool),
        "undervaluation": np.ones(n, dtype=bool),
    }
    rates = {
        "misclassification": config.misclassification_rate,
        "false_origin": config.false_origin_rate,
        "concealment": config.concealment_rate,
        "undervaluation": config.undervaluation_rate,
    }
    for name in ("misclassification", "false_origin", "concealment", "undervaluation"):
        candidates = np.flatnonzero(eligible[name] & clean_pool & (mechanism == NONE))
        target = min(round(rates[name] * n), len(candidates))
        if target:
            mechanism[rng.choice(candidates, size=target, replace=False)] = CODE[name]

    depth = np.zeros(n)
    undervalued = np.isin(
        mechanism,
        [CODE["undervaluation"], CODE["risky_network"], CODE["new_importer_burst"]],
    )
    low, high = config.undervaluation_depth
    depth[undervalued] = rng.uniform(low, high, int(undervalued.sum()))
    concealed = mechanism == CODE["concealment"]
    low, high = config.concealment_hidden_share
    depth[concealed] = rng.uniform(low, high, int(concealed.sum()))

    declared_value = np.round(items.value * (1.0 - depth))
    declared_quantity = items.quantity.copy()
    declared_quantity[concealed] = np.maximum(
        1.0, np.round(items.quantity[concealed] * (1.0 - depth[concealed]), 1)
    )

    use_decoy = mechanism == CODE["misclassification"]
    false_origin = mechanism == CODE["false_origin"]
    declared_duty = np.where(use_decoy, items.decoy_duty, items.duty)
    declared_duty[false_origin] = 0.0
    declared_origin_idx = items.origin_idx.copy()
    pick = np.searchsorted(
        np.cumsum(preferential_share) / preferential_share.sum(),
        rng.random(int(false_origin.sum())),
        side="right",
    )
    declared_origin_idx[false_origin] = preferential_origin_idx[
        np.minimum(pick, len(preferential_origin_idx) - 1)
    ]

    transshipped = false_origin & (rng.random(n) < config.false_origin_disguised_share)

    vat = config.vat_rate
    true_tax = items.value * (items.duty + vat) / 100.0
    declared_tax = declared_value * (declared_duty + vat) / 100.0
    evaded = np.where(mechanism != NONE, np.round(true_tax - declared_tax), 0.0)
    return Planted(
        mechanism=mechanism,
        declared_value=declared_value,
        declared_quantity=declared_quantity,
        declared_duty=declared_duty,
        use_decoy=use_decoy,
        declared_origin_idx=declared_origin_idx,
        transshipped=transshipped,
        depth=depth,
        evaded=np.maximum(evaded, 0.0),
    )
