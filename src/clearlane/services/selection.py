"""Selection use cases: select a day (or window) for lanes, and record officers' overrides."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from clearlane.errors import NotFoundError, ValidationError
from clearlane.rules import RuleSet, evaluate_rules, load_rules
from clearlane.schema.reasons import (
    Reason,
    RiskAssessment,
    ScorerScore,
    reasons_from_json,
)
from clearlane.scoring import (
    HSCheckScorer,
    PriceCheckScorer,
    ScoreFrame,
    price_score_frame,
    row_keys,
)
from clearlane.selection import (
    Override,
    SelectionPolicy,
    SelectionResult,
    make_override,
    select_lanes,
)
from clearlane.selection.segments import (
    SegmentEvidence,
    age_in_weeks,
    segment_labels,
    segment_lift,
    thompson_exploration,
)
from clearlane.services import audit, cases
from clearlane.services.rules_lifecycle import (
    RuleSetVersion,
    published_version,
    record_selection,
    store_rule_versions,
)
from clearlane.store.exports import write_table
from clearlane.store.workspace import Workspace, date_window_sql
from clearlane.valuation.explain import (
    CAUTION,
    band_text,
    declared_text,
    estimate_text,
    quantity_text,
)

Progress = Callable[[float, float | None], None]


@dataclass(frozen=True)
class SelectionRun:
    """A stored selection: its id, the lanes and what the run was based on."""

    selection_id: str
    result: SelectionResult
    model_version: str | None
    rules: RuleSet | None
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    """Things an officer must act on (e.g. declarations without a risk assessment)."""
    checks: tuple[ScoreFrame, ...] = ()
    """The score frames of the checks used as signals (HS check, price check), available or
    not."""

    def assessments(self) -> list[RiskAssessment]:
        """One :class:`RiskAssessment` per selected item: the stored scores, the lane and its
        basis, the selector's reasons and the checks' verdicts (per-item objects: for
        reports and the API, not for bulk work)."""
        verdicts: dict[tuple[str, int], list[ScorerScore]] = {}
        for frame in self.checks:
            for i, key in enumerate(frame.keys.iter_rows()):
                verdicts.setdefault(key, []).append(frame.verdict(i))
        out = []
        for row in self.result.lanes.iter_rows(named=True):
            key = (row["declaration_id"], row["item_no"])
            hits = row.get("rule_hits") or ""
            out.append(RiskAssessment(
                declaration_id=key[0], item_no=key[1],
                fraud_probability=row.get("fraud_probability"),
                expected_revenue=row.get("expected_revenue"),
                anomaly_score=row.get("anomaly_score"),
                reasons=reasons_from_json(row.get("reasons")), model_version=self.model_version,
                rule_hits=tuple(h for h in hits.split(", ") if h), lane=row["lane"],
                basis=row["basis"], scorers=tuple(verdicts.get(key, ()))))
        return out

    def export_frame(self) -> pl.DataFrame:
        """The selection as one table, derived from :meth:`assessments`: one row per selected
        item with the :class:`RiskAssessment` columns
        (:func:`~clearlane.scoring.assessments.assessments_to_frame`: fraud probability,
        expected revenue, anomaly score, reasons, ``scorers`` JSON with every scorer's verdict
        and version, lane, basis, rule hits) and the lane columns stored with the selection
        (:data:`EXPORT_LANE_COLUMNS`). ``clearlane select --output`` writes it."""
        from clearlane.scoring.assessments import assessments_to_frame

        table = assessments_to_frame(self.assessments())
        lanes = self.result.lanes
        if table.height == 0:
            table = table.with_columns(pl.lit(None, pl.String).alias(c)
                                       for c in ("lane", "basis", "rule_hits"))
        extra = lanes.select(
            pl.lit(self.selection_id).alias("selection_id"),
            *[(pl.col(c) if c in lanes.columns else pl.lit(None)).alias(c)
              for c in EXPORT_LANE_COLUMNS[1:]]).with_columns(
            pl.col("declared_at").cast(pl.Date))
        table = table.hstack(extra)
        first = ["selection_id", "declaration_id", "item_no", "office_id", "declared_at",
                 "lane", "basis"]
        return table.select(*first, *[c for c in table.columns if c not in first])


EXPORT_LANE_COLUMNS = ("selection_id", "office_id", "declared_at", "random_control", "explored",
                       "rank_pct")
"""Columns of a selection export besides the assessment's (what the lane decision stores)."""


