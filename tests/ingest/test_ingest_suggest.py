"""`profile suggest`: one-to-one mapping with confidence and reasons, the ASYCUDA/French
vocabulary, the pairs it must never make, and date formats decided from the data."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from clearlane.cli.main import app
from clearlane.ingest.profile import parse_profile
from clearlane.ingest.suggest import (
    name_score,
    national_currency_from_names,
    suggest_columns,
    suggest_profile,
)
from clearlane.ingest.suggest_content import (
    ITEM_EXTRACT,
    describe_column,
    guess_date_format,
    yes_no_values,
)
from clearlane.schema.fields import FIELDS_BY_NAME
from clearlane.synth import SynthConfig, generate
from clearlane.synth.asycuda_export import AsycudaExportOptions, asycuda_frame

PEOPLE = ["KONE Aminata", "TRAORE Jean", "DIALLO Fatou", "BAMBA Moussa", "YAO Koffi"]
COMPANIES = ["SAHEL TRADING SARL", "ATLANTIC DISTRIBUTION SA", "BAOBAB NEGOCE ETS",
             "DELTA FREIGHT LTD", "IVOIRE COMMERCE GENERAL SA"]


def mapping(sample: pl.DataFrame) -> dict[str, str]:
    """Source column → suggested field, for the mapped columns."""
    return {s.column: s.field for s in suggest_columns(sample) if s.field}


@pytest.fixture(scope="module")
def asycuda_sample() -> pl.DataFrame:
    return asycuda_frame(generate(SynthConfig(n_items=500, seed=9, days=30)))


ASYCUDA_EXPECTED = {
    "SAD Number": "declaration_id",
    "Item": "item_no",
    "Reg. Date": "declared_at",
    "Office": "office_id",
    "Declarant Code": "declarant_id",
    "Importer TIN": "importer_id",
    "Exporter Code": "exporter_id",
    "Commodity Code": "hs_code",
    "Description": "goods_description",
    "Country of Origin": "origin_country",
    "Country of Export": "departure_country",
    "Mode of Transport": "transport_mode",
    "Supp. Units": "quantity",
    "Supp. Unit Code": "quantity_unit",
    "Net Mass (kg)": "net_mass_kg",
    "Gross Mass (kg)": "gross_mass_kg",
    "CIF Value": "customs_value",
    "FOB Value": "fob_value",
    "Currency": "currency",
    "Duty Rate %": "tax_rate",
    "Total Taxes": "taxes_paid",
    "Examined": "inspected",
    "Selection Basis": "inspection_basis",
    "Inspection Result": "fraud",
    "Additional Taxes (Inspection)": "revenue_recovered",
    "Inspection Findings": "finding",
    "Inspection Date": "inspected_at",
    "Inspector Code": "officer_id",
}


def test_asycuda_layout_is_mapped_field_by_field(asycuda_sample: pl.DataFrame) -> None:
    assert mapping(asycuda_sample) == ASYCUDA_EXPECTED


def test_assignment_is_one_to_one_and_independent_of_column_order(
    asycuda_sample: pl.DataFrame,
) -> None:
    columns = list(asycuda_sample.columns)
    random.Random(4).shuffle(columns)
    shuffled = mapping(asycuda_sample.select(columns))
    assert shuffled == ASYCUDA_EXPECTED
    # Three date columns, one declaration date.
    dates = pl.DataFrame({
        "Date": ["2024-01-02"] * 3, "Reg. Date": ["2024-01-02"] * 3,
        "Assessment Date": ["2024-01-03"] * 3,
    })
    fields = list(mapping(dates).values())
    assert fields.count("declared_at") == 1 and len(fields) == len(set(fields))


@settings(max_examples=30)
@given(st.lists(st.sampled_from(sorted(ASYCUDA_EXPECTED)), min_size=1, max_size=10, unique=True))
def test_any_subset_maps_each_field_at_most_once(columns: list[str]) -> None:
    sample = pl.DataFrame({c: ["x1", "x2"] for c in columns})
    fields = [s.field for s in suggest_columns(sample) if s.field]
    assert len(fields) == len(set(fields))


def test_every_column_has_a_confidence_and_a_reason(asycuda_sample: pl.DataFrame) -> None:
    suggestion = suggest_profile(asycuda_sample, "export")
    for s in suggestion.columns:
        assert s.why
        assert (0 < s.confidence <= 1) if s.field else s.confidence == 0
    # The YAML carries them as comments and parses back to the same profile.
    for s in suggestion.columns:
        line = next(line for line in suggestion.yaml_text.splitlines()
                    if (f"  {s.field}:" in line if s.field else f"#   {s.column}:" in line))
        assert (f"# {s.score:.2f}: " in line) if s.field else "kept as extra" in line
    assert parse_profile(suggestion.yaml_text) == suggestion.profile


def test_name_columns_are_never_identifiers() -> None:
    # By name: "Importer Name" next to nothing else for the importer.
    sample = pl.DataFrame({"Importer Name": COMPANIES, "Declarant Name": COMPANIES[::-1],
                           "Inspector Name": PEOPLE})
    assert mapping(sample) == {}
    # By content: columns named like ids that hold person or company names.
    sample = pl.DataFrame({"Declaration": PEOPLE, "Importer": COMPANIES, "Officer": PEOPLE,
                           "Date": ["2024-01-0" + str(i) for i in range(1, 6)]})
    found = mapping(sample)
    assert not set(found.values()) & {"declaration_id", "importer_id", "officer_id"}
    reasons = {s.column: s.why for s in suggest_columns(sample)}
    assert "names" in reasons["Importer"]
    # ... and the missing required field is named as a decision.
    suggestion = suggest_profile(sample, "x")
    assert not suggestion.ingests_as_is
    assert any(d.field == "declaration_id" for d in suggestion.decisions)


def test_office_is_not_an_officer() -> None:
    sample = pl.DataFrame({"Office": ["CIAB1", "CIAB2", "CIAB1"], "Bureau de douane": ["A", "B", "C"]})
    found = mapping(sample)
    assert "officer_id" not in found.values()
    assert list(found.values()).count("office_id") == 1
    assert name_score("Office", "officer_id") > 0.6  # spelled alike: only the rule keeps them apart
    both = pl.DataFrame({"Office Code": ["CIAB1", "CIAB2"], "Officer": ["U0031", "U0032"]})
    assert mapping(both) == {"Office Code": "office_id", "Officer": "officer_id"}


def test_exchange_rate_is_not_a_tax_rate() -> None:
    for name in ("Exchange Rate", "Taux de change", "Exch. Rate"):
        sample = pl.DataFrame({name: ["655.957", "600.0", "1.0"]})
        assert mapping(sample) == {}, name
    both = pl.DataFrame({"Exchange Rate": ["655.957", "600.0"], "Rate": ["20", "5"]})
    assert mapping(both) == {"Rate": "tax_rate"}


def test_tax_raised_by_inspection_is_not_the_tax_paid() -> None:
    sample = pl.DataFrame({"Additional Taxes (Inspection)": ["1200", "0"],
                           "Droits redressés": ["5", "0"]})
    found = mapping(sample)
    assert "taxes_paid" not in found.values()
    assert found.get("Additional Taxes (Inspection)") == "revenue_recovered"
    with_total = pl.DataFrame({"Tax raised by inspection": ["1200", "0"],
                               "Total Taxes": ["50000", "7000"]})
    assert mapping(with_total) == {"Total Taxes": "taxes_paid",
                                   "Tax raised by inspection": "revenue_recovered"}


def test_french_headers() -> None:
    sample = pl.DataFrame({
        "Bureau": ["CIAB1", "CIAB2", "CIAB1"],
        "N° Déclaration": ["2024 CIAB1 C 1", "2024 CIAB2 C 1", "2024 CIAB1 C 2"],
        "Date d'enregistrement": ["03/02/2024", "25/02/2024", "04/03/2024"],
        "N° Article": ["1", "1", "1"],
        "NIF Importateur": ["CI0012345A", "CI0098765B", "CI0012345A"],
        "Nom Importateur": COMPANIES[:3],
        "Code commissionnaire": ["C0101", "C0202", "C0101"],
        "Position tarifaire": ["1006.30.00.00", "8517.13.00.00", "3004.90.00.00"],
        "Désignation commerciale": ["Riz blanchi long grain en sacs",
                                    "Téléphones portables intelligents",
                                    "Médicaments conditionnés pour la vente"],
        "Pays d'origine": ["TH", "CN", "FR"],
        "Pays de provenance": ["TH", "AE", "FR"],
        "Poids net": ["25000", "120.5", "300"],
        "Valeur CAF": ["15000000", "9000000", "4500000"],
        "Valeur FOB": ["14000000", "8500000", "4300000"],
        "Devise": ["USD", "USD", "EUR"],
        "Taux de change": ["600", "600", "655.957"],
        "Droits et taxes": ["4000000", "2500000", "800000"],
        "Circuit": ["Rouge", "Vert", "Jaune"],
        "Résultat de la visite": ["Non conforme", "Conforme", "Conforme"],
        "Droits redressés": ["1500000", "0", "0"],
    })
    assert mapping(sample) == {
        "Bureau": "office_id",
        "N° Déclaration": "declaration_id",
        "Date d'enregistrement": "declared_at",
        "N° Article": "item_no",
        "NIF Importateur": "importer_id",
        "Code commissionnaire": "declarant_id",
        "Position tarifaire": "hs_code",
        "Désignation commerciale": "goods_description",
        "Pays d'origine": "origin_country",
        "Pays de provenance": "departure_country",
        "Poids net": "net_mass_kg",
        "Valeur CAF": "customs_value",
        "Valeur FOB": "fob_value",
        "Devise": "currency",
        "Droits et taxes": "taxes_paid",
        "Résultat de la visite": "fraud",
        "Droits redressés": "revenue_recovered",
    }
    by_column = {s.column: s for s in suggest_columns(sample)}
    assert by_column["Résultat de la visite"].options == {
        "true_values": ["Non conforme"], "false_values": ["Conforme"]}
    assert by_column["Date d'enregistrement"].options == {"format": "%d/%m/%Y"}
    assert "lane" in by_column["Circuit"].why  # kept, and said why


def test_mena_transliterations() -> None:
    sample = pl.DataFrame({"Raqm al Bayan": ["B-1", "B-2"], "Tarikh al Bayan": ["2024-01-02"] * 2,
                           "Mustawrid": ["T100", "T200"], "Bilad al Mansha": ["EG", "SA"]})
    assert mapping(sample) == {"Raqm al Bayan": "declaration_id",
                               "Tarikh al Bayan": "declared_at", "Mustawrid": "importer_id",
                               "Bilad al Mansha": "origin_country"}


@pytest.mark.parametrize(
    ("values", "formats", "ambiguous"),
    [
        (["03-Feb-19", "28-Dec-24", "01-JAN-20"], ("%d-%b-%y",), False),
        (["2024-02-03T10:15:00+00:00", "2024-02-04T09:00:00+01:00", "2024-02-05T23:59:59Z"],
         ("%Y-%m-%dT%H:%M:%S%#z",), False),
        (["2024-02-03", "2024-12-31"], ("%Y-%m-%d",), False),
        (["03/02/2024", "25/02/2024"], ("%d/%m/%Y",), False),  # 25 can only be a day
        (["02/03/2024", "02/25/2024"], ("%m/%d/%Y",), False),  # ... here in second place
        (["03/02/2024", "04/05/2024"], ("%d/%m/%Y",), True),  # nothing above 12: a decision
        (["2024-02-03", "03/02/2024", "25/12/2023"], ("%d/%m/%Y", "%Y-%m-%d"), False),
    ],
)
def test_date_formats_from_the_data(values: list[str], formats: tuple[str, ...],
                                    ambiguous: bool) -> None:
    guess = guess_date_format(values)
    assert guess is not None
    assert guess.formats == formats
    assert guess.ambiguous_order is ambiguous
    assert guess.share == 1.0


def test_not_dates() -> None:
    assert guess_date_format(["10059000", "85171300", "30049000"]) is None  # HS codes
    assert guess_date_format(["SAHEL TRADING SARL"]) is None


def test_ambiguous_day_month_order_is_a_named_decision() -> None:
    sample = pl.DataFrame({"Declaration Number": ["A1", "A2"], "Date": ["03/02/2024", "04/05/2024"],
                           "HS Code": ["851713", "100630"]})
    suggestion = suggest_profile(sample, "x")
    decision = next(d for d in suggestion.decisions if d.field == "declared_at")
    assert decision.blocking and "%m/%d/%Y" in decision.message and "'Date'" in decision.message
    assert "DECIDE declared_at" in suggestion.yaml_text
    decided = pl.DataFrame({"Declaration Number": ["A1", "A2"], "Date": ["03/02/2024", "04/25/2024"],
                            "HS Code": ["851713", "100630"]})
    suggestion = suggest_profile(decided, "x")
    assert suggestion.ingests_as_is
    assert suggestion.profile.columns["declared_at"].format == "%m/%d/%Y"


def test_transforms_proposed_from_the_data() -> None:
    sample = pl.DataFrame({"Item": ["1 of 3", "2 of 3", "3 of 3"],
                           "Country of Origin": ["C0417", "C0012", "C0417"]})
    by_column = {s.column: s for s in suggest_columns(sample)}
    assert by_column["Item"].field == "item_no"
    assert by_column["Item"].options == {"extract": ITEM_EXTRACT}
    assert by_column["Country of Origin"].options == {"codes": "keep"}


@pytest.mark.parametrize(
    ("values", "yes"),
    [
        (["No discrepancy", "Discrepancy found"], ["Discrepancy found"]),
        (["Conforme", "Non conforme"], ["Non conforme"]),
        (["RAS", "Infraction constatée"], ["Infraction constatée"]),
        (["N", "Y"], ["Y"]),
        (["0", "1"], ["1"]),
    ],
)
def test_yes_no_values(values: list[str], yes: list[str]) -> None:
    split = yes_no_values(values)
    assert split is not None and split[0] == yes
    assert sorted(split[0] + split[1]) == sorted(values)


def test_unclear_yes_no_is_a_decision() -> None:
    assert yes_no_values(["Red", "Green"]) is None
    sample = pl.DataFrame({"Declaration ID": ["A", "B"], "Date": ["2024-01-02"] * 2,
                           "HS": ["851713"] * 2, "Fraud": ["Type A", "Type B"]})
    columns = {s.column: s for s in suggest_columns(sample)}
    assert columns["Fraud"].field is None and "not yes/no" in columns["Fraud"].why


def test_pseudonymised_export_without_outcomes() -> None:
    frame = asycuda_frame(generate(SynthConfig(n_items=300, seed=2, days=20)),
                          AsycudaExportOptions(with_outcomes=False, pseudonymised_countries=True))
    found = mapping(frame)
    expected = {c: f for c, f in ASYCUDA_EXPECTED.items() if c in frame.columns}
    assert found == expected
    outcome = {f for f in found.values() if FIELDS_BY_NAME[f].outcome}
    assert outcome == set()


def test_national_currency_from_column_names() -> None:
    assert national_currency_from_names(["Currency", "CIF Value (XOF)"]) == (
        "XOF", "CIF Value (XOF)")
    assert national_currency_from_names(["Valeur CAF XAF", "Devise"]) == ("XAF", "Valeur CAF XAF")
    assert national_currency_from_names(["Currency (USD)", "ALL taxes", "VAT"]) is None


def test_numbers_with_a_decimal_comma_are_numbers() -> None:
    content = describe_column(pl.Series(["1 234,50", "17,5", "3.000,25"]))
    assert content.numeric == 1.0 and content.decimal_comma
    assert content.maximum == 3000.25
    assert not describe_column(pl.Series(["1,234.50", "17.5"])).decimal_comma


def test_cli_shows_confidence_reasons_and_decisions(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    pl.DataFrame({
        "N° Déclaration": ["2024 CIAB1 C 1", "2024 CIAB1 C 2"],
        "Date d'enregistrement": ["03/02/2024", "04/05/2024"],
        "Position tarifaire": ["1006.30.00.00", "8517.13.00.00"],
        "Nom Importateur": COMPANIES[:2],
        "Taux de change": ["655.957", "600"],
    }).write_csv(export)
    out = tmp_path / "suggested.yaml"
    result = CliRunner().invoke(
        app, ["profile", "suggest", str(export), "--out", str(out)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "confidence" in result.output and "reason" in result.output
    assert "an exchange rate is not a tax rate" in result.output
    assert "Needs a decision declared_at" in result.output
    assert "settle the decisions above" in result.output
    text = out.read_text(encoding="utf-8")
    assert "# DECIDE declared_at" in text and "declaration_id: N° Déclaration  # " in text


def test_asycuda_database_names() -> None:
    sample = pl.DataFrame({
        "KEY_CUO": ["CIAB1", "CIAB2"], "SAD_REG_NBER": ["123", "124"],
        "SAD_REG_DATE": ["03-FEB-24", "04-FEB-24"], "SAD_CONSIGNEE": ["CI001A", "CI002B"],
        "KEY_DEC": ["D01", "D02"], "SAD_EXPORTER": ["SHENZHEN TRADING CO LTD", "ACME EXPORT GMBH"],
        "ITM_NBER": ["1", "2"], "SADITM_HS_COD": ["851713", "100630"],
        "SADITM_CTY_ORIGCOD": ["CN", "TH"], "SAD_CUR_COD": ["USD", "USD"],
        "SAD_TOTAL_TAXES": ["300000", "200000"], "SAD_CLR": ["R", "G"],
    })
    assert mapping(sample) == {
        "KEY_CUO": "office_id", "SAD_REG_NBER": "declaration_id", "SAD_REG_DATE": "declared_at",
        "SAD_CONSIGNEE": "importer_id", "KEY_DEC": "declarant_id", "ITM_NBER": "item_no",
        "SADITM_HS_COD": "hs_code", "SADITM_CTY_ORIGCOD": "origin_country",
        "SAD_CUR_COD": "currency", "SAD_TOTAL_TAXES": "taxes_paid",
    }  # the exporter's name is not its code; the lane colour has no canonical field


def test_a_key_that_repeats_in_the_sample_is_a_decision() -> None:
    # Registration numbers restart per office: 123 at two offices.
    sample = pl.DataFrame({"Office": ["CIAB1", "CIAB2"], "Reg. Number": ["123", "123"],
                           "Reg. Date": ["2024-02-03"] * 2, "HS Code": ["851713", "100630"]})
    suggestion = suggest_profile(sample, "x")
    assert suggestion.profile.columns["declaration_id"].column == "Reg. Number"
    decision = next(d for d in suggestion.decisions if d.field == "declaration_id")
    assert decision.blocking and "share a key" in decision.message
