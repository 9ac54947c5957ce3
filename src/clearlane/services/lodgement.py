"""Assess at lodgement: a clearance system sends declaration items, Clearlane validates, stores
and scores them and answers with one :class:`~clearlane.schema.reasons.RiskAssessment` each.

Shared by the API (``POST /api/v1/declarations:assess`` and ``:assess-batch``) and any later
CLI or web caller. One request, in order:

1. **Validation** exactly as ingest validates a file read with the ``canonical`` profile
   (:func:`clearlane.ingest.validate.validate_batch`): a refused item raises
   :class:`ValidationError` whose problems name the field, the value, the reason and ``row`` =
   the item's index in the request (0-based). Outcome fields (``inspected``, ``fraud``, …) are
   refused: outcomes come back through ``POST /api/v1/outcomes``. Fields that are not canonical
   are kept as extras (``extra`` JSON), as ingest keeps unmapped columns.
2. **Idempotency** on (``declaration_id``, ``item_no``): an item already lodged with the same
   content gets its stored answer again (no new row, no new assessment); a stored declaration
   with different content raises :class:`ConflictError` naming the differing fields, and
   nothing of the request is stored.
3. **Scoring** with the promoted (else newest) fraud model and anomaly detector, and the HS
   check, price check and rule set when the workspace has them, through the
   :mod:`clearlane.scoring` adapters. Loaded models are kept in the caller's ``cache`` keyed by
   version; each request reads only the registry's current versions. A scorer that cannot run
   is listed as ``unavailable`` with its message; the request still succeeds.
4. **Lane** (until real-time pacing exists): see :func:`lane_for`.
5. **Storage**, one transaction under the workspace's write lock: the new declarations with
   the ingest writer's guarantees (checked with its :func:`differing_fields_sql`: never
   overwritten, each key stored once) and a batch record ``api:<caller>`` that
   ``clearlane batches list`` shows, the assessments in
   ``risk_assessments`` (when a fraud model scored them: the table keys rows by model), the
   answers in ``lodgements``, and one audit entry ``declarations.lodge``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ConflictError, Problem, ValidationError
from clearlane.ingest.profile import Profile, load_profile
from clearlane.ingest.readers import ROW_COLUMN
from clearlane.ingest.validate import ERROR, ValidationContext, validate_batch
from clearlane.schema.fields import (
    DECLARATION_FIELDS,
    EXTRA_COLUMN,
    FIELD_NAMES,
    KEY_FIELDS,
    OUTCOME_FIELDS,
)
from clearlane.schema.reasons import (
    ROW_NOT_SCORED,
    SCORER_OK,
    SCORER_UNAVAILABLE,
    Reason,
    RiskAssessment,
    ScorerScore,
)
from clearlane.scoring import ScoreFrame, row_keys
from clearlane.scoring.assessments import assessment_frame
from clearlane.services import audit
from clearlane.store.ingest_writer import differing_fields_sql
from clearlane.store.workspace import Workspace

LODGEMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in DECLARATION_FIELDS if not f.outcome)
"""Canonical fields a lodgement may carry (every field but the inspection outcome)."""
RULES_FILE = "lodgement-rules.yaml"
"""The rule set applied at lodgement: a risk profile (docs/rules.md) in the workspace folder."""
PROFILE = "canonical"


@functools.lru_cache(maxsize=1)
def _profile() -> Profile:
    """The canonical profile (parsed once: its YAML costs milliseconds)."""
    return load_profile(PROFILE)
CACHE_KEY = "lodgement"

NO_FRAUD_MODEL = ("no fraud model in this workspace (train one with `clearlane train` once "
                  "outcomes are recorded): fraud probability and expected revenue left empty")
NO_ANOMALY = ("no anomaly detector in this workspace (train one with `clearlane train`): "
              "anomaly score left empty")
NO_HS = ("no HS classifier in this workspace (train one with `clearlane hs train`): the HS "
         "check did not run")
NO_BANDS = ("no value bands in this workspace (build them with `clearlane valuation build`): "
            "the price check did not run")
NO_RULES = (f"no rule set for lodgement (put a risk profile at <workspace>/{RULES_FILE}): "
            "no rule was evaluated")


@dataclass(frozen=True)
class LodgementResult:
    """The answer for one item: its assessment as stored JSON (``answer``) and whether it is
    a replay of an earlier lodgement of the same content."""

    index: int
    answer: dict[str, Any]
    replayed: bool

    @property
    def key(self) -> tuple[str, int]:
        return str(self.answer["declaration_id"]), int(self.answer["item_no"])


@dataclass
class _Loaded:
    """What one request scores with: each scorer's version and loaded object (or None and
    the reason it is unavailable)."""

    objects: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


# -- validation ----------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    """The text ingest would read for a JSON value (numbers as written, booleans as words)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _shown(value: Any) -> str | None:
    """A value as quoted in a problem (at most 200 characters)."""
    text = _text(value)
    return text[:200] if text is not None else None


