"""The shipped scorers behind the :class:`~clearlane.scoring.protocol.Scorer` protocol.

Each adapter wraps an existing domain object (which keeps its own interface for benchmarks and
the simulator) and turns its output into a :class:`ScoreFrame`: higher = riskier, typed reasons
with structured evidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from clearlane.rules.model import RuleSet
from clearlane.schema.reasons import Reason
from clearlane.scoring.frame import ScoreFrame, row_keys

UNFITTED = "unfitted"
"""Version of a scorer that has not learnt anything yet."""


class FraudScorer:
    """The supervised fraud model (:class:`~clearlane.models.fraud.FraudModel`).

    Score: calibrated fraud probability (0-1). ``extra`` columns: ``expected_revenue`` and
    ``revenue_if_fraud`` (national currency). Reasons (tree SHAP, log-odds weights) for the
    riskiest ``explain_share`` of rows only: they cost far more than scores.
    """

    name = "fraud"

    def __init__(self, model: Any = None, version: str = UNFITTED, *, reasons: int = 3,
                 explain_share: float = 0.1, random_state: int = 42) -> None:
        self.model = model
        self.version = version
        self.reasons = reasons
        self.explain_share = explain_share
        self.random_state = random_state

    def fit(self, frame: pl.DataFrame) -> FraudScorer:
        from clearlane.models.fraud import FraudModel

        self.model = (self.model or FraudModel(random_state=self.random_state)).fit(frame)
        self.version = f"{self.name}-fitted"
        return self

    def score(self, frame: pl.DataFrame, batch: Any = None) -> ScoreFrame:
        """``batch``: the model's pipeline's batch of ``frame``, when the caller made it."""
        out = self.model.score(frame, reasons=self.reasons, explain_share=self.explain_share,
                               batch=batch)
        reasons = (tuple(out["reasons"].to_list()) if "reasons" in out.columns
                   else ((),) * frame.height)
        scores = out["fraud_probability"].cast(pl.Float64).to_numpy()
        return ScoreFrame.build(self.name, self.version, row_keys(frame), scores, reasons,
                                extra=out.select("expected_revenue", "revenue_if_fraud"))


class AnomalyScorer:
    """The label-free anomaly detector (:class:`~clearlane.models.anomaly.AnomalyDetector`).

    Score: sum of one-sided robust z-scores (higher = more unusual). Reasons (weight = robust
    z) for the most anomalous ``explain_share`` of rows.
    """

    name = "anomaly"

    def __init__(self, detector: Any = None, version: str = UNFITTED, *, reasons: int = 3,
                 explain_share: float = 0.1, random_state: int = 42) -> None:
        self.detector = detector
        self.version = version
        self.reasons = reasons
        self.explain_share = explain_share
        self.random_state = random_state

    def fit(self, frame: pl.DataFrame) -> AnomalyScorer:
        from clearlane.models.anomaly import AnomalyDetector

        self.detector = (self.detector or AnomalyDetector(random_state=self.random_state)
                         ).fit(frame)
        self.version = f"{self.name}-fitted"
        return self

    def score(self, frame: pl.DataFrame, batch: Any = None) -> ScoreFrame:
        """``batch``: the detector's pipeline's batch of ``frame``, when the caller made it."""
        if self.reasons > 0:
            scores, reasons = self.detector.score_explained(
                frame, explain_share=self.explain_share, top=self.reasons, batch=batch)
        else:
            scores, reasons = (self.detector.score_samples(frame, batch=batch),
                               [()] * frame.height)
        return ScoreFrame.build(self.name, self.version, row_keys(frame), scores, reasons)


class HSCheckScorer:
    """The HS misclassification check (:func:`~clearlane.hs.check.check_declarations`).

    ``version``: the classifier's version in the model registry (kind ``hs``), as
    :func:`clearlane.services.selection.hs_check_frame` passes it.

    Score: P(declared code wrong at ``level`` digits), 0-1. Rows without a goods description
    or an HS code are not scored, and at ``level`` 6 neither are codes split between HS
    editions (each code is read in the edition in force on its ``declared_at``). A row the
    check flags has an ``HS_MISCLASSIFICATION`` reason
    (evidence: declared and suggested code, ``p_wrong``, duty difference).
    """

    name = "hs_check"

    def __init__(self, classifier: Any, version: str = UNFITTED, *, level: int = 4,
                 threshold: float = 0.8) -> None:
        self.classifier = classifier
        self.version = version
        self.level = level
        self.threshold = threshold

    def fit(self, frame: pl.DataFrame) -> HSCheckScorer:
        self.classifier.fit([str(t) for t in frame["goods_description"].to_list()],
                            [str(c) for c in frame["hs_code"].to_list()])
        self.version = f"{self.name}-fitted"
        return self

    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        from clearlane.hs.check import check_declarations

        keys = row_keys(frame)
        scores = np.full(frame.height, np.nan)
        reasons: list[tuple[Reason, ...]] = [()] * frame.height
        if {"goods_description", "hs_code"} <= set(frame.columns):
            present = (frame["goods_description"].is_not_null()
                       & frame["hs_code"].is_not_null()).to_numpy()
            rows = np.flatnonzero(present)
            if len(rows):
                subset = frame[pl.Series(rows)]
                results = check_declarations(
                    self.classifier, subset["goods_description"].to_list(),
                    subset["hs_code"].cast(pl.String).to_list(), level=self.level,
                    threshold=self.threshold,
                    declared_at=(subset["declared_at"].to_list()
                                 if "declared_at" in subset.columns else None))
                for row, result in zip(rows.tolist(), results, strict=True):
                    scores[row] = result.p_wrong
                    if result.reason is not None:
                        reasons[row] = (result.reason,)
        return ScoreFrame.build(self.name, self.version, keys, scores, reasons)


def price_score_frame(result: Any, version: str | None = None) -> ScoreFrame:
    """A :class:`~clearlane.valuation.check.PriceCheckResult` as a score frame.

    Score (0-1, higher = riskier): 1 when the declared quantity in kg falls short of the net
    mass, the probability of under-valuation when the row is flagged, 0 when the row is within
    its reference; not scored (NaN) when no reference applies or a flagged row has no
    probability. Reasons (with the check's structured evidence) for flagged rows only.
    """
    frame = result.frame
    signal = frame.select(
        pl.when(pl.col("quantity_mismatch").fill_null(False)).then(1.0)
        .when(pl.col("price_flag").fill_null(False))
        .then(pl.col("undervaluation_probability").cast(pl.Float64))
        .when(pl.col("price_score").is_null()).then(None)
        .otherwise(0.0).fill_null(np.nan).alias("signal"))["signal"].to_numpy()
    reasons: list[tuple[Reason, ...]] = [()] * frame.height
    for row in np.flatnonzero(frame["price_flag"].fill_null(False).to_numpy()).tolist():
        reasons[row] = result.reasons(row)
    return ScoreFrame.build(PriceCheckScorer.name, version or result.bands_version,
                            row_keys(frame), signal, reasons)


class PriceCheckScorer:
    """The price check against value bands (:func:`~clearlane.valuation.check.check_prices`);
    see :func:`price_score_frame` for the score."""

    name = "price_check"

    def __init__(self, bands: Any, *, rates: Any = None, vat_rate: float = 0.0,
                 history: Any = None) -> None:
        self.bands = bands
        self.version = str(bands.meta.version)
        self.rates = rates
        self.vat_rate = vat_rate
        self.history = history

    def fit(self, frame: pl.DataFrame) -> PriceCheckScorer:
        return self  # the bands are built by `clearlane valuation build`, not per batch

    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        from clearlane.valuation.check import check_prices

        result = check_prices(frame, self.bands, rates=self.rates, vat_rate=self.vat_rate,
                              history=self.history)
        return price_score_frame(result, self.version)


class RuleScorer:
    """A rule set (:func:`~clearlane.rules.evaluate.evaluate_rules`).

    Score: the highest severity rank among the item's hits (0 = no hit). One ``RULE_HIT``
    reason per hit, evidence ``rule_id``, ``version``, ``lane``, ``severity``, ``mandatory``.
    """

    name = "rules"

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        # a stored rule set version names itself (``basic v3``); a file its content
        self.version = rules.version or f"{rules.name}@{rules.fingerprint()[:12]}"

    def fit(self, frame: pl.DataFrame) -> RuleScorer:
        return self  # rules are written by people, not learnt

    def score(self, frame: pl.DataFrame) -> ScoreFrame:
        from clearlane.rules.evaluate import evaluate_rules, rule_reason

        keys = row_keys(frame)
        hits = evaluate_rules(self.rules, frame)
        reason_of = {r.id: rule_reason(r) for r in self.rules}
        per_key: dict[tuple[str, int], list[Reason]] = {}
        for declaration_id, item_no, rule_id in hits.select(
                "declaration_id", "item_no", "rule_id").iter_rows():
            per_key.setdefault((declaration_id, item_no), []).append(reason_of[rule_id])
        reasons = tuple(tuple(per_key.get(k, ())) for k in keys.iter_rows())
        scores = np.array([max((r.weight for r in rs), default=0.0) for rs in reasons])
        return ScoreFrame.build(self.name, self.version, keys, scores, reasons)

