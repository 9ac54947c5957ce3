from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clearlane.hs.text import normalise_description, stem


def test_quantities_units_and_packaging_are_removed() -> None:
    assert normalise_description("23 BAGS X 11KGS JASMINE RICE") == "jasmine rice"


def test_brands_and_abbreviations_are_expanded() -> None:
    text = normalise_description("1 UNIT USED 2015 TOYOTA COROLLA SALOON CAR")
    assert "motor car" in text and "2015" not in text
    assert "stainless steel" in normalise_description("S/S SINK")


def test_french_is_translated_and_accents_removed() -> None:
    text = normalise_description("Véhicules d'occasion, pièces détachées")
    assert "vehicle" in text and "used" in text and "spare" in text


def test_official_texts_are_not_expanded() -> None:
    assert normalise_description("Mobile cranes", expand=False) == "mobile cranes"


@given(st.text(max_size=80))
def test_normalised_text_is_lowercase_ascii_words(text: str) -> None:
    out = normalise_description(text)
    assert out == out.lower()
    assert all(c.isalnum() or c == " " for c in out)
    assert out.isascii()


def test_stem_meets_plural_and_singular() -> None:
    assert stem("shirts") == stem("shirt")
    assert stem("boxes") == "box"
    assert stem("glass") == "glass"