def write_export(run: SelectionRun, path: Path) -> pl.DataFrame:
    """Write :meth:`SelectionRun.export_frame` to ``path``: Parquet for a ``.parquet`` file,
    CSV otherwise (the ``scorers`` and ``reasons`` columns are JSON text)."""
    frame = run.export_frame()
    write_table(frame, path, "parquet" if path.suffix.lower() == ".parquet" else "csv")
    return frame


def _model_reasons(text: str | None) -> str | None:
    """The fraud model's first two stored reasons, quoted in the selector's model reason."""
    return "; ".join(r.text for r in reasons_from_json(text)[:2]) or None


def load_scores(workspace: Workspace, declarations: pl.DataFrame,
                model_version: str | None) -> tuple[pl.DataFrame, str | None]:
    """Join the stored risk assessments (``clearlane assess``) onto the declarations.

    Without a version, the model with the most assessments of these declarations is used.
    Declarations never assessed keep null scores (they rank last, but still enter the random
    control sample).
    """
    keys = declarations.select("declaration_id", "item_no")
    with workspace.connect() as con:
        con.register("wanted", keys.to_arrow())
        if model_version is None:
            row = con.execute(
                "SELECT model_version, count(*) AS n FROM risk_assessments "
                "JOIN wanted USING (declaration_id, item_no) GROUP BY 1 ORDER BY n DESC, 1 DESC "
                "LIMIT 1").fetchall()
            model_version = str(row[0][0]) if row else None
        if model_version is None:
            scores = pl.DataFrame(schema={"declaration_id": pl.String, "item_no": pl.Int64})
        else:
            scores = con.sql(
                "SELECT declaration_id, item_no, fraud_probability, expected_revenue, "
                "anomaly_score, reasons FROM risk_assessments JOIN wanted "
                "USING (declaration_id, item_no) WHERE model_version = ?",
                params=[model_version]).pl()
            if scores.height == 0:
                raise NotFoundError(f"no risk assessments by model {model_version!r} for these "
                                    "declarations; run `clearlane assess` first")
        con.unregister("wanted")
    base = declarations.select("declaration_id", pl.col("item_no").cast(pl.Int64), "office_id",
                               "declared_at")
    if scores.height == 0:
        return base, None
    scores = scores.with_columns(
        pl.col("reasons").map_elements(_model_reasons, return_dtype=pl.String)
        .alias("model_reasons")).drop("reasons")
    return base.join(scores, on=["declaration_id", "item_no"], how="left"), model_version


def _unassessed_note(scores: pl.DataFrame) -> str | None:
    """Warn about declarations that have no risk assessment, naming how many and their dates."""
    if "fraud_probability" in scores.columns:
        missing = scores.filter(pl.col("fraud_probability").is_null()
                                & pl.col("expected_revenue").is_null())
    else:
        missing = scores
    if missing.height == 0:
        return None
    n = missing["declaration_id"].n_unique()
    total = scores["declaration_id"].n_unique()
    low, high = str(missing["declared_at"].min()), str(missing["declared_at"].max())
    return (f"{n:,} of {total:,} declarations ({low} to {high}) have no risk assessment: they "
            "were left out of the model-driven slots (rules and the random control sample "
            f"still apply); assess them with `clearlane assess --from {low} --to {high}`")


NO_HS_CLASSIFIER = ("no HS classifier in this workspace (train one with `clearlane hs train`): "
                    "the HS check is not a signal")
NO_VALUE_BANDS = ("no value bands in this workspace (build them with `clearlane valuation "
                  "build`): the price check is not a signal")


