"""The online inspection simulator ("Take a Chance" protocol, Kim et al., arXiv 2010.14282).

History is replayed week by week. An initial period is fully labelled. Then, each week:

1. every strategy's model is (re)trained on the declarations dated **before** the week, with
   labels only for the declarations that strategy has inspected so far (the others count as
   uninspected — what a customs administration really knows);
2. the week's declarations are scored without their outcomes and each strategy selects
   ``rate × n`` of them through the real selector (:func:`clearlane.selection.select_lanes`, one
   capacity group per week, red lane only);
3. only the selected declarations reveal their hidden outcome (fraud, revenue).

The inspection rate follows a schedule: ``start_rate`` falling linearly to ``final_rate`` over
``ramp_weeks`` weeks, then ``final_rate``. Strategies:

* ``random`` — uniform sample (the selector's random share = 100 %);
* ``rules`` — a static rule profile (by default watchlists learned from the initial period only:
  importers and HS codes with a high past fraud rate), ties broken at random;
* ``exploit`` — top fraud probability (or expected revenue) only;
* ``exploit+random`` — ``1 − explore`` by the model, ``explore`` uniformly at random;
* ``exploit+explore`` — ``1 − explore`` by the model, ``explore`` by uncertainty sampling
  (weights ``p·(1−p)``, the selector's exploration);
* ``exploit+segments`` — ``1 − explore`` by the model, ``explore`` by Thompson sampling over
  segments (HS chapter, origin, office, importer newness; :mod:`clearlane.selection.segments`):
  spread evenly over the segments while none holds surprising frauds, concentrated on a segment
  as soon as its inspections found frauds the model did not expect.

Every model strategy (``exploit`` included: it is the same model, without exploration) adds
the **segment signal** to its fraud probability when ``segment_signal`` is on: the posterior
mean excess fraud rate of the item's segments (spike-and-slab prior: share
``segment_scheme_share`` of segments hide a scheme of size ~ N(0, ``segment_scheme_sd``²); the
exploration draws of ``exploit+segments`` use the optimistic share ``segment_explore_share``
and a spike of width ``segment_null_sd``, see :mod:`clearlane.selection.segments`),
from that strategy's inspections of the last ``segment_weeks`` weeks (half-life
``segment_half_life`` weeks), each weighted by how surprising its outcome was to the model. So
a scheme revealed by any inspection is followed the next week, before the model is retrained;
a strategy that never inspects a segment's low-risk items learns little there.

Per week and strategy: precision (frauds / inspected), revenue caught, normalised precision
(precision / the best possible that week, ``min(1, frauds / inspected)``), normalised revenue
(revenue / the revenue of the ``k`` richest declarations of the week), their moving averages,
and for ``exploit+random`` the Wilson 95 % estimate of the week's fraud rate from its random
part, checked against the true rate of the week.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.evaluate.performance import wilson_interval
from clearlane.rules.evaluate import evaluate_rules
from clearlane.rules.model import Condition, Rule, RuleSet, Watchlist
from clearlane.schema.fields import OUTCOME_FIELDS
from clearlane.selection import SelectionPolicy, select_lanes
from clearlane.selection.segments import (
    EXPLORE_SCHEME_SHARE,
    NULL_SD,
    SCHEME_SD,
    SCHEME_SHARE,
    SegmentEvidence,
    segment_labels,
    segment_lift,
    thompson_exploration,
)

Progress = Callable[[float, float | None], None]

STRATEGIES: tuple[str, ...] = ("random", "rules", "exploit", "exploit+random",
                               "exploit+explore", "exploit+segments")
_MODEL_STRATEGIES = {"exploit", "exploit+random", "exploit+explore", "exploit+segments"}


class SimulationScorer(Protocol):
    """Trains on labelled history and scores later declarations (higher = riskier).

    The simulator retrains it every ``retrain_every`` weeks, so it must be cheap to fit; the
    shipped ones are in :mod:`clearlane.models.simulation_scorers` (``FastScorer``, the
    default of ``clearlane simulate``, and ``RiskEngineScorer``).
    """

    def fit(self, history: pl.DataFrame) -> Any: ...

    def score(self, model: Any, declarations: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Fraud probability and expected revenue (national currency) per row."""
        ...


