"""One assessment contract for every scorer.

A scorer (:class:`Scorer`) scores declaration items into a :class:`ScoreFrame`: one score per
row where **higher = riskier**, typed reasons with structured evidence, the scorer's name and
version, and an explicit status (``ok`` / ``unavailable``). The fraud model, the anomaly
detector, the HS misclassification check, the price check and the rule set all implement it
(:mod:`clearlane.scoring.adapters`); :mod:`clearlane.scoring.registry` names them in one place.
:mod:`clearlane.scoring.assessments` combines score frames into
:class:`~clearlane.schema.reasons.RiskAssessment` rows and their stored table.
"""

from __future__ import annotations

from clearlane.schema.reasons import (
    ROW_NOT_SCORED,
    ROW_SCORED,
    SCORER_OK,
    SCORER_UNAVAILABLE,
    Reason,
    RiskAssessment,
    ScorerScore,
)
from clearlane.scoring.adapters import (
    AnomalyScorer,
    FraudScorer,
    HSCheckScorer,
    PriceCheckScorer,
    RuleScorer,
    price_score_frame,
)
from clearlane.scoring.frame import KEYS, ScoreFrame, row_keys
from clearlane.scoring.protocol import Scorer
from clearlane.scoring.registry import (
    ScorerSpec,
    get_scorer,
    make_scorer,
    register_scorer,
    scorer_names,
)

__all__ = [
    "KEYS", "ROW_NOT_SCORED", "ROW_SCORED", "SCORER_OK", "SCORER_UNAVAILABLE", "AnomalyScorer",
    "FraudScorer", "HSCheckScorer", "PriceCheckScorer", "Reason", "RiskAssessment",
    "RuleScorer", "ScoreFrame", "Scorer", "ScorerScore", "ScorerSpec", "get_scorer",
    "make_scorer", "price_score_frame", "register_scorer", "row_keys", "scorer_names",
]
