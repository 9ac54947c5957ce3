from __future__ import annotations

from pathlib import Path

import pytest

from clearlane.errors import NotFoundError, ProfileError
from clearlane.ingest.profile import load_profile, parse_profile, shipped_profiles


def test_shipped_profiles_load() -> None:
    assert {"kcs", "canonical"} <= set(shipped_profiles())
    for name in shipped_profiles():
        assert load_profile(name).name == name


def test_round_trip_yaml() -> None:
    profile = load_profile("kcs")
    again = parse_profile(profile.to_yaml())
    assert again == profile


def test_unknown_field_is_named() -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile("name: x\ncolumns:\n  declaration_idd: ID\n")
    assert "declaration_idd" in str(err.value)
    assert "not a canonical field" in str(err.value)


def test_bad_unit_and_misplaced_format() -> None:
    with pytest.raises(ProfileError, match="unknown mass unit"):
        parse_profile("name: x\ncolumns:\n  net_mass_kg: {column: M, unit: stone}\n")
    with pytest.raises(ProfileError, match="format applies only to dates"):
        parse_profile("name: x\ncolumns:\n  office_id: {column: O, format: '%Y'}\n")


def test_not_yaml_mapping(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ProfileError, match="must be a YAML mapping"):
        load_profile(path)


def test_unknown_profile_lists_shipped() -> None:
    with pytest.raises(NotFoundError, match="kcs"):
        load_profile("nope")
