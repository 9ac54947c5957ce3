"""Labelled example descriptions: product wording for each subheading, loaded from a CSV.

Official texts say "Telephones for cellular networks"; declarants and shops write "Android
smartphone 6.5 inch 128GB". A corpus of example descriptions per subheading (for instance a
classification unit's own examples, or a published set such as the machine-written
``hs6_examples_llm_synthetic.csv`` of the research data) bridges the two: the classifier uses
each example as one more reference text of its subheading, exactly like a national tariff line.
Examples are reference knowledge, not history: they do not need to be declarations and are
never used to tune the classifier's weights.

Columns are matched case-insensitively: a code column (``hs6_code``, ``hs_code``, ``code``)
and a text column (``product_description``, ``description``, ``text``); an optional
``category`` column is prefixed to the text. A code of an older edition (HS 2017, HS 2012) with
one HS 2022 successor counts as that successor; other codes whose first six digits are not an
HS 2022 subheading (unknown codes, codes split in HS 2022) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clearlane.hs.codes import normalise_code
from clearlane.hs.reference_csv import read_reference_csv
from clearlane.reference.hs_editions import hs2022_code

_CODE_COLUMNS = ("hs6_code", "hs_code", "code", "hscode")
_TEXT_COLUMNS = ("product_description", "description", "text")


@dataclass(frozen=True)
class LabelledExamples:
    """Example descriptions (``texts``) with their HS6 ``codes``; ``name`` says which corpus."""

    name: str
    texts: tuple[str, ...]
    codes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)


def load_examples(path: Path | str, name: str | None = None) -> LabelledExamples:
    """Read a CSV of (code, description[, category]) examples; see the module docstring."""
    rows, columns = read_reference_csv(
        path,
        "examples",
        {"code": _CODE_COLUMNS, "text": _TEXT_COLUMNS},
        {"category": ("category",)},
    )
    code_col, text_col, category_col = columns["code"], columns["text"], columns["category"]
    assert code_col is not None and text_col is not None
    texts: list[str] = []
    codes: list[str] = []
    for row in rows:
        code = hs2022_code(normalise_code(row.get(code_col) or ""))
        text = (row.get(text_col) or "").strip()
        if code is None or not text:
            continue
        if category_col and row.get(category_col):
            text = f"{row[category_col]} {text}"
        texts.append(text)
        codes.append(code)
    return LabelledExamples(name or Path(path).stem, tuple(texts), tuple(codes))
