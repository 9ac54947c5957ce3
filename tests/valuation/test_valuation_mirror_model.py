from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from clearlane.errors import ValidationError
from clearlane.valuation import ExchangeRates, mirror_gaps, normalise_mirror_statistics
from clearlane.valuation.quantile_model import UnitValueQuantileModel


def test_mirror_ranks_by_value_gap(declarations):
    declared = declarations.filter(
        (pl.col("hs_code").str.starts_with("610462")) & (pl.col("origin_country") == "CN")
    )["customs_value"].sum()
    raw = pl.DataFrame(
        {
            "reporter": ["CHN", "France", "CN"],
            "partner": ["CIV", "CI", "GH"],
            "hs6": ["610462", "847130", "610462"],
            "year": [2024, 2024, 2024],
            "value": [declared + 5000.0, 1.0, 1e9],
            "quantity": [None, None, None],
        }
    )
    stats = normalise_mirror_statistics(raw)
    report = mirror_gaps(declarations, stats, rates=ExchangeRates.identity("XOF"), currency="XOF",
                         importer_country="CI")
    top = report.row(0, named=True)
    assert (top["hs6"], top["partner_country"]) == ("610462", "CN")
    assert top["value_gap"] == pytest.approx(5000.0)
    assert report["value_gap"].is_sorted(descending=True)
    assert "GH" not in report["partner_country"].to_list()


def test_mirror_rejects_unknown_country():
    raw = pl.DataFrame({"reporter": ["Atlantis"], "partner": ["CI"], "hs6": ["610462"], "year": [2024],
                        "value": [1.0]})
    with pytest.raises(ValidationError, match="Atlantis"):
        normalise_mirror_statistics(raw)


def test_quantile_model_scores_cuts_higher_and_round_trips(declarations, tmp_path):
    model = UnitValueQuantileModel(n_estimators=30, num_leaves=7, min_child_samples=5).fit(declarations)
    cut = declarations.head(40).with_columns(pl.col("customs_value") * 0.4)
    honest = model.predict_band(declarations.head(40))
    low = model.predict_band(cut)
    assert (low["model_z"] > honest["model_z"]).all()
    assert (honest["model_low"] <= honest["model_high"]).all()
    back = UnitValueQuantileModel.load(model.save(tmp_path / "artifacts" / "m.clz"),
                                       trusted_dir=tmp_path / "artifacts")
    np.testing.assert_allclose(back.predict_band(cut)["model_z"].to_numpy(), low["model_z"].to_numpy())