@dataclass(frozen=True)
class SimulationConfig:
    """Protocol parameters. ``initial_weeks`` weeks from the first date are fully labelled;
    ``weeks`` simulated weeks follow (None = until the data ends). Models retrain every
    ``retrain_every`` weeks (1 = weekly, the protocol; larger values trade fidelity for time)."""

    initial_weeks: int = 4
    weeks: int | None = None
    start_rate: float = 1.0
    final_rate: float = 0.10
    ramp_weeks: int = 10
    explore: float = 0.10
    strategies: tuple[str, ...] = STRATEGIES
    objective: str = "frauds"
    moving_average: int = 13
    retrain_every: int = 1
    segment_weeks: int = 8
    segment_signal: bool = True
    segment_half_life: float = 2.0
    segment_scheme_share: float = SCHEME_SHARE
    segment_scheme_sd: float = SCHEME_SD
    segment_null_sd: float = NULL_SD
    segment_explore_share: float = EXPLORE_SCHEME_SHARE
    seed: int = 0

    def rate(self, week: int) -> float:
        """Inspection rate of simulated week ``week`` (0-based)."""
        if week >= self.ramp_weeks or self.ramp_weeks <= 0:
            return self.final_rate
        return self.start_rate + (self.final_rate - self.start_rate) * week / self.ramp_weeks

    def validate(self) -> SimulationConfig:
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown:
            raise ValidationError(f"unknown strategy {unknown[0]!r}; valid: "
                                  + ", ".join(STRATEGIES))
        if not 0 < self.final_rate <= 1 or not 0 < self.start_rate <= 1:
            raise ValidationError("inspection rates must be in (0, 1]")
        if not 0 <= self.explore < 1:
            raise ValidationError(f"explore must be in [0, 1); got {self.explore}")
        if self.initial_weeks < 1:
            raise ValidationError("initial_weeks must be at least 1")
        return self


@dataclass(frozen=True)
class SimulationResult:
    """``weekly``: one row per (strategy, week); ``summary``: one row per strategy."""

    weekly: pl.DataFrame
    summary: pl.DataFrame
    config: SimulationConfig
    notes: tuple[str, ...] = field(default_factory=tuple)


def starter_rules(history: pl.DataFrame, min_inspections: int = 3,
                  importer_rate: float = 0.5, hs_factor: float = 2.0) -> RuleSet:
    """Watchlist rules an analyst would write from a labelled period: importers with at least
    ``min_inspections`` inspections and a fraud rate >= ``importer_rate``; HS codes with at
    least ``2 × min_inspections`` inspections and a fraud rate >= ``hs_factor`` × the overall
    rate. Used by the ``rules`` strategy; learned once, never updated (like a static profile)."""
    labelled = history.filter(pl.col("inspected").fill_null(False))
    base = float(labelled["fraud"].fill_null(False).cast(pl.Float64).mean() or 0.0)  # type: ignore[arg-type]
    rules: list[Rule] = []
    watchlists: list[Watchlist] = []
    for column, kind, minimum, rate, severity in (
        ("importer_id", "importers", min_inspections, importer_rate, "high"),
        ("hs_code", "hs_codes", 2 * min_inspections, min(0.95, hs_factor * base), "medium"),
    ):
        stats = labelled.group_by(column).agg(pl.len().alias("n"),
                                              pl.col("fraud").fill_null(False).mean().alias("r"))
        chosen = stats.filter((pl.col("n") >= minimum) & (pl.col("r") >= rate))[column]
        values = [str(v) for v in chosen.drop_nulls().to_list()]
        if not values:
            continue
        name = f"learned_{kind}"
        watchlists.append(Watchlist(name, kind, frozenset(values)))
        rules.append(Rule(
            id=f"SIM_{kind.upper()}", version=1, title=f"{kind} with a high past fraud rate",
            justification="learned from the initial labelled period", owner="simulator",
            severity=severity, lane="red",
            conditions=(Condition(field=column, watchlist=name),)))
    return RuleSet("simulator-starter", tuple(rules), tuple(watchlists))


