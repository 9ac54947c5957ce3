from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from clearlane.errors import (
    ArtifactError,
    LegacyArtifactError,
    UntrustedArtifactError,
    ValidationError,
)
from clearlane.hs.check import REASON_CODE, check_declarations
from clearlane.hs.classifier import HSClassifier
from clearlane.hs.mixture import FEATURES
from clearlane.hs.persistence import load_classifier, save_classifier
from clearlane.hs.tariff import NationalTariff

# (description as declared, the heading it belongs to): the cold-start quality floor.
OBVIOUS = [
    ("23 BAGS X 11KGS JASMINE RICE", "1006"),
    ("1 UNIT USED 2015 TOYOTA COROLLA SALOON CAR", "8703"),
    ("men's cotton t-shirts", "6109"),
    ("frozen chicken leg quarters", "0207"),
    ("portland cement 50kg bags", "2523"),
    ("new pneumatic tyres for cars", "4011"),
    ("smartphones samsung galaxy", "8517"),
    ("laptop computers", "8471"),
    ("cigarettes containing tobacco", "2402"),
    ("refined white cane sugar", "1701"),
    ("riz brisé 25 kg", "1006"),
    ("ciment gris en sacs", "2523"),
]


def test_init_only_stores_parameters() -> None:
    model = HSClassifier(top_k=3, weights={"match": 2.0}, random_state=7)
    assert model.get_params()["top_k"] == 3
    assert not any(name.endswith("_") for name in vars(model))
    assert clone(model).get_params() == model.get_params()


def test_fit_returns_self_and_learned_attributes_end_with_underscore() -> None:
    model = HSClassifier()
    assert model.fit([]) is model
    assert hasattr(model, "classes_") and hasattr(model, "weights_")


