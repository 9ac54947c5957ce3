"""The HS assistant reads codes of older editions as their HS 2022 successors."""

from __future__ import annotations

from pathlib import Path

from clearlane.hs.classifier import _labelled_pairs
from clearlane.hs.codes import check_code
from clearlane.hs.concordance import load_concordance
from clearlane.hs.examples import load_examples


def test_examples_of_older_editions_count_as_their_successor(tmp_path: Path) -> None:
    path = tmp_path / "examples.csv"
    path.write_text(
        "code,description\n"
        "300220,measles vaccine for human use\n"  # HS 2017 → HS 2022 3002.41
        "854150,photosensitive sensor die\n"  # split in HS 2022: left out
        "851713,smartphone 128GB\n",
        encoding="utf-8",
    )
    examples = load_examples(path)
    assert examples.codes == ("300241", "851713")


def test_history_codes_are_mapped_and_splits_left_out() -> None:
    pairs = _labelled_pairs(
        ["measles vaccine", "photo sensor", "smartphone", "nothing"],
        ["3002.20", "8541.50", "8517.13", "9999.99"],
    )
    assert [c for _, c in pairs] == ["300241", "851713"]


def test_shipped_concordance_is_the_default(tmp_path: Path) -> None:
    shipped = load_concordance()
    assert shipped.map("3002.20") == ("300241",)
    assert shipped.map("010121") == ("010121",)
    assert shipped.is_split("854150") and shipped.map("854150") == ("854151", "854159")
    # an administration's own file still wins when given
    own = tmp_path / "own.csv"
    own.write_text("hs2017,hs2022\n300220,300249\n", encoding="utf-8")
    assert load_concordance(own).map("300220") == ("300249",)


def test_check_code_names_where_an_old_subheading_went() -> None:
    message = check_code("3002.20").message
    assert "does not exist in HS 2022" in message
    assert "HS 2017 subheading, in HS 2022 3002.41" in message
    assert "(split)" in check_code("8541.50").message
