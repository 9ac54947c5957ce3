from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.hs.codes import check_code, format_code, normalise_code, require_code

codes = st.text(alphabet="0123456789. -/", min_size=1, max_size=14)


@given(codes)
def test_normalise_code_is_idempotent(value: str) -> None:
    once = normalise_code(value)
    assert normalise_code(once) == once


@given(st.from_regex(r"\A[0-9]{6}(?:[0-9]{2}){0,2}\Z"))
def test_format_then_normalise_round_trips(digits: str) -> None:
    assert normalise_code(format_code(digits)) == digits


@given(st.from_regex(r"\A[0-9]{6}\Z"))
def test_national_extension_has_the_validity_of_its_subheading(digits: str) -> None:
    assert check_code(digits + "0000").valid == check_code(digits).valid


def test_messages_name_the_code_and_what_exists() -> None:
    assert check_code("8517.13").message.startswith("8517.13 is a valid subheading")
    wrong = check_code("8517.19")
    assert not wrong.valid
    assert "8517.19 does not exist in HS 2022" in wrong.message
    assert "8517.13" in wrong.message
    assert check_code("8517.13.00.10").valid
    assert "national code" in check_code("8517130010").message
    assert not check_code("9999").valid
    assert check_code("85").valid  # chapter 85 exists


def test_spreadsheet_lost_zero_is_restored() -> None:
    assert normalise_code(10121) == "010121"


def test_require_code_raises_validation_error() -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        require_code("8517.19")
    assert require_code("8517.13") == "851713"
