"""Segment evidence, the segment signal and Thompson exploration."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.selection import SelectionPolicy, select_lanes
from clearlane.selection.segments import (
    SegmentEvidence,
    segment_labels,
    segment_lift,
    thompson_exploration,
)


def _frame(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    chapters = ["10", "27", "61", "84", "85"]
    return pl.DataFrame({
        "declaration_id": [f"D{i:05d}" for i in range(n)],
        "item_no": [1] * n,
        "declared_at": [date(2026, 1, 1) + timedelta(days=int(d)) for d in
                        rng.integers(0, 60, n)],
        "hs_code": [chapters[int(c)] + "0110" for c in rng.integers(0, len(chapters), n)],
        "origin_country": [["CN", "DE", "TR"][int(c)] for c in rng.integers(0, 3, n)],
        "office_id": [f"O{int(c)}" for c in rng.integers(0, 2, n)],
        "importer_id": [f"I{int(c)}" for c in rng.integers(0, 40, n)],
    })


def test_labels_cover_every_dimension_and_newness() -> None:
    frame = _frame(200)
    labels = segment_labels(frame)
    assert labels.height == 200
    assert set(labels["seg_importer_newness"].unique()) <= {"new", "established"}
    assert labels["seg_hs_chapter"].is_in(["10", "27", "61", "84", "85"]).all()
    # an importer's first declaration is always "new"
    first = frame.with_row_index().sort("declared_at").unique("importer_id", keep="first")
    assert (labels[first["index"].to_list()]["seg_importer_newness"] == "new").all()


def _evidence_with_hidden_scheme(frame: pl.DataFrame, chapter: str = "27"
                                 ) -> tuple[SegmentEvidence, pl.DataFrame]:
    labels = segment_labels(frame)
    p = np.full(frame.height, 0.1)
    in_scheme = (labels["seg_hs_chapter"] == chapter).to_numpy()
    rng = np.random.default_rng(1)
    fraud = np.where(in_scheme, rng.random(frame.height) < 0.7, rng.random(frame.height) < 0.1)
    evidence = SegmentEvidence.from_outcomes(labels, fraud, p, np.zeros(frame.height))
    return evidence, labels


def test_lift_follows_a_segment_where_outcomes_beat_the_model() -> None:
    frame = _frame(400)
    evidence, labels = _evidence_with_hidden_scheme(frame)
    lift, notes = segment_lift(labels, evidence)
    scheme = (labels["seg_hs_chapter"] == "27").to_numpy()
    assert lift[scheme].min() > 0.3
    assert lift[~scheme].max() < lift[scheme].min()
    assert all("HS chapter 27" in str(n) for n in np.array(notes, dtype=object)[scheme])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_no_lift_when_the_model_is_right(seed: int) -> None:
    frame = _frame(300, seed)
    labels = segment_labels(frame)
    p = np.random.default_rng(seed).uniform(0.0, 0.6, frame.height)
    # outcomes exactly as the model expects on average: no significant excess anywhere
    evidence = SegmentEvidence.from_outcomes(labels, p > 0.5, np.where(p > 0.5, 1.0, 0.0),
                                             np.zeros(frame.height))
    lift, notes = segment_lift(labels, evidence)
    assert (lift == 0).all() and all(n is None for n in notes)


def test_thompson_spends_exploration_on_the_blind_or_surprising_segment() -> None:
    frame = _frame(600)
    evidence, labels = _evidence_with_hidden_scheme(frame)
    weights, notes = thompson_exploration(labels, evidence, np.random.default_rng(0))
    scheme = (labels["seg_hs_chapter"] == "27").to_numpy()
    assert weights[scheme].sum() > 0.5 * weights.sum()
    assert "HS chapter 27" in str(notes[int(np.flatnonzero(scheme)[0])])
    assert weights.sum() > 0
    # a segment never inspected is uncertain: with no evidence every segment can win
    blind, _ = thompson_exploration(labels, SegmentEvidence.empty(),
                                    np.random.default_rng(0))
    assert (blind > 0).all()


def test_breadth_goes_to_segments_with_little_recent_evidence() -> None:
    frame = _frame(600)
    labels = segment_labels(frame)
    chapter = labels["seg_hs_chapter"].to_numpy()
    inspected = chapter != "85"
    rng = np.random.default_rng(4)
    # outcomes as the model expects everywhere it looked; chapter 85 was never inspected
    evidence = SegmentEvidence.from_outcomes(
        labels.filter(pl.Series(inspected)), rng.random(int(inspected.sum())) < 0.1,
        np.full(int(inspected.sum()), 0.1), np.zeros(int(inspected.sum())))
    blind, seen = chapter == "85", chapter == "84"
    weights, _ = thompson_exploration(labels, evidence, np.random.default_rng(0))
    assert weights[blind].sum() > 2 * weights[seen].sum()
    # the exact spike (null_sd = 0) breaks ties uniformly: no preference for the blind chapter
    exact, _ = thompson_exploration(labels, evidence, np.random.default_rng(0), null_sd=0.0)
    assert exact[blind].sum() < 2 * exact[seen].sum()
    assert exact[blind].sum() < weights[blind].sum()


def test_unassessed_units_take_no_model_slot() -> None:
    n = 200
    frame = pl.DataFrame({
        "declaration_id": [f"D{i:04d}" for i in range(n)], "item_no": [1] * n,
        "office_id": ["O1"] * n, "declared_at": [date(2026, 11, 23)] * n,
        "fraud_probability": [None if i % 2 else 0.5 for i in range(n)],
        "expected_revenue": [None if i % 2 else 10.0 for i in range(n)],
    })
    result = select_lanes(frame, SelectionPolicy(red_rate=0.8, yellow_rate=0.1,
                                                 blue_rate=0.0, random_share=0.05), seed=3)
    lanes = result.lanes
    unscored = lanes.filter(pl.col("fraud_probability").is_null())
    assert result.unassessed == n // 2
    # only the random control sample can put an unscored declaration in a non-green lane
    assert unscored.filter(pl.col("lane") != "green")["basis"].unique().to_list() in (
        [], ["random"])
    assert unscored.filter(pl.col("lane") == "green")["reasons"].str.contains(
        "NOT_ASSESSED").all()
    scored_red = lanes.filter(pl.col("fraud_probability").is_not_null()
                              & (pl.col("basis") == "model"))
    assert scored_red.height > 0
    assert "top" in scored_red["reasons"][0]


def _two_chapter_evidence(p_in_scheme: float) -> tuple[SegmentEvidence, pl.DataFrame]:
    """Chapter 27: 3 inspections, 2 frauds, each given ``p_in_scheme`` by the model; the other
    chapters: 300 inspections where outcomes match the model (p = 0.1, 10 % frauds)."""
    frame = _frame(303, seed=3).with_columns(
        pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("270110")).otherwise(pl.lit("840110"))
        .alias("hs_code"))
    labels = segment_labels(frame)
    p = np.where(np.arange(303) < 3, p_in_scheme, 0.1)
    fraud = np.zeros(303, dtype=bool)
    fraud[:2] = True
    fraud[3:33] = True  # 30 of 300 elsewhere, as the model expects
    return SegmentEvidence.from_outcomes(labels, fraud, p, np.zeros(303)), labels


def test_a_surprising_fraud_is_stronger_evidence_than_an_expected_one() -> None:
    surprising, labels = _two_chapter_evidence(0.03)
    expected, _ = _two_chapter_evidence(0.5)

    def chapter_27(evidence: SegmentEvidence) -> dict[str, float]:
        row = evidence.posterior().filter((pl.col("dimension") == "hs_chapter")
                                          & (pl.col("segment") == "27"))
        return row.row(0, named=True)

    low, high = chapter_27(surprising), chapter_27(expected)
    assert low["scheme"] > 0.5 > high["scheme"]
    assert low["excess"] > high["excess"]
    scheme = (labels["seg_hs_chapter"] == "27").to_numpy()
    lift_low, _ = segment_lift(labels, surprising)
    lift_high, _ = segment_lift(labels, expected)
    assert lift_low[scheme].min() > lift_high[scheme].max()
    # the surprising chapter takes most of the exploration draws
    weights, _ = thompson_exploration(labels, surprising, np.random.default_rng(0),
                                      min_share=0.0, min_items=3)
    assert weights[scheme].sum() > 0.5 * weights.sum()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.001, 0.2), st.floats(0.05, 1.0))
def test_posterior_is_a_probability_and_the_prior_without_evidence(
        seed: int, share: float, sd: float) -> None:
    frame = _frame(120, seed)
    labels = segment_labels(frame)
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 1.0, frame.height)
    evidence = SegmentEvidence.from_outcomes(labels, rng.random(frame.height) < p, p,
                                             rng.integers(0, 8, frame.height))
    post = evidence.posterior(share, sd)
    assert post["scheme"].is_between(0.0, 1.0).all()
    assert (post["sd"] > 0).all() and (post["sd"] <= sd).all()
    lift, _ = segment_lift(labels, evidence, scheme_share=share, scheme_sd=sd)
    assert ((lift >= 0) & (lift <= 1)).all()
    empty = SegmentEvidence.empty()
    assert (segment_lift(labels, empty, scheme_share=share, scheme_sd=sd)[0] == 0).all()
