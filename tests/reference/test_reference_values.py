from __future__ import annotations

import pycountry
from hypothesis import given
from hypothesis import strategies as st

from clearlane.reference.countries import is_user_assigned, normalise_country
from clearlane.reference.currencies import normalise_currency
from clearlane.reference.hs_nomenclature import check_hs_code, codes_at_level, digits_only

ALPHA2 = sorted(c.alpha_2 for c in pycountry.countries)


@given(st.sampled_from(ALPHA2))
def test_country_forms_agree(alpha2: str) -> None:
    country = pycountry.countries.get(alpha_2=alpha2)
    assert normalise_country(alpha2) == alpha2
    assert normalise_country(alpha2.lower()) == alpha2
    assert normalise_country(country.alpha_3) == alpha2
    assert normalise_country(country.name.upper()) == alpha2


@given(st.text(max_size=12))
def test_country_normalisation_is_idempotent(text: str) -> None:
    once = normalise_country(text)
    if once is not None:
        assert normalise_country(once) == once


def test_common_country_names() -> None:
    assert normalise_country("South Korea") == "KR"
    assert normalise_country("Côte d'Ivoire") == "CI"
    assert normalise_country("United States") == "US"
    assert normalise_country("Atlantis") is None
    assert is_user_assigned("zz") and not is_user_assigned("XK")


def test_currency() -> None:
    assert normalise_currency("krw") == "KRW"
    assert normalise_currency("952") == "XOF"
    assert normalise_currency("ABC") is None


@given(st.sampled_from(sorted(codes_at_level(6))), st.sampled_from(["", ".", " "]))
def test_valid_subheadings_pass_with_any_separator(code: str, sep: str) -> None:
    written = f"{code[:4]}{sep}{code[4:]}"
    assert digits_only(written) == code
    assert check_hs_code(digits_only(written)) is None
    assert check_hs_code(code + "0099") is None  # national 10-digit line


def test_hs_messages_name_the_level() -> None:
    assert check_hs_code("851719") == (
        "subheading 8517.19 does not exist in HS 2022 (heading 8517 exists)"
    )
    assert "chapter 77" in (check_hs_code("770000") or "")
    assert "6 to 10 digits" in (check_hs_code("8517") or "")
