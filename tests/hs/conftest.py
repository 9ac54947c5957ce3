"""Fixtures of the HS tests: one cold-start classifier per session, a tiny tariff file."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearlane.hs.classifier import HSClassifier
from clearlane.hs.tariff import NationalTariff, load_tariff

TARIFF_CSV = """HTS Number,Indent,Description,Unit of Quantity,General Rate of Duty
"8703","0","Motor cars and other motor vehicles principally designed for the transport of persons:","",""
"8703.23.01","1","With spark-ignition engine of a cylinder capacity exceeding 1,500 cc but not exceeding 3,000 cc","","25%"
"8703.23.01.10","2","New","No.",""
"8708","0","Parts and accessories of the motor vehicles of headings 8701 to 8705:","",""
"8708.99.81","1","Other parts and accessories","","10%"
"6109","0","T-shirts, singlets, tank tops and similar garments, knitted or crocheted:","",""
"6109.10.00","1","Of cotton","","16.5%"
"6109.10.00.12","2","Men's or boys' T-shirts, all white","doz.",""
"1006.30.10","0","Jasmine rice, semi-milled or wholly milled","","1.5¢/kg"
"9999.99.99","0","Not an HS 2022 code","","5%"
"""


@pytest.fixture(scope="session")
def tariff_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tariff") / "tariff.csv"
    path.write_text(TARIFF_CSV, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tariff(tariff_file: Path) -> NationalTariff:
    return load_tariff(tariff_file)


@pytest.fixture(scope="session")
def cold_model(tariff: NationalTariff) -> HSClassifier:
    return HSClassifier(tariff=tariff, random_state=0).fit([])