def test_probabilities_sum_to_one_and_do_not_mutate_input(cold_model: HSClassifier) -> None:
    texts = ["laptop computers", "frozen fish"]
    copy = list(texts)
    proba = cold_model.predict_proba(texts)
    assert texts == copy
    assert proba.shape == (2, len(cold_model.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    codes, level2 = cold_model.level_proba(proba, 2)
    np.testing.assert_allclose(level2.sum(axis=1), 1.0, rtol=1e-6)
    assert all(len(c) == 2 for c in codes)


def test_cold_start_quality_floor(cold_model: HSClassifier) -> None:
    suggestions = cold_model.suggest([d for d, _ in OBVIOUS], k=3)
    hits = sum(
        gold in [c.code for c in s.hs4] for s, (_, gold) in zip(suggestions, OBVIOUS, strict=True)
    )
    assert hits / len(OBVIOUS) >= 0.75, [(s.description, s.hs4[0].code) for s in suggestions]


def test_candidates_carry_official_text_and_driving_words(cold_model: HSClassifier) -> None:
    (suggestion,) = cold_model.suggest(["men's cotton t-shirts"])
    top = suggestion.hs6[0]
    assert top.code.startswith("6109")
    assert "T-shirts" in top.text
    assert "cotton" in top.words
    assert suggestion.hs6[0].confidence >= suggestion.hs6[1].confidence


def test_history_teaches_codes_the_nomenclature_does_not_say() -> None:
    history = ["ZX-9 widgets", "ZX-9 widgets blue", "zx-9 widgets red"] * 5 + ["laptop"] * 5
    codes = ["8479.89"] * 15 + ["8471.30"] * 5
    model = HSClassifier(random_state=0).fit(history, codes)
    assert model.predict(["ZX-9 widgets green"])[0] == "847989"
    assert model.n_history_ == 20


def test_same_seed_same_result() -> None:
    history, codes = ["blue widgets", "red gadgets"] * 3, ["847989", "950300"] * 3
    a = HSClassifier(random_state=1).fit(history, codes).predict_proba(["widgets"])
    b = HSClassifier(random_state=1).fit(history, codes).predict_proba(["widgets"])
    np.testing.assert_array_equal(a, b)


def test_persistence_round_trip_and_trust(cold_model: HSClassifier, tmp_path: Path) -> None:
    path = save_classifier(cold_model, tmp_path / "artifacts" / "hs.clz")
    with pytest.raises(UntrustedArtifactError):
        load_classifier(path)
    loaded = load_classifier(path, trusted_dir=tmp_path / "artifacts")
    np.testing.assert_array_equal(
        loaded.predict_proba(["rice"]), cold_model.predict_proba(["rice"])
    )
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArtifactError, match="corrupt"):
        load_classifier(path, trusted=True)


def test_model_saved_in_an_older_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.pkl"
    header = {"format": "clearlane-hs-classifier", "format_version": 4, "sha256": ""}
    path.write_bytes(json.dumps(header).encode() + b"\n" + b"payload")
    with pytest.raises(LegacyArtifactError, match="clearlane hs train"):
        load_classifier(path, trusted=True)


def test_check_flags_car_declared_as_parts_with_duty_difference(
    cold_model: HSClassifier, tariff: NationalTariff
) -> None:
    results = check_declarations(
        cold_model,
        ["1 UNIT USED 2015 TOYOTA COROLLA SALOON CAR", "men's cotton t-shirts"],
        ["8708.99.81", "6109.10.00"],
        threshold=0.5,  # cold-start confidences are uncalibrated (no history to fit them on)
    )
    car, shirt = results
    assert car.reason is not None and car.reason.code == REASON_CODE
    assert "8703" in car.reason.text and "8708" in car.reason.text
    assert "duty 25 % vs 10 %" in car.reason.text
    assert car.reason.evidence["duty_difference_pct_points"] == 15.0
    assert shirt.reason is None
    assert car.p_wrong > shirt.p_wrong


def test_mixture_weights_are_learned_on_held_out_history() -> None:
    products = {
        "847989": "zx-9 widget",
        "950300": "blip plush toy",
        "851713": "qq handset",
        "610910": "tee shirt",
    }
    rng = np.random.default_rng(0)
    colours = ["red", "blue", "green", "black", "white", "big", "small", "set of two"]
    history, codes = [], []
    for i in range(240):
        code = list(products)[i % 4]
        history.append(f"{products[code]} {colours[int(rng.integers(len(colours)))]}")
        codes.append(code)
    model = HSClassifier(random_state=0).fit(history, codes)
    assert model.n_history_ == 240
    weights = dict(zip(FEATURES, model.weights_, strict=True))
    assert all(w >= 0 for w in weights.values())
    # History is all this data has to say: the learned mixture leans on it.
    assert weights["history_hs6"] + weights["match"] > 0
    assert list(model.predict(["qq handset yellow", "blip plush toy"])) == ["851713", "950300"]
    fixed = HSClassifier(weights={"history_hs6": 9.0}, random_state=0).fit(history, codes)
    assert dict(zip(FEATURES, fixed.weights_, strict=True))["history_hs6"] == 9.0


def test_unknown_weight_name_is_rejected_with_the_valid_ones() -> None:
    with pytest.raises(ValidationError, match="history_hs6"):
        HSClassifier(weights={"temperature": 1.0}).fit([])


def test_fit_weights_improves_likelihood_on_its_pairs(cold_model: HSClassifier) -> None:
    texts = [d for d, _ in OBVIOUS]
    codes = [
        "100630",
        "870323",
        "610910",
        "020714",
        "252329",
        "401110",
        "851713",
        "847130",
        "240220",
        "170199",
        "100640",
        "252329",
    ]
    model = copy.deepcopy(cold_model)
    target = np.searchsorted(model.classes_, codes)
    before = np.log(model.predict_proba(texts)[np.arange(len(texts)), target]).mean()
    model.fit_weights(texts, codes)
    after = np.log(model.predict_proba(texts)[np.arange(len(texts)), target]).mean()
    assert after > before