def hs_check_frame(workspace: Workspace, declarations: pl.DataFrame) -> ScoreFrame:
    """The HS misclassification check of ``declarations`` as a score frame (``unavailable``
    when the workspace has no HS classifier). Its version is the classifier's version in the
    model registry (kind ``hs``)."""
    from clearlane.models import registry
    from clearlane.services.hs import load_workspace_classifier, model_path

    path = model_path(workspace)
    if not path.exists():
        return ScoreFrame.unavailable(HSCheckScorer.name, row_keys(declarations),
                                      NO_HS_CLASSIFIER)
    classifier = load_workspace_classifier(workspace)
    version = registry.get_model(workspace, kind="hs").version
    return HSCheckScorer(classifier, version).score(declarations)


def price_check_frame(workspace: Workspace, declarations: pl.DataFrame, date_from: date | None,
                      date_to: date | None) -> ScoreFrame:
    """The price check of the window as a score frame (``unavailable`` when the workspace has
    no value bands); see :func:`clearlane.scoring.price_score_frame` for the score."""
    from clearlane.services.valuation import check_workspace
    from clearlane.valuation.registry import BandRegistry

    if not BandRegistry(workspace.artifacts_dir).versions():
        return ScoreFrame.unavailable(PriceCheckScorer.name, row_keys(declarations),
                                      NO_VALUE_BANDS)
    result = check_workspace(workspace, since=date_from, until=date_to)
    return price_score_frame(result)


def _hs_note(reasons: tuple[Reason, ...]) -> str | None:
    from clearlane.hs.check import REASON_CODE

    flagged = [r for r in reasons if r.code == REASON_CODE]
    return f"HS check: {flagged[0].text}" if flagged else None


def _price_note(reasons: tuple[Reason, ...]) -> str | None:
    """The price check's reason for the selector, from the reasons' evidence."""
    short = [r for r in reasons if r.code == "PRICE_QUANTITY_MISMATCH"]
    below = [r for r in reasons if r.code.startswith("PRICE_BELOW")]
    if short:
        return "price check: " + quantity_text(short[0].evidence)
    if below and below[0].code == "PRICE_BELOW_BAND":
        evidence = below[0].evidence
        return (f"price check: {declared_text(evidence)}, below the band: "
                f"{band_text(evidence)}.{estimate_text(evidence)} {CAUTION}")
    if below:
        return "price check: " + below[0].text
    return None


def _hs_signal(frame: ScoreFrame) -> pl.DataFrame | None:
    """``hs_check`` (P(declared heading wrong), only where the check flags it, else 0; null
    where not checked) and ``hs_check_note``; None when no row was checked."""
    from clearlane.hs.check import REASON_CODE

    if not frame.scored.any():
        return None
    flagged = np.array([any(r.code == REASON_CODE for r in rs) for rs in frame.reasons],
                       dtype=bool)
    signal = np.where(frame.scored, np.where(flagged, frame.scores, 0.0), np.nan)
    return frame.keys.with_columns(
        pl.Series("hs_check", signal, dtype=pl.Float64).fill_nan(None),
        pl.Series("hs_check_note", [_hs_note(r) for r in frame.reasons], dtype=pl.String))


def _price_signal(frame: ScoreFrame) -> pl.DataFrame:
    """``price_check`` (the price check's score: 1 for a quantity short of the net mass, the
    probability of under-valuation for a row flagged below its reference, 0 otherwise) and
    ``price_check_note``, built from the reasons' evidence."""
    return frame.keys.with_columns(
        pl.Series("price_check", frame.scores, dtype=pl.Float64).fill_nan(None),
        pl.Series("price_check_note", [_price_note(r) if r else None for r in frame.reasons],
                  dtype=pl.String))


def _importers_first_seen(workspace: Workspace) -> pl.DataFrame:
    """Each importer's first declaration date (segments tell new importers from established)."""
    return workspace.query("SELECT importer_id, min(declared_at) AS first_seen "
                           "FROM declarations GROUP BY 1")