def _weeks(days: np.ndarray, start: date) -> np.ndarray:
    return ((days - np.datetime64(start)).astype("timedelta64[D]").astype(int)) // 7


def _hidden(declarations: pl.DataFrame) -> pl.DataFrame:
    return declarations.drop([c for c in OUTCOME_FIELDS if c in declarations.columns])


def simulate(
    declarations: pl.DataFrame,
    truth_fraud: np.ndarray,
    truth_revenue: np.ndarray | None = None,
    *,
    config: SimulationConfig | None = None,
    scorer: SimulationScorer | None = None,
    rules: RuleSet | None = None,
    pattern: np.ndarray | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Run the protocol on ``declarations`` (canonical frame) with hidden outcomes per row.

    ``truth_fraud`` (bool) and ``truth_revenue`` (national currency, optional) are revealed
    only for selected rows. ``pattern`` (bool, optional) marks rows of a planted pattern whose
    weekly recall is reported (``pattern_caught`` / ``pattern_frauds``). ``scorer`` trains the
    model strategies' model (e.g. :class:`clearlane.models.simulation_scorers.FastScorer`); it
    may be left out only when no model strategy runs.
    """
    config = (config or SimulationConfig()).validate()
    needs_model = [s for s in config.strategies if s in _MODEL_STRATEGIES]
    if scorer is None and needs_model:
        raise ValidationError(f"strategies {', '.join(needs_model)} need a scorer, e.g. "
                              "clearlane.models.simulation_scorers.FastScorer()")
    replay = _Replay.build(declarations, truth_fraud, truth_revenue, pattern, config)
    notes: list[str] = []
    if rules is None and "rules" in config.strategies:
        labelled = replay.hidden.filter(pl.Series(replay.initial)).with_columns(
            pl.lit(True).alias("inspected"), pl.Series("fraud", replay.fraud[replay.initial]))
        rules = starter_rules(labelled)
        notes.append(f"rules strategy: {len(rules)} starter rule(s) learned from the initial "
                     f"period ({sum(len(w.values) for w in rules.watchlists)} watchlist entries)")
    states = {s: _StrategyState.start(replay) for s in config.strategies}
    rows: list[dict[str, Any]] = []
    total_steps = len(replay.sim_weeks) * len(config.strategies)
    report = progress or (lambda done, total: None)
    for w_index, week_number in enumerate(replay.sim_weeks):
        week = _Week.of(replay, w_index, week_number, config, rules)
        if week is None:
            continue
        for strategy in config.strategies:
            rows.append(_run_week(strategy, states[strategy], week, replay, scorer, config,
                                  notes))
            report(len(rows), total_steps)
    weekly = pl.DataFrame(rows, infer_schema_length=None).sort("strategy", "week")
    window = config.moving_average
    weekly = weekly.with_columns(
        pl.col("precision").rolling_mean(window, min_samples=1).over("strategy")
        .alias(f"precision_ma{window}"),
        pl.col("norm_revenue").rolling_mean(window, min_samples=1).over("strategy")
        .alias(f"norm_revenue_ma{window}"),
    )
    return SimulationResult(weekly, summarise(weekly, config), config, tuple(notes))


@dataclass(frozen=True)
class _Replay:
    """The declarations in date order with their outcomes hidden, the hidden truth per row and
    the week (from the first date, 0-based) of every row."""

    hidden: pl.DataFrame
    fraud: np.ndarray
    revenue: np.ndarray
    planted: np.ndarray | None
    week_of: np.ndarray
    first: date
    sim_weeks: list[int]
    initial: np.ndarray
    """Rows of the fully labelled initial weeks."""
    labels: pl.DataFrame
    """Segment labels of every row (:func:`clearlane.selection.segments.segment_labels`)."""

    @classmethod
    def build(cls, declarations: pl.DataFrame, truth_fraud: np.ndarray,
              truth_revenue: np.ndarray | None, pattern: np.ndarray | None,
              config: SimulationConfig) -> _Replay:
        frame = declarations.with_columns(pl.col("declared_at").cast(pl.Date)).with_row_index(
            "_row")
        frame = frame.sort("declared_at", "declaration_id", "item_no")
        order = frame["_row"].to_numpy()
        fraud = np.asarray(truth_fraud, dtype=bool)[order]
        revenue = (np.zeros(len(order)) if truth_revenue is None
                   else np.nan_to_num(np.asarray(truth_revenue, dtype=float))[order])
        planted = None if pattern is None else np.asarray(pattern, dtype=bool)[order]
        frame = frame.drop("_row")
        first = frame["declared_at"].min()
        assert isinstance(first, date)
        week_of = _weeks(frame["declared_at"].to_numpy().astype("datetime64[D]"), first)
        last_week = int(week_of.max())
        sim_weeks = list(range(config.initial_weeks, last_week + 1))
        if config.weeks is not None:
            sim_weeks = sim_weeks[: config.weeks]
        if not sim_weeks:
            raise ValidationError(f"the data spans {last_week + 1} week(s); it needs more than "
                                  f"the {config.initial_weeks} initial week(s)")
        return cls(hidden=_hidden(frame), fraud=fraud, revenue=revenue, planted=planted,
                   week_of=week_of, first=first, sim_weeks=sim_weeks,
                   initial=week_of < config.initial_weeks, labels=segment_labels(frame))


@dataclass
class _StrategyState:
    """What one strategy has learned so far: the rows it revealed, the model probability each
    had when selected (NaN: no model score) and its current model (if ``trained``)."""

    revealed: np.ndarray
    selected_p: np.ndarray
    model: Any = None
    trained: bool = False

    @classmethod
    def start(cls, replay: _Replay) -> _StrategyState:
        return cls(revealed=replay.initial.copy(),
                   selected_p=np.full(len(replay.fraud), np.nan))


@dataclass(frozen=True)
class _Week:
    """One simulated week: its rows, inspection budget and hidden outcomes."""

    index: int
    """Position among the simulated weeks (0-based; drives the rate schedule and retrains)."""
    number: int
    """Week since the first date (0-based)."""
    rows: np.ndarray
    frame: pl.DataFrame
    labels: pl.DataFrame
    rate: float
    budget: int
    fraud: np.ndarray
    revenue: np.ndarray
    best_revenue: float
    start: date
    hits: pl.DataFrame | None

    @classmethod
    def of(cls, replay: _Replay, index: int, number: int, config: SimulationConfig,
           rules: RuleSet | None) -> _Week | None:
        """The week's data; ``None`` when it has no declarations."""
        rows = replay.week_of == number
        frame = replay.hidden.filter(pl.Series(rows))
        n = frame.height
        if n == 0:
            return None
        rate = config.rate(index)
        budget = max(1, int(np.floor(rate * n + 1e-9)))
        revenue = replay.revenue[rows]
        hits = evaluate_rules(rules, frame) if rules is not None and "rules" in \
            config.strategies else None
        return cls(index=index, number=number, rows=rows, frame=frame,
                   labels=replay.labels.filter(pl.Series(rows)), rate=rate, budget=budget,
                   fraud=replay.fraud[rows], revenue=revenue,
                   best_revenue=float(np.sort(revenue)[::-1][:budget].sum()),
                   start=replay.first + timedelta(days=7 * number), hits=hits)


def _run_week(strategy: str, state: _StrategyState, week: _Week, replay: _Replay,
              scorer: SimulationScorer | None, config: SimulationConfig,
              notes: list[str]) -> dict[str, Any]:
    """One strategy's week: score, select through the selector, reveal the selected rows'
    outcomes; the week's metrics row."""
    p = np.zeros(week.frame.height)
    exp_rev = np.zeros(week.frame.height)
    if strategy in _MODEL_STRATEGIES:
        assert scorer is not None  # checked by simulate(): a model strategy has a scorer
        p, exp_rev = _model_scores(strategy, state, week, replay, scorer, config, notes)
    raw_p = np.asarray(p, dtype=float)
    evidence = None
    if strategy in _MODEL_STRATEGIES and (config.segment_signal
                                          or strategy == "exploit+segments"):
        evidence = _segment_evidence(state, week, replay, config)
    if evidence is not None and config.segment_signal and strategy in _MODEL_STRATEGIES:
        lift, _ = segment_lift(week.labels, evidence, scheme_share=config.segment_scheme_share,
                               scheme_sd=config.segment_scheme_sd)
        boosted = np.clip(raw_p + lift, 0.0, 1.0)
        at_stake = np.where(raw_p > 1e-9, np.asarray(exp_rev, float) / np.maximum(
            raw_p, 1e-9), 0.0)
        p, exp_rev = boosted, boosted * at_stake
    lanes = _select(strategy, week, p, exp_rev, evidence, config)
    # the selector returns rows in input order
    chosen = (lanes["lane"] == "red").to_numpy()
    if chosen.sum() > week.budget:  # stochastic rounding may add one slot
        chosen[np.flatnonzero(chosen)[week.budget:]] = False
    idx = np.flatnonzero(week.rows)[chosen]
    state.revealed[idx] = True
    if state.trained:  # without a model there is nothing to compare outcomes to
        state.selected_p[idx] = raw_p[chosen]
    return _week_metrics(strategy, week, chosen, lanes, replay)


def _model_scores(strategy: str, state: _StrategyState, week: _Week, replay: _Replay,
                  scorer: SimulationScorer, config: SimulationConfig,
                  notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Fraud probability and expected revenue of the week's rows from the strategy's model,
    retrained first when due on the rows before the week, labelled only where the strategy
    revealed them. Zeros (selection at random) when the model cannot be trained."""
    mask = state.revealed
    before = replay.week_of < week.number
    try:
        if not state.trained or week.index % config.retrain_every == 0:
            history = replay.hidden.filter(pl.Series(before)).with_columns(
                pl.Series("inspected", mask[before]),
                pl.when(pl.Series(mask[before])).then(pl.Series(replay.fraud[before]))
                .otherwise(None).alias("fraud"),
                pl.Series("revenue_recovered", np.where(
                    mask[before], replay.revenue[before], np.nan)).fill_nan(None),
            )
            state.model, state.trained = scorer.fit(history), True
        return scorer.score(state.model, week.frame)
    except ValidationError as exc:
        state.model, state.trained = None, False
        notes.append(f"week {week.number} {strategy}: model not trained ({exc}); "
                     "selected at random")
        n = week.frame.height
        return np.zeros(n), np.zeros(n)


def _segment_evidence(state: _StrategyState, week: _Week, replay: _Replay,
                      config: SimulationConfig) -> SegmentEvidence:
    """The strategy's inspections of the last ``segment_weeks`` weeks, each weighted by how
    surprising its outcome was to the model."""
    week_of = replay.week_of
    recent = state.revealed & (week_of < week.number) & (
        week_of >= week.number - config.segment_weeks)
    return SegmentEvidence.from_outcomes(
        replay.labels.filter(pl.Series(recent)), replay.fraud[recent],
        state.selected_p[recent], week.number - 1 - week_of[recent], config.segment_half_life)


def _select(strategy: str, week: _Week, p: np.ndarray, exp_rev: np.ndarray,
            evidence: SegmentEvidence | None, config: SimulationConfig) -> pl.DataFrame:
    """The selector's lanes for the week's rows (input order) under the strategy's policy."""
    scores = week.frame.select("declaration_id", "item_no", "office_id",
                               "declared_at").with_columns(
        pl.Series("fraud_probability", np.asarray(p, dtype=float)),
        pl.Series("expected_revenue", np.asarray(exp_rev, dtype=float)))
    if strategy == "rules":
        scores = scores.with_columns(pl.lit(0.0).alias("fraud_probability"))
    if strategy == "exploit+segments" and evidence is not None:
        weights, _ = thompson_exploration(
            week.labels, evidence, np.random.default_rng([config.seed, week.number, 7]),
            scheme_share=config.segment_explore_share,
            scheme_sd=config.segment_scheme_sd, null_sd=config.segment_null_sd)
        scores = scores.with_columns(pl.Series("exploration_weight", weights))
    result = select_lanes(scores, _policy(strategy, week.rate, config),
                          hits=week.hits if strategy == "rules" else None,
                          seed=config.seed * 100_003 + week.number, explain=False)
    return result.lanes


def _week_metrics(strategy: str, week: _Week, chosen: np.ndarray, lanes: pl.DataFrame,
                  replay: _Replay) -> dict[str, Any]:
    """Precision, revenue and their normalised forms for the rows ``chosen``; the random
    part's estimate of the fraud rate; the planted pattern's recall."""
    n = week.frame.height
    week_fraud = week.fraud
    caught = int(week_fraud[chosen].sum())
    inspected = int(chosen.sum())
    frauds = int(week_fraud.sum())
    best_precision = min(1.0, frauds / inspected) if inspected else 0.0
    precision = caught / inspected if inspected else 0.0
    revenue = float(week.revenue[chosen].sum())
    row: dict[str, Any] = {
        "strategy": strategy, "week": week.number, "week_start": week.start, "rate": week.rate,
        "declarations": n, "inspected": inspected, "frauds": frauds, "caught": caught,
        "precision": precision,
        "norm_precision": precision / best_precision if best_precision else None,
        "revenue": revenue,
        "norm_revenue": revenue / week.best_revenue if week.best_revenue else None,
        "true_rate": frauds / n,
    }
    random_rows = lanes["random_control"].to_numpy() & chosen
    if strategy in ("exploit+random", "random"):
        est = wilson_interval(int(week_fraud[random_rows].sum()), int(random_rows.sum()))
        row.update({"est_rate": est.rate, "est_low": est.low, "est_high": est.high,
                    "covered": (est.low is not None and est.high is not None
                                and est.low <= frauds / n <= est.high)})
    if replay.planted is not None:
        pat = replay.planted[week.rows] & week_fraud
        row["pattern_frauds"] = int(pat.sum())
        row["pattern_caught"] = int((pat & chosen).sum())
        explored = lanes["explored"].to_numpy() & chosen
        row["pattern_explored"] = int((pat & explored).sum())
    return row


def _policy(strategy: str, rate: float, config: SimulationConfig) -> SelectionPolicy:
    common: dict[str, Any] = {"red_rate": rate, "yellow_rate": 0.0, "blue_rate": 0.0,
                              "per_declaration": False, "group_by": (),
                              "objective": config.objective}
    if strategy == "random":
        return SelectionPolicy(random_share=rate, exploration_share=0.0, **common)
    if strategy == "exploit+random":
        return SelectionPolicy(random_share=rate * config.explore, exploration_share=0.0,
                               **common)
    if strategy == "exploit+explore":
        return SelectionPolicy(random_share=0.0, exploration_share=config.explore,
                               exploration="uncertainty", **common)
    if strategy == "exploit+segments":
        return SelectionPolicy(random_share=0.0, exploration_share=config.explore,
                               exploration="segments", **common)
    return SelectionPolicy(random_share=0.0, exploration_share=0.0, **common)


def summarise(weekly: pl.DataFrame, config: SimulationConfig,
              from_week: int | None = None) -> pl.DataFrame:
    """Mean weekly metrics per strategy over the weeks after the ramp (``from_week``)."""
    first_week = int(weekly["week"].min() or 0)  # type: ignore[arg-type]
    start = first_week + config.ramp_weeks if from_week is None else from_week
    part = weekly.filter(pl.col("week") >= start)
    aggs = [
        pl.len().alias("weeks"),
        pl.col("precision").mean().alias("mean_precision"),
        pl.col("norm_precision").mean().alias("mean_norm_precision"),
        pl.col("revenue").sum().alias("revenue"),
        pl.col("norm_revenue").mean().alias("mean_norm_revenue"),
    ]
    if "covered" in part.columns:
        aggs.append(pl.col("covered").drop_nulls().mean().alias("ci_coverage"))
    order = {s: i for i, s in enumerate(config.strategies)}
    return (part.group_by("strategy").agg(aggs)
            .with_columns(pl.col("strategy").replace_strict(order).alias("_o"))
            .sort("_o").drop("_o"))


def pattern_detection(weekly: pl.DataFrame, appears: int, threshold: float = 0.5,
                      within: int = 4) -> pl.DataFrame:
    """Per strategy: the first week (counted from the pattern's appearance, 1-based) in which it
    caught at least ``threshold`` of the planted pattern's frauds, and whether that is within
    ``within`` weeks."""
    part = weekly.filter((pl.col("week") >= appears) & (pl.col("pattern_frauds") > 0))
    part = part.with_columns(
        (pl.col("pattern_caught") / pl.col("pattern_frauds")).alias("pattern_recall"),
        (pl.col("week") - appears + 1).alias("weeks_after"))
    first = (part.filter(pl.col("pattern_recall") >= threshold).group_by("strategy")
             .agg(pl.col("weeks_after").min().alias("detected_after_weeks")))
    recall = part.group_by("strategy").agg(
        pl.col("pattern_recall").filter(pl.col("weeks_after") <= within).mean()
        .alias(f"recall_first_{within}_weeks"),
        pl.col("pattern_recall").mean().alias("recall_all_weeks"))
    out = recall.join(first, on="strategy", how="left").with_columns(
        (pl.col("detected_after_weeks").fill_null(10**6) <= within).alias("caught_in_time"))
    return out.sort("strategy")


def plant_new_pattern(declarations: pl.DataFrame, truth_fraud: np.ndarray,
                      truth_revenue: np.ndarray, *, appears: date, hs_prefix: str,
                      fraud_rate: float = 0.6, duty_share: float = 0.3, seed: int = 0,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plant a new fraud pattern: from ``appears`` on, items whose HS code starts with
    ``hs_prefix`` are fraudulent with probability ``fraud_rate``, evading ``duty_share`` of
    their customs value. Returns (fraud, revenue, pattern mask); the declarations are unchanged
    (the fraud is hidden, as a real new scheme is)."""
    rng = np.random.default_rng(seed)
    days = declarations["declared_at"].cast(pl.Date).to_numpy().astype("datetime64[D]")
    hs = declarations["hs_code"].cast(pl.String).fill_null("")
    segment = hs.str.starts_with(hs_prefix).to_numpy() & (days >= np.datetime64(appears))
    planted = segment & (rng.random(len(segment)) < fraud_rate)
    value = np.nan_to_num(declarations["customs_value"].cast(pl.Float64).to_numpy())
    fraud = np.asarray(truth_fraud, dtype=bool) | planted
    revenue = np.where(planted & ~np.asarray(truth_fraud, dtype=bool), duty_share * value,
                       np.asarray(truth_revenue, dtype=float))
    return fraud, revenue, planted
