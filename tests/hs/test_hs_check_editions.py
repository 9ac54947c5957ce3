"""The misclassification check reads each declared code in the HS edition in force on its date
(an HS 2017 code on a 2020 declaration is not an unknown code), and the classifier learns the
history's codes as their HS 2022 categories."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from clearlane.hs.check import check_declarations, declared_category
from clearlane.hs.classifier import HSClassifier
from clearlane.reference.hs_editions import hs2022_category
from clearlane.scoring import HSCheckScorer
from clearlane.services.hs import hs2022_training_codes, training_pairs
from clearlane.store.workspace import Workspace

FISH_FLOUR = "Flours, meals and pellets of fish, fit for human consumption"
# HS 2017 030510 (fish flours) became HS 2022 030910; 854150 was split in HS 2022.
RENUMBERED, SUCCESSOR, SPLIT = "030510", "030910", "854150"
BEFORE_2022, AFTER_2022 = date(2020, 6, 1), date(2023, 6, 1)


def test_the_editions_the_tests_rely_on() -> None:
    assert hs2022_category(RENUMBERED, BEFORE_2022) == SUCCESSOR
    assert hs2022_category(RENUMBERED, AFTER_2022) == RENUMBERED
    assert "@" in (hs2022_category(SPLIT, BEFORE_2022) or "")
    assert declared_category("03051000", BEFORE_2022) == SUCCESSOR
    assert declared_category("0305", BEFORE_2022) == "0305"


@pytest.mark.parametrize("level", [4, 6])
def test_an_older_edition_code_is_compared_through_its_hs2022_category(
        cold_model: HSClassifier, level: int) -> None:
    dated = check_declarations(cold_model, [FISH_FLOUR], [RENUMBERED + "00"], level=level,
                               declared_at=[BEFORE_2022])[0]
    successor = check_declarations(cold_model, [FISH_FLOUR], [SUCCESSOR + "00"], level=level)[0]
    assert dated.declared == RENUMBERED + "00"  # reported as declared
    assert dated.p_wrong == successor.p_wrong < 1.0
    assert dated.reason is None or dated.reason.evidence["declared_hs2022"] == SUCCESSOR


def test_without_a_date_or_after_2022_the_code_is_read_in_hs2022(
        cold_model: HSClassifier) -> None:
    undated = check_declarations(cold_model, [FISH_FLOUR], [RENUMBERED], level=6)[0]
    later = check_declarations(cold_model, [FISH_FLOUR], [RENUMBERED], level=6,
                               declared_at=[AFTER_2022])[0]
    assert undated.p_wrong == later.p_wrong == 1.0  # not an HS 2022 subheading


def test_a_split_code_is_not_checked_at_six_digits(cold_model: HSClassifier) -> None:
    text = "Photosensitive semiconductor devices, solar cells"
    six = check_declarations(cold_model, [text], [SPLIT], level=6, declared_at=[BEFORE_2022])[0]
    assert math.isnan(six.p_wrong) and six.reason is None
    four = check_declarations(cold_model, [text], [SPLIT], level=4, declared_at=[BEFORE_2022])[0]
    assert 0.0 <= four.p_wrong <= 1.0


def test_the_hs_check_scorer_passes_the_declaration_dates(cold_model: HSClassifier) -> None:
    frame = pl.DataFrame({
        "declaration_id": ["a", "b", "c"], "item_no": [1, 1, 1],
        "goods_description": [FISH_FLOUR, FISH_FLOUR, "Solar cells"],
        "hs_code": [RENUMBERED + "00", RENUMBERED + "00", SPLIT + "00"],
        "declared_at": [BEFORE_2022, AFTER_2022, BEFORE_2022],
    })
    result = HSCheckScorer(cold_model, "hs-test", level=6).score(frame)
    assert result.scored.tolist() == [True, True, False]  # the split code: not scored
    assert result.scores[0] < result.scores[1] == 1.0


def test_training_codes_are_hs2022_categories_by_date() -> None:
    frame = pl.DataFrame({
        "hs_code": ["0305.10.00", "03051000", "85415000", "61091000", "70191900"],
        "declared_at": [BEFORE_2022, AFTER_2022, BEFORE_2022, BEFORE_2022, BEFORE_2022],
    })
    assert hs2022_training_codes(frame) == [
        SUCCESSOR,  # renumbered
        "03051000",  # already HS 2022 (no such subheading: the classifier leaves it out)
        "85415000",  # split: kept, the classifier leaves it out
        "61091000",  # continues
        "701913",  # same number, other meaning in HS 2022: its 2017 meaning's successor
    ]


def test_training_pairs_reads_the_dates(workspace: Workspace,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    history = pl.DataFrame({"goods_description": [FISH_FLOUR, "T-shirts of cotton"],
                            "hs_code": ["03051000", "61091000"],
                            "declared_at": [BEFORE_2022, BEFORE_2022]})
    asked: list[list[str]] = []

    def declarations(columns: list[str], where: str | None = None) -> pl.DataFrame:
        asked.append(columns)
        return history.select(columns)

    monkeypatch.setattr(workspace, "declarations", declarations)
    texts, codes = training_pairs(workspace)
    assert "declared_at" in asked[0]
    assert texts == [FISH_FLOUR, "T-shirts of cotton"] and codes == [SUCCESSOR, "61091000"]