def _segment_evidence(workspace: Workspace, before: date, weeks: int, half_life: float,
                      first_seen: pl.DataFrame) -> SegmentEvidence:
    """Evidence from the outcomes of the ``weeks`` weeks before ``before`` that are linked to a
    selection holding the model probability the item had when selected."""
    rows = workspace.query(
        "SELECT d.hs_code, d.origin_country, d.office_id, d.importer_id, d.declared_at, "
        "o.fraud, ld.fraud_probability FROM outcomes o "
        "JOIN declarations d USING (declaration_id, item_no) "
        "JOIN lane_decisions ld ON ld.selection_id = o.selection_id "
        "AND ld.declaration_id = o.declaration_id AND ld.item_no = o.item_no "
        "WHERE d.declared_at < ? AND d.declared_at >= ?",
        [before, before - timedelta(weeks=weeks)])
    if rows.height == 0:
        return SegmentEvidence.empty()
    labels = segment_labels(rows, first_seen)
    ages = age_in_weeks(rows["declared_at"].cast(pl.Date).to_numpy(), before)
    return SegmentEvidence.from_outcomes(
        labels, rows["fraud"].to_numpy(),
        rows["fraud_probability"].cast(pl.Float64).fill_null(np.nan).to_numpy(), ages, half_life)


