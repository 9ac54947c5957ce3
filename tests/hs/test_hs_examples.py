from __future__ import annotations

from pathlib import Path

import pytest

from clearlane.errors import NotFoundError, ValidationError
from clearlane.hs.classifier import HSClassifier
from clearlane.hs.examples import load_examples

EXAMPLES_CSV = """hs6_code,hs4_code,category,product_description
010121,0101,Horses,"Pure-bred Arabian mare, registered for breeding"
950300,9503,Toys,Zorblax spinning gizmo for kids
99999,9999,Nothing,not an HS 2022 subheading
851713,8517,Phones,
"""


@pytest.fixture
def examples_file(tmp_path: Path) -> Path:
    path = tmp_path / "examples.csv"
    path.write_text(EXAMPLES_CSV, encoding="utf-8")
    return path


def test_load_examples_keeps_valid_rows_with_category(examples_file: Path) -> None:
    examples = load_examples(examples_file)
    assert examples.codes == ("010121", "950300")
    assert examples.texts[1] == "Toys Zorblax spinning gizmo for kids"
    assert examples.name == "examples"


def test_load_examples_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"missing\.csv"):
        load_examples(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="code column"):
        load_examples(bad)


def test_examples_teach_product_words(examples_file: Path) -> None:
    model = HSClassifier(examples=load_examples(examples_file), random_state=0).fit([])
    assert model.predict(["zorblax gizmo"])[0] == "950300"
