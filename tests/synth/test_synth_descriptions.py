"""Goods descriptions describe the true goods, with realistic noise."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from clearlane.reference.hs_nomenclature import nomenclature
from clearlane.synth.goods import SECTIONS, content_words, description_variants

SUBHEADINGS = sorted(c for c, e in nomenclature().items() if e.level == 6 and e.section in SECTIONS)


def _words_of_code(code: str) -> set[str]:
    table = nomenclature()
    return content_words(table[code].description) | content_words(table[code[:4]].description)


@settings(max_examples=200, deadline=None)
@given(code=st.sampled_from(SUBHEADINGS))
def test_every_variant_shares_words_with_its_nomenclature_text(code: str) -> None:
    words = _words_of_code(code)
    for variant in description_variants(code):
        assert variant.strip()
        assert content_words(variant) & words, (code, variant)


def test_descriptions_match_the_true_code_not_the_declared_one(joined: pl.DataFrame) -> None:
    sample = joined.sample(5_000, seed=1)
    consistent = [
        bool(content_words(text) & _words_of_code(code))
        for text, code in zip(sample["goods_description"], sample["true_hs_code"], strict=True)
    ]
    assert sum(consistent) / len(consistent) > 0.99
    # a misclassified item keeps the description of its true goods
    mis = joined.filter(pl.col("mechanism") == "misclassification").head(300)
    own = [
        len(content_words(t) & _words_of_code(true)) - len(content_words(t) & _words_of_code(dec))
        for t, true, dec in zip(mis["goods_description"], mis["true_hs_code"], mis["hs_code"],
                                strict=True)
    ]
    assert sum(x >= 0 for x in own) / len(own) > 0.95


def test_descriptions_are_noisy_like_real_declarations(joined: pl.DataFrame) -> None:
    text = joined["goods_description"]
    upper = (text == text.str.to_uppercase()).mean()
    assert 0.2 < upper < 0.8  # both capitals and mixed case
    units = "KG|KGS|kg|PCS|UNITS|CTNS|L|LITRES|ltr|PAIRS|PRS|paires|M2"
    assert text.str.contains(rf"\d+ ({units})$").mean() > 0.3
    assert text.str.contains("PRODUITS|MACHINES ET APPAREILS|VÉHICULES|TEXTILES").mean() > 0.03
    assert text.str.contains("SAMSUNG|TECNO|TOYOTA|HP|NIKE|HUAWEI|LENOVO").mean() > 0.005
    assert text.n_unique() > 0.3 * len(text)