def _extra_object(value: Any) -> dict[str, Any] | None:
    """The members of an ``extra`` object (sent as an object or as its JSON text, as a file's
    ``extra`` column holds it); None when it is neither."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return None
    if not isinstance(value, Mapping) or any(isinstance(v, Mapping | list)
                                             for v in value.values()):
        return None
    return {str(k): v for k, v in value.items()}


def _raw_frame(items: Sequence[Any]) -> tuple[pl.DataFrame, list[str | None], list[Problem]]:
    """The items as the text columns ingest validates (every lodgement field, null where not
    given, and the item index as the row), their extras JSON, and the structural problems."""
    problems: list[Problem] = []
    columns: dict[str, list[str | None]] = {name: [] for name in LODGEMENT_FIELDS}
    extras: list[str | None] = []
    for row, item in enumerate(items):
        if not isinstance(item, Mapping):
            problems.append(Problem("declaration", _shown(item), "must be a JSON object of canonical fields", row))
            item = {}
        extra: dict[str, Any] = {}
        for name, value in item.items():
            name = str(name)
            if name == EXTRA_COLUMN:
                members = _extra_object(value)
                if members is None:
                    problems.append(Problem(name, _shown(value), "must be a JSON object of extra fields "
                                            "(or its JSON text)", row))
                else:
                    extra.update(members)
            elif isinstance(value, Mapping | list):
                problems.append(Problem(name, json.dumps(value, default=str)[:200],
                                        "must be a string, a number or null", row))
            elif name in OUTCOME_FIELDS:
                problems.append(Problem(name, _text(value), "an inspection outcome is not "
                                        "accepted at lodgement; return outcomes with POST "
                                        "/api/v1/outcomes", row))
            elif name not in FIELD_NAMES:
                extra[name] = _text(value)
        for name in LODGEMENT_FIELDS:
            columns[name].append(_text(item.get(name)))
        # the JSON ingest writes for kept columns (compact, in the order sent)
        extras.append(json.dumps(extra, ensure_ascii=False, separators=(",", ":"))
                      if extra else None)
    frame = pl.DataFrame({**columns, ROW_COLUMN: list(range(len(items)))},
                         schema={**dict.fromkeys(LODGEMENT_FIELDS, pl.String),
                                 ROW_COLUMN: pl.Int64})
    return frame, extras, problems


def _validate(items: Sequence[Any], today: date, max_future_days: int,
              profile: Profile | None = None) -> tuple[pl.DataFrame, list[Problem]]:
    """The accepted items (canonical columns, ``extra`` and the item index as
    :data:`ROW_COLUMN`) and every refusal (``row`` = item index), without raising."""
    raw, extras, problems = _raw_frame(items)
    context = ValidationContext(today=today, max_future_days=max_future_days)
    result = validate_batch(raw, profile or _profile(), context, set(OUTCOME_FIELDS))
    refused = result.issues.filter(pl.col("severity") == ERROR)
    problems += [Problem(r["field"], r["value"], r["reason"], r["source_row"])
                 for r in refused.iter_rows(named=True)]
    accepted = result.accepted.with_columns(
        pl.Series(EXTRA_COLUMN, extras, dtype=pl.String).gather(result.accepted[ROW_COLUMN]))
    return accepted, problems


def _repeated_keys(rows: Sequence[int], keys: Sequence[tuple[str, int]],
                   first_row: int = 0) -> list[Problem]:
    """A problem for each key sent again in one request (rows relative to ``first_row``)."""
    seen: dict[tuple[str, int], int] = {}
    problems = []
    for row, key in zip(rows, keys, strict=True):
        if key in seen:
            problems.append(Problem("declaration_id", key[0], f"item {key[1]} is also item "
                                    f"{seen[key]} of this request: send each key once",
                                    row - first_row))
        seen.setdefault(key, row - first_row)
    return problems


def _refusal(problems: list[Problem], n_items: int) -> ValidationError:
    problems = sorted(problems, key=lambda p: (p.row if p.row is not None else -1))
    rows = sorted({p.row for p in problems if p.row is not None})
    return ValidationError(
        f"{len(rows)} of {n_items} item(s) refused, nothing was stored; fields: "
        + ", ".join(dict.fromkeys(f"item {p.row} {p.field}" for p in problems[:5]))
        + (" …" if len(problems) > 5 else ""), problems)


def validate_items(items: Sequence[Any], *, today: date | None = None,
                   max_future_days: int = 1, profile: Profile | None = None) -> pl.DataFrame:
    """The items as canonical declarations (canonical columns and ``extra``, in item order),
    validated as ingest validates a file under the ``canonical`` profile.

    Raises :class:`ValidationError` listing every refusal (``row`` = item index, 0-based), a
    key sent twice in the request included.
    """
    if not items:
        raise ValidationError("no declaration items in the request",
                              [Problem("items", None, "send at least one item")])
    accepted, problems = _validate(items, today or datetime.now(UTC).date(), max_future_days,
                                   profile)
    problems += _repeated_keys(accepted[ROW_COLUMN].to_list(),
                               list(accepted.select(KEY_FIELDS).iter_rows()))
    if problems:
        raise _refusal(problems, len(items))
    return accepted.drop(ROW_COLUMN)


# -- models ----------------------------------------------------------------------------------------
def _current_versions(workspace: Workspace) -> dict[str, str]:
    """The version of each kind a request uses: the promoted model, else the newest (as
    :func:`clearlane.models.registry.get_model` picks); for value bands the highest ``vN``
    (as :meth:`~clearlane.valuation.registry.BandRegistry.load` does). One small query."""
    rows = workspace.query("SELECT kind, version, status FROM models ORDER BY created_at DESC")
    current: dict[str, str] = {}
    promoted: set[str] = set()
    best_bands = -1
    for kind, version, status in rows.iter_rows():
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
    path = workspace.path / RULES_FILE
    if path.exists():
        from clearlane.rules import load_rules

        stat = path.stat()
        rules = _cached(cache, "rules", f"{stat.st_mtime_ns}:{stat.st_size}",
                        lambda: load_rules(path))
        loaded.objects["rules"] = rules
        loaded.versions["rules"] = f"{rules.name}@{rules.fingerprint()[:12]}"
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


def _lane_cutoffs(workspace: Workspace, cache: dict[str, Any]) -> dict[str, LaneCutoffs]:
    """Cut-offs per office, recomputed only when a new selection was stored."""
    latest = workspace.query("SELECT selection_id FROM selections "
                             "ORDER BY created_at DESC LIMIT 1")
    marker = str(latest.item(0, 0)) if latest.height else None
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


# -- the use case ----------------------------------------------------------------------------------
def _existing(con: Any) -> dict[tuple[str, int], tuple[str, str]]:
    """(differing fields, batch) of each incoming item whose key is stored already; the
    fields are empty when the content is the same (outcome fields, which a lodgement never
    carries, are not compared: a declaration ingested from a file with its outcome can be
    lodged)."""
    compared = [c for c in (*LODGEMENT_FIELDS, EXTRA_COLUMN) if c not in KEY_FIELDS]
    rows = con.execute(
        f"""SELECT i.declaration_id, i.item_no, {differing_fields_sql('i', 'd', compared)},
                   d.batch_id
            FROM lodge_incoming i JOIN declarations d USING (declaration_id, item_no)""").fetchall()
    return {(str(r[0]), int(r[1])): (str(r[2] or ""), str(r[3])) for r in rows}


def _stored_answers(con: Any) -> dict[tuple[str, int], dict[str, Any]]:
    rows = con.execute("SELECT l.declaration_id, l.item_no, l.assessment FROM lodgements l "
                       "JOIN lodge_incoming i USING (declaration_id, item_no)").fetchall()
    return {(str(r[0]), int(r[1])): json.loads(r[2]) for r in rows}


def _conflict_error(conflicts: list[tuple[str, int, str]]) -> ConflictError:
    """The 409 of a request whose items differ from stored declarations, naming the fields."""
    shown = "; ".join(f"declaration {d} item {n}: {fields}" for d, n, fields in conflicts[:5])
    more = f" (and {len(conflicts) - 5} more)" if len(conflicts) > 5 else ""
    return ConflictError(
        f"{len(conflicts)} item(s) differ from the declaration already stored under the "
        f"same declaration_id and item_no; nothing was stored. Differing fields: "
        f"{shown}{more}. A lodged declaration is never overwritten: send the stored "
        "content again, or lodge the amendment under a new key")


@dataclass
class LodgementRequest:
    """One caller's request: its items, and once processed its ``results`` or ``error``."""

    items: Sequence[Any]
    caller: str = "api"
    max_future_days: int = 1
    results: list[LodgementResult] | None = None
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.results is not None or self.error is not None

    def outcome(self) -> list[LodgementResult]:
        if self.error is not None:
            raise self.error
        assert self.results is not None
        return self.results


