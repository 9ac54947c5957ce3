from __future__ import annotations

from pathlib import Path

import pytest

from clearlane.errors import NotFoundError, ValidationError
from clearlane.hs.concordance import load_concordance
from clearlane.hs.tariff import NationalTariff, load_tariff, parse_rate


def test_lines_carry_parent_texts_and_inherited_rates(tariff: NationalTariff) -> None:
    line = tariff.line("6109.10.00.12")
    assert line is not None
    assert "T-shirts" in line.full_text and "Of cotton" in line.full_text
    assert line.rate_percent == 16.5  # inherited from 6109.10.00
    assert tariff.rate("870323") == 25.0
    assert tariff.rate("8708990000") == 10.0
    assert tariff.rate("100630") is None  # specific rate, not ad valorem
    assert tariff.line("9999999900") is None  # not HS 2022: skipped


def test_parse_rate() -> None:
    assert parse_rate("Free") == 0.0
    assert parse_rate("6.2%") == 6.2
    assert parse_rate("2.4¢/kg") is None


def test_plain_layout_and_bad_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("code,description,duty_rate\n8517130000,Smartphones,20%\n", encoding="utf-8")
    assert load_tariff(plain).rate("851713") == 20.0
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="code column"):
        load_tariff(bad)
    with pytest.raises(NotFoundError):
        load_tariff(tmp_path / "missing.csv")


def test_concordance_maps_splits(tmp_path: Path) -> None:
    path = tmp_path / "hs2017_2022.csv"
    path.write_text("HS2017,HS2022\n851712,851713\n851712,851714\n", encoding="utf-8")
    concordance = load_concordance(path)
    assert concordance.map("8517.12") == ("851713", "851714")
    assert concordance.is_split("851712")
    assert concordance.map("010121") == ("010121",)
