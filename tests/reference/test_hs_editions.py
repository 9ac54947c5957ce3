"""HS editions by date, the shipped UNSD tables, and mapping old codes forward to HS 2022."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.errors import ValidationError
from clearlane.reference.hs_editions import (
    DEFAULT_EDITIONS,
    SPLIT_TAG,
    check_hs_code,
    configured_editions,
    date_dependent_codes,
    edition_on,
    forward_changes,
    hs2022_categories,
    hs2022_category,
    hs2022_category_expr,
    hs2022_code,
    parse_editions,
    subheadings,
    to_hs2022,
)
from clearlane.reference.hs_nomenclature import codes_at_level
from clearlane.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEFAULT = parse_editions(DEFAULT_EDITIONS)
HS2022 = sorted(subheadings("2022"))
DAYS = st.dates(min_value=date(2005, 1, 1), max_value=date(2030, 12, 31))


# -- editions by date ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "edition"),
    [
        (date(2010, 6, 1), "2012"),  # before the earliest edition: the earliest one
        (date(2012, 1, 1), "2012"),
        (date(2016, 12, 31), "2012"),
        (date(2017, 1, 1), "2017"),
        (date(2021, 12, 31), "2017"),
        (date(2022, 1, 1), "2022"),
        (date(2026, 3, 1), "2022"),
        (None, "2022"),
    ],
)
def test_edition_on_default_dates(day: date | None, edition: str) -> None:
    assert DEFAULT.edition_on(day) == edition


def test_setting_default_is_the_module_default() -> None:
    assert Settings.model_fields["hs_editions"].default == DEFAULT_EDITIONS


def test_configured_dates_are_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLANE_HS_EDITIONS", "2017=2017-01-01, HS2022=2022-07-01")
    assert edition_on(date(2022, 6, 30)) == "2017"
    assert edition_on(date(2022, 7, 1)) == "2022"
    assert edition_on(date(2015, 1, 1)) == "2017"  # HS 2012 not listed: the earliest listed
    monkeypatch.delenv("CLEARLANE_HS_EDITIONS")
    assert edition_on(date(2022, 6, 30)) == "2022"
    assert configured_editions() == DEFAULT


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2007=2007-01-01", "unknown HS edition"),
        ("2017=1 Jan 2017", "EDITION=YYYY-MM-DD"),
        ("2017=2017-01-01,2022=2016-01-01", "must come into force after"),
        ("2017=2017-01-01,2017=2018-01-01", "given twice"),
        ("", "at least one edition"),
    ],
)
def test_bad_setting_names_the_problem(text: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        parse_editions(text)


@given(DAYS)
def test_vectorised_edition_matches_edition_on(day: date) -> None:
    frame = pl.DataFrame({"d": [day]})
    assert frame.select(DEFAULT.expr(pl.col("d"))).item() == DEFAULT.edition_on(day)


# -- checking against the edition in force -------------------------------------------------
def test_check_by_date() -> None:
    assert check_hs_code("8541.50", on=date(2020, 6, 15)) is None
    assert check_hs_code("85415000", on=date(2020, 6, 15)) is None  # national code: 6 digits
    assert "8541.50 does not exist in HS 2022" in (check_hs_code("854150", on=date(2023, 1, 2)) or "")
    assert "8541.51 does not exist in HS 2017" in (check_hs_code("854151", on=date(2020, 1, 2)) or "")
    assert "does not exist in HS 2012" in (check_hs_code("851713", on=date(2015, 1, 2)) or "")


def test_hs2022_list_is_the_nomenclature_the_product_uses() -> None:
    assert subheadings("2022") == codes_at_level(6)


# -- mapping forward ---------------------------------------------------------------------------
def test_one_to_one_maps_directly() -> None:
    renumbered = to_hs2022("3002.20", "2017")  # vaccines for human medicine → 3002.41
    assert (renumbered.category, renumbered.split, renumbered.relationship) == (
        "300241", False, "renumbered"
    )
    assert renumbered.hs2022 == "300241"
    continuing = to_hs2022("010121", "2012")
    assert (continuing.category, continuing.relationship) == ("010121", "continues")


def test_a_split_keeps_the_old_code_and_says_so() -> None:
    split = to_hs2022("8517.12", "2017")  # telephones for cellular networks → 8517.13 / .14
    assert split.split and split.relationship == "split"
    assert split.category == f"851712{SPLIT_TAG}2017"
    assert split.hs2022 is None
    assert {"851713", "851714"} <= set(split.candidates)
    assert "851712" not in subheadings("2022")


def test_known_defects_are_handled() -> None:
    # HS2017 300219 is absent from the UNSD table: a split over its siblings' successors.
    absent = to_hs2022("300219", "2017")
    assert absent.split and absent.category == f"300219{SPLIT_TAG}2017"
    assert {"300213", "300214", "300215"} <= set(absent.candidates)
    # HS2017 854150 is linked by UNSD only to 8549.xx: patched to 8541.51 / 8541.59.
    photo = to_hs2022("854150", "2017")
    assert photo.split and photo.candidates == ("854151", "854159")
    # HS2017 911490 lacks its self-link in the UNSD table: it continues.
    assert to_hs2022("911490", "2017").category == "911490"


def test_two_steps_from_hs2012() -> None:
    # a split in 2017 → 2022 is tagged with that edition, whatever edition the row was in
    assert to_hs2022("854150", "2012").category == to_hs2022("854150", "2017").category
    assert to_hs2022("300220", "2012").category == "300241"


@given(st.sampled_from(HS2022), st.dates(min_value=date(2022, 1, 1), max_value=date(2035, 1, 1)))
def test_hs2022_code_on_a_2022_date_is_the_identity(code: str, day: date) -> None:
    assert to_hs2022(code, "2022").category == code
    assert hs2022_category(code, day, DEFAULT) == code
    frame = pl.DataFrame({"h": [code], "d": [day]})
    assert frame.select(hs2022_category_expr(pl.col("h"), pl.col("d"), DEFAULT)).item() == code


@given(st.sampled_from(sorted(subheadings("2017"))))
def test_every_old_code_has_a_category_and_candidates_in_hs2022(code: str) -> None:
    forward = to_hs2022(code, "2017")
    assert forward.candidates and set(forward.candidates) <= subheadings("2022")
    if forward.split:
        assert forward.category == f"{code}{SPLIT_TAG}2017"
    else:
        assert forward.category in subheadings("2022")


def test_changes_hold_only_codes_that_move() -> None:
    changes = forward_changes("2017")
    assert changes["300220"] == "300241" and "010121" not in changes
    assert all(k != v for k, v in changes.items())


@given(st.lists(st.tuples(st.sampled_from(sorted(forward_changes("2017"))[:50] + HS2022[:50]), DAYS),
                min_size=1, max_size=30))
def test_frame_and_record_paths_agree(rows: list[tuple[str, date]]) -> None:
    frame = pl.DataFrame({"h": [r[0] for r in rows], "d": [r[1] for r in rows]})
    mapped = hs2022_categories(frame, "h", "d", DEFAULT).to_list()
    assert mapped == [hs2022_category(h, d, DEFAULT) for h, d in rows]
    expr = frame.select(hs2022_category_expr(pl.col("h"), pl.col("d"), DEFAULT)).to_series()
    assert expr.to_list() == mapped


def test_date_free_mapping_for_training_codes() -> None:
    assert hs2022_code("851713") == "851713"
    assert hs2022_code("3002.20") == "300241"
    assert hs2022_code("854150") is None  # split: no single HS 2022 class
    assert hs2022_code("999999") is None


def test_date_dependent_codes_cover_every_older_edition() -> None:
    spans = date_dependent_codes(DEFAULT)
    assert [(s, e) for s, e, _ in spans] == [
        (None, date(2017, 1, 1)),
        (date(2017, 1, 1), date(2022, 1, 1)),
    ]
    assert "854151" in spans[1][2] and "010121" not in spans[1][2]
    assert date_dependent_codes(parse_editions("2022=2022-01-01")) == []


# -- the shipped tables ------------------------------------------------------------------------
def test_shipped_tables_are_built_by_the_script() -> None:
    shared = [Path(os.environ["CLEARLANE_SHARED_DATA"])] if "CLEARLANE_SHARED_DATA" in os.environ else []
    shared += [REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
    source = next((d / "hs" / "concordance" for d in shared if (d / "hs" / "concordance").is_dir()),
                  shared[0] / "hs" / "concordance")
    if not source.is_dir():
        pytest.skip("shared HS concordance data not found")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_hs_editions.py"), "--check",
         "--source", str(source)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shipped_files_carry_their_attribution() -> None:
    folder = REPO / "src" / "clearlane" / "reference" / "data" / "hs"
    provenance = (folder / "PROVENANCE.md").read_text(encoding="utf-8")
    for needle in ("UNSD", "WCO", "300219", "854150", "911490"):
        assert needle in provenance
    text = gzip.decompress((folder / "correlations.csv.gz").read_bytes()).decode()
    assert text.startswith("from_edition,from_code,to_edition,to_code,relationship,source")
    assert "2017,854150,2022,854921" not in text  # the UNSD 8549 links of 854150 are replaced


def test_edition_boundaries_follow_configured_dates() -> None:
    late = parse_editions("2012=2012-01-01,2017=2017-01-01,2022=2022-07-01")
    day = date(2022, 3, 1)
    assert hs2022_category("300220", day, late) == "300241"
    assert hs2022_category("300220", day, DEFAULT) == "300220"  # read as HS 2022: unknown
    assert hs2022_category("300220", day - timedelta(days=365), DEFAULT) == "300241"