def assess_lodged(workspace: Workspace, items: Sequence[Any], *, cache: dict[str, Any],
                  caller: str = "api", now: datetime | None = None,
                  max_future_days: int = 1) -> list[LodgementResult]:
    """Validate, store and assess declaration items lodged by a clearance system; one result
    per item, in order (see the module docstring for every step and guarantee).

    ``caller`` names the batch source (``api:<caller>``); ``cache`` keeps loaded models
    between calls (the server's ``AppState.cache``); ``now`` fixes the assessment time
    (UTC, naive) for tests.
    """
    if not items:
        raise ValidationError("no declaration items in the request",
                              [Problem("items", None, "send at least one item")])
    request = LodgementRequest(items, caller, max_future_days)
    assess_requests(workspace, [request], cache=cache, now=now)
    return request.outcome()


def assess_requests(workspace: Workspace, requests: Sequence[LodgementRequest], *,
                    cache: dict[str, Any], now: datetime | None = None
                    ) -> list[LodgementRequest]:
    """Process several requests together (one validation, one scoring, one transaction),
    each with the guarantees of a request processed alone: a request with a refused item or
    a conflict gets its own error and stores nothing; the others are stored.

    Sets each request's ``results`` or ``error``; returns the requests deferred to a later
    call because they lodge a key that an earlier request of this group also lodges (the
    later one must see the earlier one stored: a replay or a conflict). All requests must
    share ``max_future_days``.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    items = [item for r in requests for item in r.items]
    starts = np.cumsum([0] + [len(r.items) for r in requests])
    frame, problems = _validate(items, now.date(), requests[0].max_future_days)
    owner = np.searchsorted(starts, frame[ROW_COLUMN].to_numpy(), side="right") - 1
    frame = frame.with_columns(pl.Series("_request", owner, dtype=pl.Int64))
    problem_rows: dict[int, list[Problem]] = {}
    for problem in problems:
        row = problem.row or 0  # every item problem names its item
        r = int(np.searchsorted(starts, row, side="right") - 1)
        problem_rows.setdefault(r, []).append(
            Problem(problem.field, problem.value, problem.reason, row - int(starts[r])))
    keys_of: dict[int, list[tuple[str, int]]] = {}
    rows_of: dict[int, list[int]] = {}
    for r, row, key in zip(owner.tolist(), frame[ROW_COLUMN].to_list(),
                           frame.select(KEY_FIELDS).iter_rows(), strict=True):
        keys_of.setdefault(r, []).append(key)
        rows_of.setdefault(r, []).append(row)
    live: list[int] = []
    deferred: list[LodgementRequest] = []
    claimed: set[tuple[str, int]] = set()
    for r, request in enumerate(requests):
        found = problem_rows.get(r, []) + _repeated_keys(rows_of.get(r, []),
                                                         keys_of.get(r, []), int(starts[r]))
        if not request.items:
            found.append(Problem("items", None, "send at least one item"))
        if found:
            request.error = _refusal(found, len(request.items))
        elif claimed.intersection(keys_of.get(r, [])):
            deferred.append(request)
        else:
            claimed.update(keys_of.get(r, []))
            live.append(r)
    if not live:
        return deferred
    frame = frame.filter(pl.col("_request").is_in(live))
    # the models and cut-offs are read before the write lock (cached: usually one small query
    # each); the checks, the scoring of new items and the writes run under it, so that two
    # requests lodging the same key cannot both store it
    loaded = load_scorers(workspace, cache)
    cutoffs = _lane_cutoffs(workspace, cache)
    try:
        with workspace.transaction() as con:
            con.register("lodge_incoming", frame.to_arrow())
            try:
                existing = _existing(con)
                stored = _stored_answers(con)
            finally:
                con.unregister("lodge_incoming")
            for r in list(live):
                conflicts = [(k[0], k[1], existing[k][0]) for k in keys_of[r]
                             if k in existing and existing[k][0]]
                if conflicts:
                    requests[r].error = _conflict_error(conflicts)
                    live.remove(r)
            frame = frame.filter(pl.col("_request").is_in(live))
            keys = list(frame.select(KEY_FIELDS).iter_rows())
            fresh = frame.filter(pl.Series([k not in stored for k in keys], dtype=pl.Boolean))
            answers: dict[tuple[str, int], dict[str, Any]] = {}
            if fresh.height:
                scored = fresh.drop(ROW_COLUMN, "_request")
                frames = score_items(scored, loaded)
                for answer in build_answers(scored, frames, cutoffs, now):
                    answers[(answer["declaration_id"], answer["item_no"])] = answer
                table = assessment_frame(frames, now) if frames[0].available else None
                _store(con, fresh, existing, answers, table, requests, starts, now)
    except BaseException as error:
        for r in live:
            requests[r].error = error
        raise
    for r in live:
        requests[r].results = [
            LodgementResult(i, stored[k] if k in stored else answers[k], k in stored)
            for i, k in enumerate(keys_of[r])]
    return deferred


def _store(con: Any, fresh: pl.DataFrame, existing: Mapping[tuple[str, int], tuple[str, str]],
           answers: dict[tuple[str, int], dict[str, Any]], table: pl.DataFrame | None,
           requests: Sequence[LodgementRequest], starts: np.ndarray, now: datetime) -> None:
    """Write the items not lodged yet, all on ``con``'s open transaction: the declarations not
    stored yet (one ingest batch per request), the assessments, the answers and one audit entry
    per request. An item already stored (e.g. ingested from a file) keeps its row and batch.

    The checks before ran in this transaction under the workspace's write lock: every key
    written here is new, as the ingest writer guarantees for a file (never overwritten, stored
    once); the batch record makes the lodgement visible to `clearlane batches`."""
    profile = _profile()
    batch_of: dict[int, str] = {}
    rows: list[dict[str, Any]] = []
    for r in sorted(set(fresh["_request"].to_list())):
        part = fresh.filter(pl.col("_request") == r)
        keys = list(part.select(KEY_FIELDS).iter_rows())
        new = [k not in existing for k in keys]
        body = part.drop(ROW_COLUMN, "_request").write_json().encode()
        digest = hashlib.sha256(body).hexdigest()
        batch_id = batch_of[r] = f"api-{now:%Y%m%dT%H%M%S%f}-{digest[:8]}"
        source = f"api:{requests[r].caller}"
        n_new = sum(new)
        if n_new:
            con.execute(
                """INSERT INTO ingest_batches (batch_id, source_file, file_sha256, file_bytes,
                       profile_name, profile_fingerprint, started_at, finished_at, rows_read,
                       rows_accepted, rows_rejected, rows_duplicate, rows_conflict, rows_warned)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, 0)""",
                [batch_id, source, digest, len(body), profile.name, profile.fingerprint(), now,
                 datetime.now(UTC).replace(tzinfo=None), len(keys), n_new, len(keys) - n_new])
        shown = [f"{d}/{n}" for d, n in keys[:20]]
        audit.record(con, action="declarations.lodge", object_type="batch", object_id=batch_id,
                     change={"source": source, "items": len(keys), "keys": shown,
                             "more_keys": max(0, len(keys) - len(shown)), "stored": n_new,
                             "already_stored": len(keys) - n_new,
                             "assessed": len(keys) if table is not None else 0,
                             "model_version": answers[keys[0]]["model_version"]})
        rows += [{"declaration_id": k[0], "item_no": k[1], "batch_id": batch_id,
                  "lane": answers[k]["lane"], "new": is_new,
                  "assessment": json.dumps(answers[k], default=str)}
                 for k, is_new in zip(keys, new, strict=True)]
    new_rows = fresh.filter(pl.Series([r["new"] for r in rows], dtype=pl.Boolean))
    if new_rows.height:
        columns = ", ".join((*FIELD_NAMES, EXTRA_COLUMN))
        local = (pl.col(ROW_COLUMN) - pl.col("_request").replace_strict(
            dict(enumerate(starts[:-1].tolist())), return_dtype=pl.Int64)).alias("source_row")
        con.register("lodge_new", new_rows.with_columns(
            local, pl.col("_request").replace_strict(batch_of, return_dtype=pl.String)
            .alias("batch_id")).to_arrow())
        try:
            con.execute(f"INSERT INTO declarations ({columns}, batch_id, source_row) "
                        f"SELECT {columns}, batch_id, source_row FROM lodge_new")
        finally:
            con.unregister("lodge_new")
    if table is not None:
        con.register("lodge_assessments", table.to_arrow())
        con.execute("DELETE FROM risk_assessments WHERE (declaration_id, item_no, model_version) "
                    "IN (SELECT declaration_id, item_no, model_version FROM lodge_assessments)")
        con.execute("INSERT INTO risk_assessments BY NAME SELECT * FROM lodge_assessments")
        con.unregister("lodge_assessments")
    lodged = pl.DataFrame({
        "declaration_id": [r["declaration_id"] for r in rows],
        "item_no": [r["item_no"] for r in rows],
        "batch_id": [existing[(r["declaration_id"], r["item_no"])][1] if not r["new"]
                     else r["batch_id"] for r in rows],
        "lodged_at": [now] * len(rows), "lane": [r["lane"] for r in rows],
        "assessment": [r["assessment"] for r in rows],
    }, schema={"declaration_id": pl.String, "item_no": pl.Int64, "batch_id": pl.String,
               "lodged_at": pl.Datetime("us"), "lane": pl.String, "assessment": pl.String})
    con.register("lodge_answers", lodged.to_arrow())
    con.execute("INSERT INTO lodgements BY NAME SELECT * FROM lodge_answers")
    con.unregister("lodge_answers")


class LodgementQueue:
    """Coalesces concurrent requests of one server: while one thread processes a group of
    requests (:func:`assess_requests`), the requests arriving meanwhile wait and are processed
    together next, by one of their own threads. Under load a request therefore waits for at
    most the group before it instead of for every request before it, and the per-request costs
    (validation, the transaction, the writes) are shared by the group. Each request keeps its
    own guarantees and its own answer or error."""

    def __init__(self, workspace: Workspace, cache: dict[str, Any],
                 max_items: int = 10_000) -> None:
        self.workspace = workspace
        self.cache = cache
        self.max_items = max_items
        self._pending: deque[LodgementRequest] = deque()
        self._leading = False
        self._condition = threading.Condition()

    def submit(self, items: Sequence[Any], *, caller: str = "api",
               max_future_days: int = 1) -> list[LodgementResult]:
        """What :func:`assess_lodged` returns for ``items``, processed with the requests of
        other threads that arrive meanwhile."""
        request = LodgementRequest(list(items), caller, max_future_days)
        with self._condition:
            self._pending.append(request)
            while self._leading and not request.finished:
                self._condition.wait()
            if request.finished:
                return request.outcome()
            self._leading = True
        try:
            while not request.finished:
                self._process(self._take())
        finally:
            with self._condition:
                self._leading = False
                self._condition.notify_all()
        return request.outcome()

    def _take(self) -> list[LodgementRequest]:
        """The oldest pending requests, up to ``max_items`` items, of one ``max_future_days``."""
        with self._condition:
            group = [self._pending.popleft()]
            total = len(group[0].items)
            while self._pending:
                head = self._pending[0]
                if (head.max_future_days != group[0].max_future_days
                        or total + len(head.items) > self.max_items):
                    break
                group.append(self._pending.popleft())
                total += len(head.items)
            return group

    def _process(self, group: list[LodgementRequest]) -> None:
        try:
            deferred = assess_requests(self.workspace, group, cache=self.cache)
        except BaseException as error:  # handed to every request of the group
            for request in group:
                if not request.finished:
                    request.error = error
            deferred = []
        with self._condition:
            self._pending.extendleft(reversed(deferred))
            self._condition.notify_all()


_QUEUES = threading.Lock()


def lodgement_queue(workspace: Workspace, cache: dict[str, Any],
                    max_items: int = 10_000) -> LodgementQueue:
    """The one :class:`LodgementQueue` of a server (kept in its ``cache``)."""
    with _QUEUES:
        queue = cache.get("lodgement_queue")
        if not isinstance(queue, LodgementQueue):
            queue = cache["lodgement_queue"] = LodgementQueue(workspace, cache, max_items)
        return queue


def lane_counts(results: Sequence[LodgementResult]) -> dict[str, int]:
    """How many answers fell in each lane (``none`` for no lane): for logs and benchmarks."""
    counts: dict[str, int] = {}
    for result in results:
        lane = result.answer.get("lane") or "none"
        counts[lane] = counts.get(lane, 0) + 1
    return counts


def offices_of(items: Sequence[Any]) -> list[str | None]:
    """The ``office_id`` text of each item (before validation), for office scoping."""
    return [_text(item.get("office_id")).strip() or None  # type: ignore[union-attr]
            if isinstance(item, Mapping) and item.get("office_id") is not None else None
            for item in items]


__all__ = ["LODGEMENT_FIELDS", "LaneCutoffs", "LodgementResult", "assess_lodged",
           "assessment_json", "lane_for", "load_scorers", "offices_of", "validate_items"]
