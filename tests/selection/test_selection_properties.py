"""Selector invariants: capacity, mandatory rules, uniform random share, determinism, reasons."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.rules import evaluate_rules, parse_rules
from clearlane.selection import SelectionPolicy, make_override, select_lanes

RULES = parse_rules("""\
profile: t
watchlists:
  bad: {kind: importers, values: [I0]}
rules:
  - {id: M, version: 2, title: Watchlisted importer, justification: Under investigation.,
     owner: o, severity: critical, lane: red, mandatory: true,
     when: [{field: importer_id, watchlist: bad}]}
  - {id: Y, version: 1, title: Docs check, justification: Paper trail., owner: o,
     severity: medium, lane: yellow, when: [{field: hs_code, prefix: ["01"]}]}
""")


def make_frame(n: int, offices: int = 3, days: int = 2, seed: int = 0,
               items: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    decl = np.repeat(np.arange(n), items)
    size = len(decl)
    return pl.DataFrame({
        "declaration_id": [f"D{i:05d}" for i in decl],
        "item_no": np.tile(np.arange(1, items + 1), n),
        "office_id": [f"O{i % offices}" for i in decl],
        "declared_at": [date(2024, 1, 1 + int(i % days)) for i in decl],
        "importer_id": [f"I{i}" for i in rng.integers(0, 40, size)],
        "hs_code": [f"{h:06d}" for h in rng.integers(10000, 999999, size)],
        "fraud_probability": rng.random(size),
        "expected_revenue": rng.lognormal(5, 1, size),
        "anomaly_score": rng.random(size),
    })


def _policy(**kw: object) -> SelectionPolicy:
    base: dict[str, object] = {"red_rate": 0.2, "yellow_rate": 0.1, "blue_rate": 0.05,
                               "random_share": 0.05, "exploration_share": 0.2}
    base.update(kw)
    return SelectionPolicy(**base)  # type: ignore[arg-type]


policies = st.builds(
    _policy,
    red_rate=st.floats(0.05, 0.5),
    random_share=st.floats(0.0, 0.05),
    exploration_share=st.floats(0.0, 0.5),
    capacity=st.one_of(st.none(), st.dictionaries(st.sampled_from(["*", "O1"]),
                                                  st.integers(0, 30), min_size=1)),
    exploration=st.sampled_from(["uncertainty", "anomaly"]),
    objective=st.sampled_from(["revenue", "frauds"]),
)


@settings(max_examples=30, deadline=None)
@given(policy=policies, n=st.integers(1, 300), seed=st.integers(0, 10_000))
def test_capacity_is_never_exceeded_and_mandatory_rules_are_red(
        policy: SelectionPolicy, n: int, seed: int) -> None:
    frame = make_frame(n, seed=seed)
    hits = evaluate_rules(RULES, frame)
    result = select_lanes(frame, policy, hits=hits, rules=RULES, seed=seed)
    lanes = result.lanes
    mandatory = set(hits.filter(pl.col("mandatory"))["declaration_id"])
    assert set(lanes.filter(pl.col("declaration_id").is_in(list(mandatory)))["lane"]) <= {"red"}
    red = lanes.filter(pl.col("lane") == "red").group_by("office_id", "declared_at").agg(
        pl.col("declaration_id").n_unique().alias("red"),
        pl.col("declaration_id").is_in(list(mandatory)).sum().alias("mandatory"))
    overflowed = {g["group"] for g in result.overflow}
    for row in red.iter_rows(named=True):
        cap = policy.capacity_for(row["office_id"])
        group = f"{row['office_id']}|{row['declared_at']}"
        if cap is not None and group not in overflowed:
            assert row["red"] <= cap
        if group in overflowed:  # only mandatory hits may exceed capacity
            assert row["red"] == row["mandatory"]
    assert lanes.height == frame.height
    assert lanes["lane"].null_count() == 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), order=st.randoms(use_true_random=False))
def test_same_seed_same_lanes_whatever_the_row_order(seed: int, order: object) -> None:
    frame = make_frame(120, items=2)
    idx = list(range(frame.height))
    order.shuffle(idx)  # type: ignore[attr-defined]
    hits = evaluate_rules(RULES, frame)
    policy = _policy(capacity={"*": 5})
    a = select_lanes(frame, policy, hits=hits, rules=RULES, seed=seed).lanes
    b = select_lanes(frame[idx], policy, hits=hits, rules=RULES, seed=seed).lanes
    key = ["declaration_id", "item_no"]
    assert a.sort(key).equals(b.sort(key))


def test_different_seeds_draw_different_random_samples() -> None:
    frame = make_frame(400)
    samples = {tuple(sorted(select_lanes(frame, _policy(), seed=s).lanes
                            .filter(pl.col("random_control"))["declaration_id"]))
               for s in range(5)}
    assert len(samples) == 5


def test_random_share_is_drawn_uniformly_from_all_declarations() -> None:
    frame = make_frame(200, offices=1, days=1)
    hits = evaluate_rules(RULES, frame)
    counts = np.zeros(200)
    runs = 300
    for seed in range(runs):
        lanes = select_lanes(frame, _policy(random_share=0.1, red_rate=0.3), hits=hits,
                             seed=seed, explain=False).lanes
        picked = lanes.filter(pl.col("random_control"))["declaration_id"]
        counts[[int(d[1:]) for d in picked]] += 1
    # every declaration (high score, low score, mandatory) is drawn about 10 % of the time
    rate = counts / runs
    assert rate.mean() == pytest.approx(0.1, abs=0.005)
    top = frame["expected_revenue"].to_numpy().argsort()[-20:]
    bottom = frame["expected_revenue"].to_numpy().argsort()[:20]
    mandatory = [int(d[1:]) for d in hits.filter(pl.col("mandatory"))["declaration_id"]]
    assert mandatory
    for group in (top, bottom, mandatory):
        assert rate[group].mean() == pytest.approx(0.1, abs=0.04)


def test_lane_rates_and_exploitation_order() -> None:
    frame = make_frame(1000, offices=1, days=1)
    lanes = select_lanes(frame, _policy(random_share=0.0, exploration_share=0.0,
                                        objective="frauds"), seed=3).lanes
    share = lanes["lane"].value_counts(normalize=True)
    got = dict(zip(share["lane"], share["proportion"], strict=True))
    assert got["red"] == pytest.approx(0.2, abs=0.002)
    assert got["yellow"] == pytest.approx(0.1, abs=0.002)
    red_min = lanes.filter(pl.col("lane") == "red")["fraud_probability"].min()
    rest_max = lanes.filter(pl.col("lane") != "red")["fraud_probability"].max()
    assert red_min >= rest_max  # type: ignore[operator]


def test_items_of_a_declaration_share_one_lane() -> None:
    lanes = select_lanes(make_frame(100, items=3), _policy(), seed=1).lanes
    assert (lanes.group_by("declaration_id").agg(pl.col("lane").n_unique())["lane"] == 1).all()


def test_every_lane_is_explained() -> None:
    frame = make_frame(300, offices=1, days=1)
    hits = evaluate_rules(RULES, frame)
    lanes = select_lanes(frame, _policy(), hits=hits, rules=RULES, seed=2).lanes
    for row in lanes.iter_rows(named=True):
        reasons = json.loads(row["reasons"])
        codes = {r["code"] for r in reasons}
        assert reasons and all(r["text"] for r in reasons)
        if row["random_control"]:
            assert "RANDOM_CONTROL" in codes
        if row["basis"] == "mandatory_rule":
            assert any("rule M v2: Watchlisted importer" in r["text"] for r in reasons)
        if row["basis"] == "model":
            assert any(r["text"].startswith("top ") for r in reasons)
        if row["explored"]:
            assert "EXPLORATION" in codes


def test_invalid_policy_names_the_parameter() -> None:
    with pytest.raises(ValidationError, match="objective"):
        select_lanes(make_frame(5), SelectionPolicy(objective="profit"))
    with pytest.raises(ValidationError, match="random_share"):
        SelectionPolicy(red_rate=0.01, random_share=0.05).validate()


def test_override_needs_a_justification() -> None:
    with pytest.raises(ValidationError, match="justification"):
        make_override("D1", "red", "green", "ok", "OFF1")
    with pytest.raises(ValidationError, match="to_lane"):
        make_override("D1", "red", "purple", "Authorised operator, verified", "OFF1")
    done = make_override("D1", "red", "green", "Authorised operator, verified", "OFF1")
    assert done.to_lane == "green" and done.officer_id == "OFF1"


def test_weights_exploration_samples_only_weighted_declarations() -> None:
    frame = make_frame(400, offices=1, days=1).with_columns(
        pl.Series("exploration_weight", [1.0 if i % 5 == 0 else 0.0 for i in range(400)]))
    lanes = select_lanes(frame, _policy(exploration="weights", exploration_share=0.25,
                                        random_share=0.0), seed=5).lanes
    explored = lanes.filter(pl.col("explored")).select("declaration_id")
    assert explored.height > 0  # 80 weighted, 80 red slots: 20 explored, at most 60 exploited
    weights = frame.join(explored, on="declaration_id")["exploration_weight"]
    assert weights.min() == 1.0
    with pytest.raises(ValidationError, match="exploration_weight"):
        select_lanes(make_frame(5), _policy(exploration="weights"))
