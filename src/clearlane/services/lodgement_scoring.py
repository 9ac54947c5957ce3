"""Scoring at lodgement: the models, checks and rule set a request scores with (loaded once
per version into the server's cache), the lane of an item against its office's latest
selection, and the JSON answer of one assessment. Used by :mod:`clearlane.services.lodgement`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from clearlane.schema.reasons import (
    ROW_NOT_SCORED,
    SCORER_OK,
    SCORER_UNAVAILABLE,
    Reason,
    RiskAssessment,
    ScorerScore,
)
from clearlane.scoring import ScoreFrame, row_keys
from clearlane.store.workspace import Workspace

RULES_FILE = "lodgement-rules.yaml"
"""Where lodgement read its rule set before the rules lifecycle; no longer read (a file there
is named in the rules scorer's message): lodgement uses the published rule set."""
CACHE_KEY = "lodgement"

NO_FRAUD_MODEL = ("no fraud model in this workspace (train one with `clearlane train` once "
                  "outcomes are recorded): fraud probability and expected revenue left empty")
NO_ANOMALY = ("no anomaly detector in this workspace (train one with `clearlane train`): "
              "anomaly score left empty")
NO_HS = ("no HS classifier in this workspace (train one with `clearlane hs train`): the HS "
         "check did not run")
NO_BANDS = ("no value bands in this workspace (build them with `clearlane valuation build`): "
            "the price check did not run")
NO_RULES = ("no published rule set (draft, back-test and publish one with `clearlane rules "
            "draft|backtest|publish`): no rule was evaluated")
IGNORED_RULES_FILE = (f"; <workspace>/{RULES_FILE} is no longer read: draft it with "
                      f"`clearlane rules draft {RULES_FILE}`, back-test it and publish it")


@dataclass
class _Loaded:
    """What one request scores with: each scorer's version and loaded object (or None and
    the reason it is unavailable)."""

    objects: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


# -- models ----------------------------------------------------------------------------------------
def _current_versions(workspace: Workspace) -> dict[str, str]:
    """The version of each kind a request uses: the promoted model, else the newest (as
    :func:`clearlane.models.registry.get_model` picks); for value bands the highest ``vN``
    (as :meth:`~clearlane.valuation.registry.BandRegistry.load` does). One small query."""
    with workspace.connect() as con:  # fetched as tuples: a polars frame costs more here
        rows = con.execute("SELECT kind, version, status FROM models "
                           "ORDER BY created_at DESC").fetchall()
    current: dict[str, str] = {}
    promoted: set[str] = set()
    best_bands = -1
    for kind, version, status in rows:
        if kind == "bands":
            number = version.removeprefix("bands-v")
            if number.isdigit() and int(number) > best_bands:
                best_bands, current[kind] = int(number), version
        elif kind not in promoted and (status == "promoted" or kind not in current):
            current[kind] = version
            if status == "promoted":
                promoted.add(kind)
    return current


def _cached(cache: dict[str, Any], kind: str, version: str, load: Any) -> Any:
    """The object of ``kind`` at ``version`` from the cache, loaded once (older versions of
    the kind are dropped)."""
    slot = cache.setdefault(CACHE_KEY, {})
    held = slot.get(kind)
    if held is None or held[0] != version:
        slot[kind] = (version, load())
    return slot[kind][1]


def load_scorers(workspace: Workspace, cache: dict[str, Any]) -> _Loaded:
    """The fraud model, anomaly detector, HS classifier, value bands and rule set a request
    scores with, loaded once per version into ``cache``."""
    from clearlane.models import registry

    loaded = _Loaded()
    current = _current_versions(workspace)

    def model(kind: str) -> Any:
        return registry.load_model(workspace, registry.get_model(workspace, current[kind]))

    for kind, scorer, missing in (("fraud", "fraud", NO_FRAUD_MODEL),
                                  ("anomaly", "anomaly", NO_ANOMALY),
                                  ("hs", "hs_check", NO_HS)):
        if kind in current:
            loaded.objects[scorer] = _cached(cache, kind, current[kind],
                                             lambda k=kind: model(k))
            loaded.versions[scorer] = current[kind]
        else:
            loaded.missing[scorer] = missing
    if "bands" in current:
        from clearlane.valuation.registry import BandRegistry

        version = current["bands"].removeprefix("bands-")
        loaded.objects["price_check"] = _cached(
            cache, "bands", current["bands"], lambda: BandRegistry(workspace).load(version))
        loaded.versions["price_check"] = version
    else:
        loaded.missing["price_check"] = NO_BANDS
    from clearlane.services import rules_lifecycle

    published = rules_lifecycle.published_marker(workspace)
    if published is not None:
        number, label = published
        loaded.objects["rules"] = _cached(
            cache, "rules", label,
            lambda: rules_lifecycle.get_rule_set(workspace, number).rules())
        loaded.versions["rules"] = label
    elif (workspace.path / RULES_FILE).exists():
        loaded.missing["rules"] = NO_RULES + IGNORED_RULES_FILE
    else:
        loaded.missing["rules"] = NO_RULES
    return loaded


RECORD_PATH_ITEMS = 16
"""Requests of at most this many items are scored item by item through the models' record
paths (dictionary look-ups into the fitted history: no polars frame per scorer); larger ones
through the vectorised batch path. Both give the same values."""


def _fraud_records(records: list[dict[str, Any]], keys: pl.DataFrame,
                   loaded: _Loaded) -> ScoreFrame:
    if "fraud" not in loaded.objects:
        return ScoreFrame.unavailable("fraud", keys, loaded.missing["fraud"])
    model = loaded.objects["fraud"]
    scored = [model.score_record(r, reasons=3) for r in records]
    extra = pl.DataFrame({"expected_revenue": [s["expected_revenue"] for s in scored],
                          "revenue_if_fraud": [s["revenue_if_fraud"] for s in scored]},
                         schema={"expected_revenue": pl.Float64, "revenue_if_fraud": pl.Float64})
    return ScoreFrame.build("fraud", loaded.versions["fraud"], keys,
                            [s["fraud_probability"] for s in scored],
                            [tuple(s["reasons"]) for s in scored], extra=extra)


def _anomaly_records(records: list[dict[str, Any]], keys: pl.DataFrame,
                     loaded: _Loaded) -> ScoreFrame:
    if "anomaly" not in loaded.objects:
        return ScoreFrame.unavailable("anomaly", keys, loaded.missing["anomaly"])
    detector = loaded.objects["anomaly"]
    scored = [detector.score_record(r, top=3) for r in records]
    return ScoreFrame.build("anomaly", loaded.versions["anomaly"], keys,
                            [s[0] for s in scored], [s[1] for s in scored])


def score_items(frame: pl.DataFrame, loaded: _Loaded) -> list[ScoreFrame]:
    """Every scorer's frame for the canonical ``frame`` (unavailable ones with their reason).
    Every item gets its reasons (``explain_share`` 1: a lodgement answers for each item)."""
    from clearlane.scoring import (
        AnomalyScorer,
        FraudScorer,
        HSCheckScorer,
        PriceCheckScorer,
        RuleScorer,
    )

    keys = row_keys(frame)
    frames: list[ScoreFrame] = []
    record_path = frame.height <= RECORD_PATH_ITEMS
    if record_path:
        records = frame.to_dicts()
        frames += [_fraud_records(records, keys, loaded), _anomaly_records(records, keys, loaded)]
    for name, build in (
        ("fraud", lambda o, v: FraudScorer(o, v, explain_share=1.0)),
        ("anomaly", lambda o, v: AnomalyScorer(o, v, explain_share=1.0)),
        ("hs_check", lambda o, v: HSCheckScorer(o, v)),
        ("price_check", lambda o, v: PriceCheckScorer(o)),
        ("rules", lambda o, v: RuleScorer(o)),
    ):
        if record_path and name in ("fraud", "anomaly"):
            continue
        if name in loaded.objects:
            frames.append(build(loaded.objects[name], loaded.versions[name]).score(frame))
        else:
            frames.append(ScoreFrame.unavailable(name, keys, loaded.missing[name]))
    return frames


# -- lanes -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LaneCutoffs:
    """An office's cut-offs from its latest stored batch selection (``clearlane select``).

    ``red`` / ``yellow``: the lowest objective (expected revenue or fraud probability, per the
    selection's policy) among the items that selection put in that lane by model ranking
    (basis ``model``); ``blue``: the lowest anomaly score among the items it put in blue by
    anomaly ranking. None where the selection put no item there that way.
    """

    selection_id: str
    model_version: str | None
    objective: str
    red: float | None
    yellow: float | None
    blue: float | None


def lane_cutoffs(workspace: Workspace, cache: dict[str, Any]) -> dict[str, LaneCutoffs]:
    """Cut-offs per office, recomputed only when a new selection was stored."""
    with workspace.connect() as con:
        # the newest selection, as ORDER BY created_at DESC LIMIT 1 gives it (one aggregate:
        # no sort of the whole table)
        latest = con.execute("SELECT arg_max(selection_id, created_at) "
                             "FROM selections").fetchone()
    marker = str(latest[0]) if latest is not None and latest[0] is not None else None
    slot = cache.setdefault(CACHE_KEY, {})
    held = slot.get("cutoffs")
    if held is not None and held[0] == marker:
        return dict(held[1])
    cutoffs: dict[str, LaneCutoffs] = {}
    if marker is not None:
        rows = workspace.query(
            """WITH latest AS (
                   SELECT ld.office_id, arg_max(ld.selection_id, s.created_at) AS selection_id
                   FROM lane_decisions ld JOIN selections s USING (selection_id)
                   WHERE ld.office_id IS NOT NULL GROUP BY 1)
               SELECT l.office_id, l.selection_id, s.model_version, s.policy,
                   min(ld.expected_revenue) FILTER (ld.lane = 'red' AND ld.basis = 'model') AS red_rev,
                   min(ld.fraud_probability) FILTER (ld.lane = 'red' AND ld.basis = 'model') AS red_p,
                   min(ld.expected_revenue) FILTER (ld.lane = 'yellow' AND ld.basis = 'model') AS yellow_rev,
                   min(ld.fraud_probability) FILTER (ld.lane = 'yellow' AND ld.basis = 'model') AS yellow_p,
                   min(ld.anomaly_score) FILTER (ld.lane = 'blue' AND ld.basis = 'anomaly') AS blue
               FROM latest l JOIN selections s USING (selection_id)
               JOIN lane_decisions ld ON ld.selection_id = l.selection_id
                    AND ld.office_id = l.office_id
               GROUP BY ALL""")
        for row in rows.iter_rows(named=True):
            try:
                objective = str(json.loads(row["policy"] or "{}").get("objective", "revenue"))
            except ValueError:
                objective = "revenue"
            by_revenue = objective == "revenue"
            cutoffs[row["office_id"]] = LaneCutoffs(
                row["selection_id"], row["model_version"], objective,
                row["red_rev"] if by_revenue else row["red_p"],
                row["yellow_rev"] if by_revenue else row["yellow_p"], row["blue"])
    slot["cutoffs"] = (marker, cutoffs)
    return dict(cutoffs)


LANE_ORDER = ("red", "yellow", "blue", "green")


def lane_for(office: str | None, fraud_probability: float | None,
             expected_revenue: float | None, anomaly_score: float | None,
             model_version: str | None, rule_reasons: Sequence[Reason],
             cutoffs: Mapping[str, LaneCutoffs]) -> tuple[str | None, str | None, str]:
    """The lane of one item at lodgement: (lane, basis, why), a batch lane until real-time
    pacing exists.

    1. A **mandatory rule** hit forces its lane (the most intrusive among the hits; basis
       ``mandatory_rule``).
    2. Otherwise the item is placed against the **cut-offs of its office's latest stored
       selection** (:class:`LaneCutoffs`): objective ≥ the red cut-off → red, ≥ the yellow
       cut-off → yellow, anomaly score ≥ the blue cut-off → blue (basis ``model`` or
       ``anomaly``), else green (basis ``none``). The objective is the selection policy's
       (expected revenue or fraud probability) without the selector's extra signals, segment
       lift or exploration, and no random control sample is drawn: the batch selection of the
       day draws it.
    3. **No lane** (None) when the office has no stored selection, when that selection was made
       with another fraud model (scores of two models are not on one scale) or when no fraud
       model scored the item; ``why`` says which.
    """
    mandatory = [r for r in rule_reasons if r.evidence.get("mandatory")]
    if mandatory:
        lanes = sorted((str(r.evidence.get("lane")) for r in mandatory),
                       key=lambda lane: LANE_ORDER.index(lane) if lane in LANE_ORDER else 9)
        ids = ", ".join(str(r.evidence.get("rule_id")) for r in mandatory)
        return lanes[0], "mandatory_rule", f"mandatory rule {ids} forces the {lanes[0]} lane"
    cut = cutoffs.get(office) if office is not None else None
    if cut is None:
        return None, None, (f"no lane yet: no stored selection covers office {office!r}; lanes "
                            "follow the cut-offs of the office's latest `clearlane select`")
    if fraud_probability is None:
        return None, None, "no lane: no fraud model scored the item"
    if cut.model_version != model_version:
        return None, None, (f"no lane: office {office!r}'s latest selection {cut.selection_id} "
                            f"ranked scores of model {cut.model_version!r}, not {model_version!r}; "
                            "run `clearlane select` with the current model")
    by_revenue = cut.objective == "revenue"
    objective = expected_revenue if by_revenue else fraud_probability
    unit = "expected revenue" if by_revenue else "fraud probability"
    shown = "{:,.0f}".format if by_revenue else "{:.3f}".format
    for lane, threshold in (("red", cut.red), ("yellow", cut.yellow)):
        if threshold is not None and objective is not None and objective >= threshold:
            return lane, "model", (f"{unit} {shown(objective)} ≥ {shown(threshold)}, the "
                                   f"lowest model-selected {lane} item of selection "
                                   f"{cut.selection_id}")
    if cut.blue is not None and anomaly_score is not None and anomaly_score >= cut.blue:
        return "blue", "anomaly", (f"anomaly score {anomaly_score:.2f} ≥ {cut.blue:.2f}, the "
                                   f"lowest blue item of selection {cut.selection_id}")
    return "green", "none", f"below the cut-offs of selection {cut.selection_id}"


# -- answers ---------------------------------------------------------------------------------------
def _verdict(frame: ScoreFrame, i: int) -> ScorerScore:
    if not frame.available:
        return ScorerScore(frame.scorer, frame.version, SCORER_UNAVAILABLE, None, (),
                           frame.message)
    scored = bool(frame.scored[i])
    return ScorerScore(frame.scorer, frame.version, SCORER_OK if scored else ROW_NOT_SCORED,
                       float(frame.scores[i]) if scored else None, frame.reasons[i])


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def assessment_json(assessment: RiskAssessment, lane_note: str) -> dict[str, Any]:
    """The JSON answer of one assessment: the :class:`RiskAssessment` fields, ``versions``
    (scorer → version) and ``lane_note`` (why the lane, or why none)."""
    return {
        "declaration_id": assessment.declaration_id, "item_no": assessment.item_no,
        "fraud_probability": _number(assessment.fraud_probability),
        "expected_revenue": _number(assessment.expected_revenue),
        "anomaly_score": _number(assessment.anomaly_score),
        "lane": assessment.lane, "basis": assessment.basis, "lane_note": lane_note,
        "rule_hits": list(assessment.rule_hits),
        "reasons": [r.as_dict() for r in assessment.reasons],
        "model_version": assessment.model_version,
        "anomaly_version": assessment.anomaly_version,
        "versions": {s.name: s.version for s in assessment.scorers},
        "scorers": [s.as_dict() for s in assessment.scorers],
        "assessed_at": assessment.assessed_at.isoformat() if assessment.assessed_at else None,
    }


def build_answers(frame: pl.DataFrame, frames: Sequence[ScoreFrame],
                  cutoffs: Mapping[str, LaneCutoffs], now: datetime) -> list[dict[str, Any]]:
    """One JSON answer per row of ``frame`` from its score frames."""
    by_name = {f.scorer: f for f in frames}
    fraud, anomaly, rules = by_name["fraud"], by_name["anomaly"], by_name["rules"]
    revenue = (fraud.extra["expected_revenue"].to_list() if fraud.extra is not None
               else [None] * frame.height)
    offices = frame["office_id"].to_list()
    answers = []
    for i, (declaration_id, item_no) in enumerate(row_keys(frame).iter_rows()):
        scorers = tuple(_verdict(f, i) for f in frames)
        p = float(fraud.scores[i]) if fraud.scored[i] else None
        a = float(anomaly.scores[i]) if anomaly.scored[i] else None
        rule_reasons = rules.reasons[i] if rules.available else ()
        lane, basis, note = lane_for(offices[i], p, _number(revenue[i]) if p is not None
                                     else None, a, fraud.version, rule_reasons, cutoffs)
        assessment = RiskAssessment(
            declaration_id=declaration_id, item_no=item_no, fraud_probability=p,
            expected_revenue=_number(revenue[i]) if p is not None else None,
            anomaly_score=a, reasons=fraud.reasons[i], model_version=fraud.version,
            rule_hits=tuple(f"{r.evidence.get('rule_id')} v{r.evidence.get('version')}"
                            for r in rule_reasons),
            lane=lane, assessed_at=now,
            anomaly_version=anomaly.version if anomaly.available else None,
            scorers=scorers, basis=basis)
        answers.append(assessment_json(assessment, note))
    return answers
