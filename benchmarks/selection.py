"""Selection benchmark: the online simulator on KCS and on synthetic data with a planted shift,
and the speed of lane assignment.

Run: ``.venv/bin/python -m benchmarks.selection`` (options: ``--synth-retrain-every 1
--kcs-retrain-every 1 --synth-items 40000 --seed 12 ... --seed 16 --speed-rows 100000``; seeds
looked at while designing are given again with ``--design-seed`` and reported apart;
``--jobs 2`` runs the seeds, and KCS beside them, in separate processes;
``--explore-share 0.2`` re-runs the exploring strategy at that exploration share too).
Writes the ``selection`` section of docs/benchmarks.md; the protocol is in docs/simulation.md.

KCS protocol: both files ingested with the shipped ``kcs`` profile; the first 4 weeks of 2020 are
the fully labelled initial period; then weekly (from 2020-01-29) to 2021-03 with the inspection rate
falling from 100 % to 10 % over 10 weeks, then 10 %. Metrics are means over the weeks after the
ramp. Synthetic protocol: ``clearlane.synth`` data per seed; from week 16 on, a new scheme
makes 60 % of one HS chapter's items fraudulent (the declarations themselves do not change); the
chapter is the one with the lowest fraud rate before the scheme among chapters holding 2-6 % of
the items.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks._report import write_section
from benchmarks._workers import stop_workers_on_termination
from clearlane.evaluate.simulate import (
    STRATEGIES,
    SimulationConfig,
    SimulationResult,
    pattern_detection,
    plant_new_pattern,
    simulate,
)
from clearlane.models.simulation_scorers import FastScorer
from clearlane.rules import evaluate_rules, load_rules
from clearlane.selection import SelectionPolicy, select_lanes

SHARED = Path(os.environ.get("CLEARLANE_SHARED_DATA",
                             Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def _table(frame: pl.DataFrame, digits: int = 3) -> str:
    head = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    rows = []
    for row in frame.iter_rows():
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else ("" if v is None else str(v))
                 for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


def _summary(result: SimulationResult) -> pl.DataFrame:
    cols = ["strategy", "weeks", "mean_precision", "mean_norm_precision", "mean_norm_revenue"]
    if "ci_coverage" in result.summary.columns:
        cols.append("ci_coverage")
    return result.summary.select([c for c in cols if c in result.summary.columns])


EXPLORING = "exploit+segments"
"""The strategy the detection target is checked on: the segment bandit, the documented
production exploration (``exploration: segments``)."""

ISSUE_STRATEGIES = STRATEGIES
"""The issue's five (random, rules, exploit, exploit+random, exploit + model-driven
exploration) with both model-driven explorations: uncertainty and segment Thompson sampling."""


_DESIGN_NOTE = (
    "How the method was chosen: the segment signal, the segment bandit and their constants "
    "were designed on seeds 7-11 (earlier sessions: 7-9, then 10-11; this one: 7-11): the "
    "scheme prior of the segment signal (0.005 of segments), the optimistic prior of the "
    "exploration draws (0.1) and the width of the spike (the model's residual error in a "
    "segment, sd 0.1) were picked by comparing a few values on those seeds, looking only at "
    "`exploit` and `exploit+segments`. Seeds not marked as design seeds were run only once, "
    "with the final method, for this table: they are the test. Later sessions tried variants "
    "of the method (a shorter half-life, onset windows, size- and coverage-weighted breadth, "
    "a looser signal prior) and exploration shares 0.2 and 0.3 on seeds 22-31 only; no variant "
    "was kept, so the method is the one above. Seeds 42-46 were added for this run, unseen.")


def kcs(retrain_every: int, strategies: tuple[str, ...] = ISSUE_STRATEGIES
        ) -> tuple[str, float | None]:
    folder = SHARED / "kcs"
    if not (folder / "df_syn_train_eng.csv").exists():
        return "KCS data not found under ../shared/data/kcs: skipped.\n", None
    from clearlane.services.ingest import ingest_file
    from clearlane.store.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "ws")
        for name in ("df_syn_train_eng.csv", "df_syn_valid_eng.csv"):
            ingest_file(ws, folder / name, "kcs")
        data = ws.declarations()
    config = SimulationConfig(initial_weeks=4, ramp_weeks=10, start_rate=1.0, final_rate=0.10,
                              explore=0.10, objective="frauds", retrain_every=retrain_every,
                              strategies=strategies)
    started = time.perf_counter()
    result = simulate(data, data["fraud"].fill_null(False).to_numpy(), None, config=config,
                      scorer=FastScorer(random_state=config.seed))
    seconds = time.perf_counter() - started
    best_value = result.summary.filter(pl.col("strategy") != "random")["mean_precision"].max()
    best = float(best_value) if isinstance(best_value, (int, float)) else float("nan")
    weekly = result.weekly
    text = (
        f"{data.height:,} declarations, {weekly['week'].n_unique()} simulated weeks "
        f"({weekly['week_start'].min()!s} to {weekly['week_start'].max()!s}), models retrained "
        f"every {retrain_every} week(s), {seconds:.0f} s.\n\n"
        + _table(_summary(result))
        + f"\nBest strategy mean weekly precision at 10 %: **{best:.3f}** (target >= 0.60; "
        "public reference simulator anchors: random 0.22, exploit-only XGBoost 0.45, "
        "90 % XGBoost + 10 % random 0.43). KCS carries no revenue, so revenue columns are "
        "empty.\n"
        + "".join(f"\n- {n}" for n in result.notes) + "\n"
    )
    return text, best


def _planted_chapter(data: pl.DataFrame, fraud: np.ndarray, before: date) -> tuple[str, float]:
    """The chapter holding 2-6 % of the items with the lowest fraud rate before the scheme
    appears: a segment with no fraud history, where exploitation has no reason to look."""
    frame = data.select(pl.col("hs_code").str.slice(0, 2).alias("ch"),
                        pl.col("declared_at").cast(pl.Date).alias("day")).with_columns(
        pl.Series("fraud", fraud))
    stats = frame.group_by("ch").agg(
        (pl.len() / frame.height).alias("share"),
        pl.col("fraud").filter(pl.col("day") < before).mean().alias("rate"))
    pick = stats.filter(pl.col("share").is_between(0.02, 0.06)).sort("rate", "ch")
    return str(pick["ch"][0]), float(pick["share"][0])


@dataclass(frozen=True)
class SynthRun:
    """One seed's planted-scheme run: the simulator result, its detection table, a one-line
    description, the CPU seconds it took, the chance that uniform exploration would have
    inspected at least one scheme fraud in the scheme's first two weeks (:func:`_contact`) and
    the week its exploration first did (:func:`_first_contact`)."""

    result: SimulationResult
    detection: pl.DataFrame
    line: str
    cpu: float
    contact: float
    first_contact: int | None

    def caught(self, strategy: str) -> bool:
        """Whether ``strategy`` detected the scheme within 4 weeks."""
        row = self.detection.filter(pl.col("strategy") == strategy)["caught_in_time"]
        return bool(row[0]) if row.len() else False


def _contact(week_of: np.ndarray, scheme_fraud: np.ndarray, appears_week: int, explore: float,
             rate: float = 0.10, weeks: int = 2) -> float:
    """Probability that ``explore`` × ``rate`` of each week's items, drawn uniformly at random,
    include at least one scheme fraud in the ``weeks`` weeks from the scheme's appearance:
    ``1 − Π_w (1 − frauds_w / items_w) ** (explore × ⌊rate × items_w⌋)``. Exploration that
    does not know where a scheme will appear finds its first scheme fraud about this often
    (targeting a segment in advance can only raise it there by lowering it elsewhere)."""
    none = 1.0
    for week in range(appears_week, appears_week + weeks):
        in_week = week_of == week
        items = int(in_week.sum())
        if items == 0:
            continue
        slots = explore * np.floor(rate * items + 1e-9)
        none *= (1.0 - float(scheme_fraud[in_week].sum()) / items) ** slots
    return 1.0 - none


def synthetic_run(items: int, retrain_every: int, strategies: tuple[str, ...], seed: int,
                  appears_week: int = 16, explore: float = 0.10) -> SynthRun:
    """One synthetic run with a planted scheme, exploration share ``explore``."""
    from clearlane.synth import SynthConfig, generate

    cpu = time.process_time()

    synth = generate(SynthConfig(n_items=items, days=224, seed=seed))
    data = synth.declarations
    joined = data.select("declaration_id", "item_no").join(
        synth.truth, on=["declaration_id", "item_no"], how="left", maintain_order="left")
    fraud = joined["mechanism"].is_not_null().to_numpy()
    revenue = joined["evaded_revenue"].fill_null(0.0).to_numpy()
    first = data["declared_at"].cast(pl.Date).min()
    assert isinstance(first, date)
    appears = first + timedelta(days=7 * appears_week)
    chapter, share = _planted_chapter(data, fraud, appears)
    fraud, revenue, pattern = plant_new_pattern(data, fraud, revenue, appears=appears,
                                                hs_prefix=chapter, seed=seed)
    config = SimulationConfig(initial_weeks=4, ramp_weeks=6, start_rate=1.0, final_rate=0.10,
                              explore=explore, objective="frauds",
                              retrain_every=retrain_every, strategies=strategies, seed=seed)
    result = simulate(data, fraud, revenue, config=config,
                      scorer=FastScorer(random_state=config.seed), pattern=pattern)
    detection = pattern_detection(result.weekly, appears_week, threshold=0.5, within=4)
    days = data["declared_at"].cast(pl.Date).to_numpy().astype("datetime64[D]")
    week_of = (days - np.datetime64(first)).astype(int) // 7
    contact = _contact(week_of, pattern & fraud, appears_week, explore)
    line = (f"seed {seed}: {data.height:,} items, scheme in HS chapter {chapter} ({share:.1%} "
            f"of items) from week {appears_week} ({appears})")
    return SynthRun(result, detection, line, time.process_time() - cpu, contact,
                    _first_contact(result.weekly, appears_week))


def _synthetic_job(job: tuple[int, int, tuple[str, ...], int, float]) -> SynthRun:
    items, retrain_every, strategies, seed, explore = job
    return synthetic_run(items, retrain_every, strategies, seed, explore=explore)


def _run_all(work: list[tuple[int, int, tuple[str, ...], int, float]], jobs: int
             ) -> list[SynthRun]:
    if jobs > 1 and len(work) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(_synthetic_job, work))
    return [_synthetic_job(job) for job in work]


def _first_contact(weekly: pl.DataFrame, appears_week: int) -> int | None:
    """Week (1 = the scheme's first) in which the exploring strategy's exploration slots first
    inspected a scheme fraud; None if never in the simulated weeks."""
    hit = weekly.filter((pl.col("strategy") == EXPLORING) & (pl.col("week") >= appears_week)
                        & (pl.col("pattern_explored") > 0))
    return None if hit.height == 0 else int(hit["week"].min()) - appears_week + 1  # type: ignore[arg-type]


def _target_line(label: str, seeds: list[int], verdict: dict[int, bool]) -> str:
    met = [s for s in seeds if verdict[s]]
    return (f"{label} (seeds {', '.join(map(str, seeds))}): met on **{len(met)} of "
            f"{len(seeds)}**" + (f" (seeds {', '.join(map(str, met))})" if met else "") + ".")


def synthetic(items: int, retrain_every: int, strategies: tuple[str, ...] = ISSUE_STRATEGIES,
              seeds: tuple[int, ...] = (7,), design_seeds: tuple[int, ...] = (),
              jobs: int = 1, explore_shares: tuple[float, ...] = ()) -> str:
    """The planted-scheme runs. ``design_seeds`` (a subset of ``seeds``) were looked at while
    the method and its constants were chosen: the target is judged on the other seeds and
    reported separately for these. ``jobs`` > 1 runs seeds in that many processes.
    ``explore_shares``: further exploration shares at which the exploring strategy alone is
    re-run on the same seeds (a sizing table; the target stays judged at 10 %)."""
    started = time.perf_counter()
    runs = _run_all([(items, retrain_every, strategies, seed, 0.10) for seed in seeds], jobs)
    seconds = time.perf_counter() - started
    cpu = sum(r.cpu for r in runs)
    first_result = runs[0].result
    per_seed = pl.concat([
        run.detection.select("strategy", pl.lit(seed).alias("seed"), "detected_after_weeks",
                             "recall_first_4_weeks", "caught_in_time")
        for seed, run in zip(seeds, runs, strict=True)])
    fresh = [s for s in seeds if s not in design_seeds]
    wide = per_seed.group_by("strategy").agg(
        *[pl.col("detected_after_weeks").filter(pl.col("seed") == s).first()
          .alias(f"weeks_to_detect_seed_{s}{'*' if s in design_seeds else ''}")
          for s in seeds],
        pl.col("recall_first_4_weeks").filter(pl.col("seed").is_in(fresh)).mean()
        .alias("mean_recall_first_4_weeks_fresh"),
        pl.col("caught_in_time").filter(pl.col("seed").is_in(fresh)).sum()
        .alias("fresh_seeds_caught_within_4_weeks"),
    ).sort("strategy")
    verdict: dict[int, bool] = {}
    for seed, run in zip(seeds, runs, strict=True):
        verdict[seed] = run.caught(EXPLORING) and not run.caught("exploit")
    design = [s for s in seeds if s in design_seeds]
    target_line = (f"\nTarget check per seed ({EXPLORING} within 4 weeks while exploit does "
                   "not). " + (_target_line("Fresh seeds, the test", fresh, verdict)
                               if fresh else "No fresh seed in this run.")
                   + (" " + _target_line("Design seeds (looked at while choosing the method "
                                         "and its constants; marked * above)", design, verdict)
                      if design else "") + "\n")
    summaries = pl.concat([run.result.summary.with_columns(pl.lit(seed).alias("seed"))
                           for seed, run in zip(seeds, runs, strict=True)])
    summary = summaries.group_by("strategy", maintain_order=True).agg(
        pl.col("mean_precision", "mean_norm_precision", "mean_norm_revenue").mean(),
        *([pl.col("ci_coverage").mean()] if "ci_coverage" in summaries.columns else []))
    weekly = pl.concat([run.result.weekly for run in runs], how="diagonal_relaxed")
    coverage = (weekly.filter(pl.col("strategy").is_in(["random", "exploit+random"])
                              & pl.col("covered").is_not_null()).group_by("strategy").agg(
        pl.len().alias("weeks"), pl.col("covered").mean().alias("coverage_95"),
        pl.col("est_rate").mean().alias("mean_estimate"),
        pl.col("true_rate").mean().alias("mean_true_rate")).sort("strategy")
        if "covered" in weekly.columns else pl.DataFrame({"strategy": ["(no strategy with a "
                                                                       "random part was run)"]}))
    return (
        "\n".join(f"- {run.line}{' (design seed)' if seed in design_seeds else ''}"
                  for seed, run in zip(seeds, runs, strict=True))
        + f"\n\n{first_result.weekly['week'].n_unique()} simulated weeks per seed, models "
        f"retrained every {retrain_every} week(s); {seconds:.0f} s wall ({jobs} process(es)), "
        f"{cpu:.0f} s CPU for {len(seeds)} seed(s).\n\n" + _DESIGN_NOTE
        + "\n\nMean over all seeds of the weekly metrics after the ramp:\n\n"
        + _table(summary)
        + "\nDetection of the new scheme. **Definition:** a strategy detects the scheme in the "
        "first week (counted from its appearance, week 1 = the week it appears) in which its "
        "inspections catch at least 50 % of that week's scheme frauds — i.e. its selection "
        "follows the scheme, five times the 10 % inspection rate; blank = never within the "
        "simulated weeks. Target: the exploring strategy within 4 weeks, exploit-only not.\n\n"
        + _table(wide) + target_line
        + "\nRandom-sample estimate of the weekly fraud rate (Wilson 95 % interval) against "
        "the true weekly rate of all items, all seeds pooled (target: covered in >= 90 % of "
        "weeks):\n\n" + _table(coverage)
        + _contact_section(seeds, design_seeds, runs, verdict)
        + (_sweep(items, retrain_every, seeds, design_seeds, runs, explore_shares, jobs)
           if explore_shares else "")
    )


def _contact_section(seeds: tuple[int, ...], design_seeds: tuple[int, ...],
                     runs: list[SynthRun], verdict: dict[int, bool]) -> str:
    """Per seed: how likely uniform exploration was to meet the scheme in its first two weeks,
    when the exploring strategy's exploration first did, and when it detected the scheme."""
    rows = []
    for seed, run in zip(seeds, runs, strict=True):
        detected = run.detection.filter(pl.col("strategy") == EXPLORING)["detected_after_weeks"]
        rows.append({"seed": f"{seed}{'*' if seed in design_seeds else ''}",
                     "p_uniform_contact_weeks_1_2": run.contact,
                     "first_exploration_contact_week": run.first_contact,
                     "detected_week": detected[0] if detected.len() else None,
                     "target_met": verdict[seed]})
    table = pl.DataFrame(rows, infer_schema_length=None)
    fresh = [run.contact for seed, run in zip(seeds, runs, strict=True)
             if seed not in design_seeds]
    mean = statistics.fmean(fresh) if fresh else float("nan")
    return (
        f"\nWhat limits detection at 10 % exploration (docs/simulation.md explains it): "
        f"`p_uniform_contact_weeks_1_2` is the probability that exploration drawn uniformly "
        f"(10 % of the 10 % inspected) inspects at least one scheme fraud in the scheme's first "
        f"two weeks, from that seed's actual weekly scheme frauds; "
        f"`first_exploration_contact_week` is when {EXPLORING}'s exploration slots first did. "
        f"Mean of the first over the fresh seeds: **{mean:.2f}**.\n\n" + _table(table, 2))


def _sweep(items: int, retrain_every: int, seeds: tuple[int, ...],
           design_seeds: tuple[int, ...], runs: list[SynthRun], shares: tuple[float, ...],
           jobs: int) -> str:
    """The exploring strategy alone at other exploration shares, on the same seeds; exploit-only
    (which does not explore) comes from the main run."""
    started = time.perf_counter()
    alone: tuple[str, ...] = (EXPLORING,)
    work = [(items, retrain_every, alone, seed, share) for share in shares for seed in seeds]
    extra = _run_all(work, jobs)
    seconds = time.perf_counter() - started
    fresh = [i for i, s in enumerate(seeds) if s not in design_seeds]
    exploit_in_time = [r.caught("exploit") for r in runs]
    rows = []
    for share, group in [(0.10, runs)] + [
            (share, extra[k * len(seeds):(k + 1) * len(seeds)])
            for k, share in enumerate(shares)]:
        caught = [r.caught(EXPLORING) for r in group]
        summary = pl.concat([r.result.summary.filter(pl.col("strategy") == EXPLORING)
                             for r in group])
        rows.append({
            "exploration_share": share,
            "mean_p_uniform_contact": statistics.fmean(group[i].contact for i in fresh),
            "fresh_detected_within_4": sum(caught[i] for i in fresh),
            "fresh_target_met": sum(caught[i] and not exploit_in_time[i] for i in fresh),
            "fresh_seeds": len(fresh),
            "mean_precision": float(summary["mean_precision"].mean()),
            "mean_norm_revenue": float(summary["mean_norm_revenue"].mean()),
        })
    return (
        f"\nExploration share sizing ({EXPLORING} re-run alone at each share on the same seeds; "
        f"{seconds:.0f} s wall): the target is judged at 10 %; the other rows show what a "
        "larger exploration budget buys and costs. `fresh_target_met` counts fresh seeds where "
        "it detects within 4 weeks and exploit-only (from the main run) does not; precision "
        "and normalised revenue are means over all seeds after the ramp.\n\n"
        + _table(pl.DataFrame(rows), 3))


def speed(rows: int, repeats: int = 3) -> str:
    rng = np.random.default_rng(0)
    offices = 20
    frame = pl.DataFrame({
        "declaration_id": [f"D{i:07d}" for i in range(rows)],
        "item_no": np.ones(rows, dtype=np.int64),
        "office_id": [f"O{i % offices:02d}" for i in range(rows)],
        "declared_at": [date(2026, 11, 23)] * rows,
        "hs_code": [f"{h:06d}" for h in rng.integers(10000, 999999, rows)],
        "importer_id": [f"I{i}" for i in rng.integers(0, 20000, rows)],
        "customs_value": rng.lognormal(12, 1.5, rows),
        "goods_description": ["used cars" if x < 0.01 else "goods" for x in rng.random(rows)],
        "fraud_probability": rng.beta(1, 15, rows),
        "expected_revenue": rng.lognormal(8, 2, rows),
        "anomaly_score": rng.random(rows),
    })
    rules = load_rules(Path(__file__).resolve().parents[1] / "src" / "clearlane" / "rules"
                       / "examples" / "basic.yaml")
    policy = SelectionPolicy(capacity={"*": rows // offices // 20}, random_share=0.01,
                             exploration_share=0.1)
    times = []
    cpu_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        cpu = time.process_time()
        hits = evaluate_rules(rules, frame)
        result = select_lanes(frame, policy, hits=hits, rules=rules, seed=1)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu)
    counts = result.counts().group_by("lane").agg(pl.col("len").sum()).sort("lane")
    return (f"{rows:,} declarations of one day in {offices} offices, capacity "
            f"{rows // offices // 20} red per office, {len(rules)} rules, reasons written for "
            f"every selected declaration: median **{statistics.median(times):.2f} s** wall "
            f"({statistics.median(cpu_times):.2f} s CPU) over {repeats} runs (target < 2 s). "
            "Lanes: "
            + ", ".join(f"{r['lane']} {r['len']:,}" for r in counts.iter_rows(named=True))
            + ".\n")


_SPEED_HEADING = "### Speed of lane assignment"
_SYNTH_HEADING = "### Synthetic data with a planted new scheme"


def _write_speed_only(speed_text: str, rows: int) -> None:
    """Replace the speed part of the section; the simulator parts stay, with their provenance."""
    from benchmarks._report import REPORT

    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    start, end = "<!-- bench:selection -->", "<!-- /bench:selection -->"
    if start not in text or _SYNTH_HEADING not in text:
        raise SystemExit("--speed-only needs an earlier full run in docs/benchmarks.md")
    body = text.split(start, 1)[1].split(end, 1)[0]
    kept = body[body.index(_SYNTH_HEADING):].strip()
    if "The simulator parts come from" in body:
        provenance = body[body.index("The simulator parts come from"):].split("\n", 1)[0]
    else:
        command = body.split("Command: `", 1)[1].split("`", 1)[0]
        stamp = body.split("Run: ", 1)[1].split("\n", 1)[0]
        provenance = (f"The simulator parts come from the full run `{command}` of {stamp}; the "
                      "speed part was re-run alone with `--speed-only`.")
    new_body = (
        "Simulator protocol, strategies and the detection definition: see docs/simulation.md. "
        "Model: the risk engine's leakage-safe feature pipeline with a fixed-size LightGBM "
        f"(`FastScorer`).\n\n{provenance}\n\n{_SPEED_HEADING}\n\n{speed_text}\n{kept}\n"
    )
    write_section("selection", "Selection: lanes, simulator",
                  f".venv/bin/python -m benchmarks.selection --speed-only --speed-rows {rows}",
                  new_body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synth-retrain-every", type=int, default=1)
    parser.add_argument("--kcs-retrain-every", type=int, default=1)
    parser.add_argument("--synth-items", type=int, default=60_000)
    parser.add_argument("--seed", type=int, action="append", dest="seeds",
                        help="synthetic data seed (repeatable; default 7, 8, 9)")
    parser.add_argument("--design-seed", type=int, action="append", dest="design_seeds",
                        help="a seed (also given with --seed) that was looked at while "
                             "designing: reported apart from the fresh seeds (repeatable)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="run the synthetic seeds in this many processes")
    parser.add_argument("--explore-share", type=float, action="append", dest="shares",
                        help="also run the exploring strategy at this exploration share "
                             "(repeatable; a sizing table, the target stays judged at 10 %%)")
    parser.add_argument("--speed-rows", type=int, default=100_000)
    parser.add_argument("--skip-kcs", action="store_true")
    parser.add_argument("--strategy", action="append", choices=STRATEGIES,
                        help="strategy to run (repeatable; default: the issue's five)")
    parser.add_argument("--speed-only", action="store_true",
                        help="re-run only the lane-assignment speed; keep the simulator parts "
                             "of the last full run in docs/benchmarks.md")
    args = parser.parse_args()
    stop_workers_on_termination()
    strategies = tuple(args.strategy or ISSUE_STRATEGIES)
    speed_text = speed(args.speed_rows)
    print(speed_text, flush=True)
    if args.speed_only:
        _write_speed_only(speed_text, args.speed_rows)
        return
    seeds = tuple(args.seeds or (7, 8, 9))
    design = tuple(args.design_seeds or ())
    kcs_pool = None
    kcs_future = None
    if args.jobs > 1 and not args.skip_kcs:  # KCS runs beside the synthetic seeds
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        kcs_pool = ProcessPoolExecutor(max_workers=1,
                                       mp_context=multiprocessing.get_context("spawn"))
        kcs_future = kcs_pool.submit(kcs, args.kcs_retrain_every, strategies)
    synth_text = synthetic(args.synth_items, args.synth_retrain_every, strategies, seeds,
                           design, args.jobs, tuple(args.shares or ()))
    print(synth_text, flush=True)
    if args.skip_kcs:
        kcs_text = "Skipped (--skip-kcs).\n"
    elif kcs_future is not None and kcs_pool is not None:
        kcs_text = kcs_future.result()[0]
        kcs_pool.shutdown()
    else:
        kcs_text = kcs(args.kcs_retrain_every, strategies)[0]
    print(kcs_text, flush=True)
    body = (
        "Simulator protocol, strategies and the detection definition: see docs/simulation.md. "
        "Model: the risk engine's "
        "leakage-safe feature pipeline with a fixed-size LightGBM (`FastScorer`).\n\n"
        "### Speed of lane assignment\n\n" + speed_text
        + "\n### Synthetic data with a planted new scheme\n\n" + synth_text
        + "\n### KCS (Korea Customs Service synthetic data)\n\n" + kcs_text
    )
    command = (f".venv/bin/python -m benchmarks.selection --synth-retrain-every "
               f"{args.synth_retrain_every} --kcs-retrain-every {args.kcs_retrain_every} "
               f"--synth-items {args.synth_items} --speed-rows {args.speed_rows}"
               + "".join(f" --seed {s}" for s in seeds)
               + "".join(f" --design-seed {s}" for s in design)
               + "".join(f" --explore-share {x:g}" for x in args.shares or ())
               + (f" --jobs {args.jobs}" if args.jobs > 1 else "")
               + "".join(f" --strategy {s}" for s in args.strategy or ()))
    write_section("selection", "Selection: lanes, simulator", command, body)


if __name__ == "__main__":
    main()
