"""Scoring at lodgement: the models, checks and rule set a request scores with (loaded once
per version into the server's cache), the lane of an item paced under its office's capacity
(:mod:`clearlane.services.pacing`), and the JSON answer of one assessment. Used by :mod:`clearlane.services.lodgement`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
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
from clearlane.services.pacing import PacedAnswer, Pacer
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


# -- lanes ---------------------------------------------------------------------------------------
LANE_BASES: tuple[str, ...] = ("mandatory_rule", "random", "paced", "exploration", "anomaly",
                               "none")
"""``basis`` of a lane at lodgement: ``mandatory_rule`` (a mandatory rule forced it),
``random`` (drawn for the random control sample at lodgement, independent of the scores),
``paced`` (the selection score reached today's paced red or yellow threshold), ``exploration``
(sampled for exploration), ``anomaly`` (blue: the anomaly score is in the office's recent top
``blue_rate``), ``none`` (green); null with a null lane. See
:mod:`clearlane.selection.pacing` and docs/selectivity.md."""


def lane_for(pacer: Pacer, office: str | None, day: date | None, declaration_id: str,
             item_no: int, fraud_probability: float | None, expected_revenue: float | None,
             anomaly_score: float | None, model_version: str | None,
             rule_reasons: Sequence[Reason], items: int = 1) -> PacedAnswer:
    """The lane of one item at lodgement, decided online under the office's capacity.

    1. A **mandatory rule** hit forces its lane (the most intrusive among the hits; basis
       ``mandatory_rule``), beyond the red capacity if need be (the note says so).
    2. Otherwise the item is **paced** (:class:`~clearlane.services.pacing.Pacer`): the random
       control draw, today's paced red threshold on the selection score, exploration, the
       paced yellow threshold and the anomaly cut-off for blue, under the policy (rates,
       capacity, random and exploration shares) of the office's latest stored selection.
    3. **No lane** (None) when no selection stored a policy yet, when the office has too few
       recent units scored by the current fraud model, or when no fraud model scored the item;
       the note says which.
    """
    return pacer.place(office, day, declaration_id, item_no, fraud_probability,
                       expected_revenue, anomaly_score, model_version, rule_reasons, items)


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


def build_answers(frame: pl.DataFrame, frames: Sequence[ScoreFrame], pacer: Pacer,
                  now: datetime) -> list[dict[str, Any]]:
    """One JSON answer per row of ``frame`` from its score frames. The lanes are placed in
    row order (the arrival order) by ``pacer``; where the office's policy counts declarations
    (``per_declaration``), the items of one declaration in ``frame`` are placed together as
    one unit, scored as the batch selection scores a declaration (expected revenue summed,
    fraud probability ``1 − Π(1 − p)``, highest anomaly score, every item's rule hits)."""
    by_name = {f.scorer: f for f in frames}
    fraud, anomaly, rules = by_name["fraud"], by_name["anomaly"], by_name["rules"]
    revenue = (fraud.extra["expected_revenue"].to_list() if fraud.extra is not None
               else [None] * frame.height)
    offices = frame["office_id"].to_list()
    days = frame["declared_at"].cast(pl.Date).to_list()
    keys = list(row_keys(frame).iter_rows())
    p = [float(fraud.scores[i]) if fraud.scored[i] else None for i in range(frame.height)]
    a = [float(anomaly.scores[i]) if anomaly.scored[i] else None for i in range(frame.height)]
    rev = [_number(revenue[i]) if p[i] is not None else None for i in range(frame.height)]
    hits = [rules.reasons[i] if rules.available else () for i in range(frame.height)]
    units: dict[tuple[Any, ...], list[int]] = {}
    for i, (declaration_id, _) in enumerate(keys):
        together = pacer.per_declaration(offices[i])
        unit = (offices[i], days[i], declaration_id) if together else (i,)
        units.setdefault(unit, []).append(i)
    placed: dict[int, PacedAnswer] = {}
    for rows in units.values():
        first = rows[0]
        anomalies = [x for x in (a[i] for i in rows) if x is not None]
        scored = [i for i in rows if p[i] is not None]
        paced = lane_for(
            pacer, offices[first], days[first], keys[first][0], keys[first][1],
            1.0 - math.prod(1.0 - (p[i] or 0.0) for i in scored) if scored else None,
            sum(rev[i] or 0.0 for i in scored) if scored else None,
            max(anomalies) if anomalies else None, fraud.version,
            [r for i in rows for r in hits[i]], len(rows))
        placed.update(dict.fromkeys(rows, paced))
    answers = []
    for i, (declaration_id, item_no) in enumerate(keys):
        paced = placed[i]
        assessment = RiskAssessment(
            declaration_id=declaration_id, item_no=item_no, fraud_probability=p[i],
            expected_revenue=rev[i], anomaly_score=a[i], reasons=fraud.reasons[i],
            model_version=fraud.version,
            rule_hits=tuple(f"{r.evidence.get('rule_id')} v{r.evidence.get('version')}"
                            for r in hits[i]),
            lane=paced.lane, assessed_at=now,
            anomaly_version=anomaly.version if anomaly.available else None,
            scorers=tuple(_verdict(f, i) for f in frames), basis=paced.basis)
        answer = assessment_json(assessment, paced.note)
        answer["pacing"] = paced.detail
        answers.append(answer)
    return answers
