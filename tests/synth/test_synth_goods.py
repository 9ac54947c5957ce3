"""The duty table and misclassification decoys."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.reference.hs_nomenclature import check_hs_code, nomenclature
from clearlane.synth.goods import DUTY_BANDS, SECTIONS, _decoy, build_catalogue, duty_rate

SUBHEADINGS = sorted(c for c, e in nomenclature().items() if e.level == 6 and e.section in SECTIONS)


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(SUBHEADINGS))
def test_duty_is_a_tariff_band_and_a_decoy_is_a_valid_cheaper_neighbour(code: str) -> None:
    assert duty_rate(code) in DUTY_BANDS
    decoy = _decoy(code)
    if decoy:
        assert check_hs_code(decoy) is None
        assert decoy != code and decoy[:2] == code[:2]
        assert duty_rate(decoy) < duty_rate(code)
    elif duty_rate(code) > 0:
        # no cheaper code anywhere in the chapter
        chapter = [c for c in SUBHEADINGS if c[:2] == code[:2]]
        assert min(duty_rate(c) for c in chapter) >= duty_rate(code)


def test_duty_table_spreads_over_bands_and_most_codes_can_be_misclassified() -> None:
    catalogue = build_catalogue(1_500, np.random.default_rng(0))
    bands = set(catalogue.duty)
    assert bands == set(DUTY_BANDS)
    assert (catalogue.decoy != "").mean() > 0.5
    assert np.isclose(catalogue.popularity.sum(), 1.0)
    assert len(set(catalogue.codes)) == len(catalogue.codes) == 1_500