def select_for_inspection(
    workspace: Workspace,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    rules_path: Path | None = None,
    policy: SelectionPolicy | None = None,
    seed: int = 0,
    model_version: str | None = None,
    checks: bool = True,
    segment_signal: bool = True,
    segment_weeks: int = 8,
    use_published_rules: bool = True,
    progress: Progress | None = None,
) -> SelectionRun:
    """Assign lanes to the declarations of a window and store the selection with its reasons.

    With ``checks``, the HS misclassification check (when the workspace has an HS classifier)
    and the price check (when it has value bands) become signals with their own reasons. With
    ``segment_signal``, recorded outcomes of the last ``segment_weeks`` weeks raise the fraud
    probability in segments where inspections found more fraud than the model expected
    (:mod:`clearlane.selection.segments`); exploration ``segments`` spends the exploration
    share by Thompson sampling over the same evidence. Rules: the profile at ``rules_path``,
    else (with ``use_published_rules``) the workspace's published rule set
    (:mod:`clearlane.services.rules_lifecycle`), whose version the selection records.
    """
    policy = (policy or SelectionPolicy()).validate()
    declarations = workspace.declarations(where=date_window_sql(date_from, date_to))
    if declarations.height == 0:
        raise ValidationError(f"no declarations between {date_from or 'the start'} and "
                              f"{date_to or 'the end'}; ingest data or widen the window")
    notes: list[str] = []
    scores, version = load_scores(workspace, declarations, model_version)
    if version is None:
        notes.append("no risk assessments found: lanes come from rules and the random sample "
                     "only (run `clearlane train` and `clearlane assess` for model scores)")
    warnings = [note] if version is not None and (note := _unassessed_note(scores)) else []
    weights = dict(policy.extra_weights)
    check_frames: list[ScoreFrame] = []
    if checks:
        keys = ["declaration_id", "item_no"]
        for label, frame, to_signal in (
                ("HS check", hs_check_frame(workspace, declarations), _hs_signal),
                ("price check", price_check_frame(workspace, declarations, date_from, date_to),
                 _price_signal)):
            check_frames.append(frame)
            if not frame.available:
                notes.append(f"{label} unavailable: {frame.message}")
                continue
            signal = to_signal(frame)
            if signal is None:
                continue
            column = frame.scorer
            scores = scores.join(signal, on=keys, how="left", maintain_order="left")
            weights.setdefault(column, 1.0)
            flagged = int((scores[column].fill_null(0.0) > 0).sum())
            notes.append(f"{label}: {flagged:,} item(s) flagged, used as a signal "
                         f"(weight {weights[column]:g})")
    first_day = declarations["declared_at"].cast(pl.Date).min()
    assert isinstance(first_day, date)
    evidence: SegmentEvidence | None = None
    if segment_signal or policy.exploration == "segments":
        first_seen = _importers_first_seen(workspace)
        evidence = _segment_evidence(workspace, first_day, segment_weeks, 2.0, first_seen)
    if evidence is not None and evidence.table.height:
        labels = segment_labels(declarations, first_seen)
        if segment_signal and version is not None:
            lift, lift_notes = segment_lift(labels, evidence)
            scores = scores.with_columns(pl.Series("segment_lift", lift),
                                         pl.Series("segment_note", lift_notes, dtype=pl.String))
            if lift.any():
                notes.append(f"segment signal: {int((lift > 0).sum()):,} item(s) in segments "
                             "where recent outcomes exceeded the model's expectation")
        if policy.exploration == "segments":
            explore, explore_notes = thompson_exploration(
                labels, evidence, np.random.default_rng([seed, 11]))
            scores = scores.with_columns(
                pl.Series("exploration_weight", explore),
                pl.Series("exploration_note", explore_notes, dtype=pl.String))
    if policy.exploration == "segments" and "exploration_weight" not in scores.columns:
        # no outcomes yet: every segment is equally unknown, explore uniformly
        scores = scores.with_columns(pl.lit(1.0).alias("exploration_weight"))
        notes.append("segment exploration: no recorded outcomes yet, exploration is uniform")
    policy = replace(policy, extra_weights=weights)
    published: RuleSetVersion | None = None
    if rules_path is not None:
        rules: RuleSet | None = load_rules(rules_path)
    else:
        published = published_version(workspace) if use_published_rules else None
        rules = published.rules() if published is not None else None
        if published is not None:
            notes.append(f"rules: the published rule set {published.label}")
    hits = evaluate_rules(rules, declarations) if rules is not None else None
    result = select_lanes(scores, policy, hits=hits, rules=rules, seed=seed, progress=progress)
    for group in result.overflow:
        notes.append(f"mandatory rules exceed the red capacity in {group['group']}: "
                     f"{group['mandatory']} hits for {group['capacity']} slots")
    now = datetime.now(UTC).replace(tzinfo=None)
    digest = hashlib.sha256(f"{now.isoformat()}|{seed}|{declarations.height}".encode())
    selection_id = f"S{now:%Y%m%d%H%M%S}-{digest.hexdigest()[:6]}"
    lanes = result.lanes
    table = lanes.select(
        pl.lit(selection_id).alias("selection_id"), "declaration_id", "item_no", "office_id",
        pl.col("declared_at").cast(pl.Date), "lane", "basis", "random_control", "explored",
        "rank_pct",
        *[(pl.col(c) if c in lanes.columns else pl.lit(None, pl.Float64)).cast(pl.Float64)
          .alias(c) for c in ("fraud_probability", "expected_revenue", "anomaly_score")],
        "rule_hits", "reasons",
    )
    with workspace.transaction() as con:
        if rules is not None:
            store_rule_versions(con, rules, now)
        con.execute("INSERT INTO selections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            selection_id, now, declarations["declared_at"].min(),
            declarations["declared_at"].max(), seed, json.dumps(policy.as_dict()),
            rules.name if rules else None, rules.fingerprint() if rules else None, version,
            declarations.height])
        if published is not None:
            record_selection(con, selection_id, published.version)
        con.register("new_lanes", table.to_arrow())
        con.execute("INSERT INTO lane_decisions SELECT * FROM new_lanes")
        con.unregister("new_lanes")
        if hits is not None and hits.height:
            hit_table = hits.select(pl.lit(selection_id).alias("selection_id"),
                                    "declaration_id", "item_no", "rule_id", "rule_version")
            con.register("new_hits", hit_table.to_arrow())
            con.execute("INSERT INTO rule_hits SELECT * FROM new_hits")
            con.unregister("new_hits")
        cases.open_alerts(con, now)  # red and yellow lanes, high-severity rule hits: alerts
        audit.record(con, action="select.run", object_type="selection", object_id=selection_id,
                     change={"rows": declarations.height, "seed": seed, "model": version,
                             "rules": rules.fingerprint() if rules else None})
    return SelectionRun(selection_id, result, version, rules, tuple(notes), tuple(warnings),
                        tuple(check_frames))


