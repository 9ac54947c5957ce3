"""The shipped questionnaires and catalogues, and schema validation with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clearlane.errors import ValidationError
from clearlane.readiness.catalogue import Catalogue, available_languages, check_complete
from clearlane.readiness.questionnaire import (
    check_texts,
    load_impact_questionnaire,
    load_questionnaire,
)
from clearlane.readiness.records import assessment_from_dict

AREAS = ["strategy", "governance", "data", "technical", "skills", "legal"]


def test_v1_has_the_six_areas_with_six_to_eight_questions() -> None:
    q = load_questionnaire()
    assert [a.id for a in q.areas] == AREAS
    assert all(6 <= len(a.questions) <= 8 for a in q.areas)
    assert len({x.id for x in q.questions}) == len(q.questions)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_catalogue_covers_every_text(lang: str) -> None:
    catalogue = Catalogue.load(lang)
    check_complete(catalogue, lang)
    check_texts(load_questionnaire(), load_impact_questionnaire(), catalogue, lang)
    # Five distinct evidence descriptors for every question.
    for q in load_questionnaire().questions:
        levels = [catalogue.level_text(q.id, lv) for lv in range(5)]
        assert len(set(levels)) == 5, q.id


def test_french_is_really_translated() -> None:
    en, fr = Catalogue.load("en"), Catalogue.load("fr")
    assert {"en", "fr"} <= set(available_languages())
    identical_in_both = {"steps/infrastructure"}  # the same word in English and French
    same = [k for k in en.keys - identical_in_both if en.get(k) == fr.get(k) and len(en.get(k)) > 12]
    assert not same, same


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_schema_errors_name_file_question_and_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, {
        "kind": "readiness-questionnaire", "version": 2,
        "areas": [{"id": "data", "questions": [
            {"id": "data.a", "step": "pilot_testing"},
            {"id": "data.a", "step": "launch", "weight": -1},
            {"id": "data.b", "step": "infrastructure", "colour": "red"},
        ]}, {"id": "empty", "questions": []}],
    })
    with pytest.raises(ValidationError) as info:
        load_questionnaire(path=path)
    message = str(info.value)
    assert str(path) in message
    assert "question data.a" in message and "duplicate id" in message
    assert "'launch'" in message and "data_standardisation" in message  # lists valid steps
    assert "question data.a.weight" in message and "positive number" in message
    assert "unknown keys" in message and "colour" in message
    assert "area empty.questions" in message
    assert len(info.value.problems) == 5


def test_wrong_kind_and_bad_thresholds(tmp_path: Path) -> None:
    path = _write(tmp_path, {"kind": "something", "version": 0, "stage_thresholds": [50, 20, 70],
                             "areas": [{"id": "x", "questions": [{"id": "x.1",
                                                                  "step": "governance"}]}]})
    with pytest.raises(ValidationError) as info:
        load_questionnaire(path=path)
    fields = {p.field for p in info.value.problems}
    assert fields == {"kind", "version", "stage_thresholds"}


def test_valid_custom_questionnaire_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, {"kind": "readiness-questionnaire", "version": 7, "areas": [
        {"id": "x", "questions": [{"id": "x.1", "step": "governance", "weight": 2}]}]})
    q = load_questionnaire(path=path)
    assert q.version == 7 and q.questions[0].weight == 2.0 and q.questions[0].phase == "foundations"


def test_catalogue_missing_texts_are_listed() -> None:
    catalogue = Catalogue("xx", {"questions": {"data.digital": {"text": "only text"}}})
    with pytest.raises(ValidationError) as info:
        check_texts(load_questionnaire(), None, catalogue, "xx.yaml")
    missing = {p.field for p in info.value.problems}
    assert "questions/data.digital/levels/0" in missing
    assert "questions/data.digital/text" not in missing
    assert all(p.source == "xx.yaml" for p in info.value.problems)


def test_impact_questionnaire_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, {"kind": "impact-questionnaire", "risk": [
        {"id": "risk.a", "options": {"only": 1}}], "mitigation": [
        {"id": "mitigation.a", "points": 0}], "obligations": {1: []}})
    with pytest.raises(ValidationError) as info:
        load_impact_questionnaire(path=path)
    message = str(info.value)
    assert "question risk.a.options" in message
    assert "question mitigation.a.points" in message
    assert "obligations" in message


def test_answer_validation_names_question_and_value() -> None:
    q = load_questionnaire()
    with pytest.raises(ValidationError) as info:
        assessment_from_dict({"administration": "X", "answers": {
            "data.digital": 7, "data.nope": 1, "legal.basis": {"level": "high"}}}, q, "a.yaml")
    message = str(info.value)
    assert "a.yaml" in message
    assert "question data.digital.level" in message and "7" in message
    assert "question data.nope" in message and "unknown question id" in message
    assert "question legal.basis.level" in message


def test_answers_accept_dont_know_spellings() -> None:
    a = assessment_from_dict({"administration": "X", "answers": {
        "data.digital": None, "data.standards": "?", "data.outcomes": {"level": 2,
                                                                       "evidence": "reg. 12"}}},
        load_questionnaire())
    assert a.levels() == {"data.digital": None, "data.standards": None, "data.outcomes": 2}
    assert a.answers["data.outcomes"].evidence == "reg. 12"