def current_lane(workspace: Workspace, selection_id: str, declaration_id: str) -> str:
    """The lane of a declaration in a selection, after any override."""
    rows = workspace.query(
        "SELECT to_lane FROM lane_overrides WHERE selection_id = ? AND declaration_id = ? "
        "ORDER BY overridden_at DESC LIMIT 1", [selection_id, declaration_id])
    if rows.height:
        return str(rows.item(0, 0))
    rows = workspace.query(
        "SELECT lane FROM lane_decisions WHERE selection_id = ? AND declaration_id = ? LIMIT 1",
        [selection_id, declaration_id])
    if rows.height == 0:
        raise NotFoundError(f"declaration {declaration_id!r} is not in selection "
                            f"{selection_id!r}")
    return str(rows.item(0, 0))


def latest_selection(workspace: Workspace) -> str:
    rows = workspace.query("SELECT selection_id FROM selections ORDER BY created_at DESC LIMIT 1")
    if rows.height == 0:
        raise NotFoundError("no selection in this workspace; run `clearlane select` first")
    return str(rows.item(0, 0))


def override_lane(workspace: Workspace, *, declaration_id: str, to_lane: str,
                  justification: str, officer_id: str,
                  selection_id: str | None = None) -> Override:
    """Change a declaration's lane; refused without a justification; every override is kept."""
    selection_id = selection_id or latest_selection(workspace)
    from_lane = current_lane(workspace, selection_id, declaration_id)
    override = make_override(declaration_id, from_lane, to_lane, justification, officer_id)
    with workspace.transaction() as con:
        con.execute("INSERT INTO lane_overrides VALUES (?, ?, ?, ?, ?, ?, ?)", [
            selection_id, override.declaration_id, override.from_lane, override.to_lane,
            override.justification, override.officer_id, override.overridden_at])
        # the declaration's alerts follow: withdrawn out of red/yellow, opened into them
        effect = cases.follow_override(
            con, selection_id=selection_id, declaration_id=declaration_id,
            from_lane=override.from_lane, to_lane=override.to_lane,
            officer_id=override.officer_id, justification=override.justification,
            now=override.overridden_at)
        audit.record(con, action="override.record", object_type="declaration",
                     object_id=declaration_id, change={"selection_id": selection_id,
                     "from": override.from_lane, "to": override.to_lane,
                     "officer_id": officer_id, "justification": justification,
                     "alerts": {k: v for k, v in effect.__dict__.items() if v}})
    return override


def backtest_rules(workspace: Workspace, path: Path, *, date_from: date | None = None,
                   date_to: date | None = None) -> tuple[RuleSet, pl.DataFrame, int]:
    """Run a profile over stored history: per rule hits, inspected hits, frauds, hit rate and
    revenue recovered (see :func:`clearlane.rules.evaluate.rule_summary`)."""
    from clearlane.rules.evaluate import rule_summary

    rules = load_rules(path)
    declarations = workspace.declarations(where=date_window_sql(date_from, date_to))
    return rules, rule_summary(rules, declarations), declarations.height


def stored_rules(workspace: Workspace) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rules selections used, as stored: every rule version (``rule_id``, ``version``,
    ``profile``, ``definition`` JSON, ``first_used_at``, ``selections`` and ``hits`` so far),
    and every rule set (``profile``, ``fingerprint``, ``selections``, ``first_used_at``,
    ``last_used_at``)."""
    versions = workspace.query(
        """SELECT v.rule_id, v.version, v.profile, v.definition, v.first_used_at,
                  coalesce(h.selections, 0) AS selections, coalesce(h.hits, 0) AS hits
           FROM rule_versions v LEFT JOIN (
               SELECT rule_id, rule_version, count(DISTINCT selection_id) AS selections,
                      count(*) AS hits
               FROM rule_hits GROUP BY ALL) h
             ON h.rule_id = v.rule_id AND h.rule_version = v.version
           ORDER BY v.rule_id, v.version""")
    sets = workspace.query(
        """SELECT rules_profile AS profile, rules_fingerprint AS fingerprint,
                  count(*) AS selections, min(created_at) AS first_used_at,
                  max(created_at) AS last_used_at
           FROM selections WHERE rules_profile IS NOT NULL
           GROUP BY ALL ORDER BY last_used_at DESC, profile, fingerprint""")
    return versions, sets
