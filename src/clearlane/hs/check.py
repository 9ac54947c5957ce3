"""Misclassification check: does the description read like the declared code?

For each declaration the check reports ``p_wrong`` = 1 - confidence of the declared code at
``level`` digits given the description (the classifier's calibrated per-candidate confidence,
:meth:`~clearlane.hs.classifier.HSClassifier.level_confidence`); higher = riskier. When the
most likely code differs from the declared one and ``p_wrong`` reaches ``threshold``, it emits
a :class:`~clearlane.schema.reasons.Reason` with code ``HS_MISCLASSIFICATION`` quoting both
codes, their texts and, when a national tariff gives both rates, the duty difference
(percentage points of customs value; positive = the declared code pays less).

Codes are compared across HS editions: given the declarations' dates, a declared code is read
in the edition in force on its date and compared through its HS 2022 category
(:func:`~clearlane.reference.hs_editions.hs2022_category`), so an HS 2017 code on a 2020
declaration is not an unknown code. A code split into several HS 2022 codes (category
``854150@HS2017``) has no single HS 2022 subheading: at ``level`` 6 it is not checked
(``p_wrong`` NaN), at 4 and 2 digits its heading and chapter are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from clearlane.hs.classifier import HSClassifier
from clearlane.hs.codes import format_code, normalise_code
from clearlane.reference.hs_editions import SPLIT_TAG, hs2022_category
from clearlane.reference.hs_nomenclature import nomenclature
from clearlane.schema.reasons import Reason

REASON_CODE = "HS_MISCLASSIFICATION"


@dataclass(frozen=True)
class CheckResult:
    """The check of one declaration: ``p_wrong`` (0-1, higher = riskier; NaN when the code
    cannot be checked at this level: a split code at 6 digits), the declared and suggested
    codes at the checked level, the duty rates (% of customs value, None when unknown) and the
    reason when the declaration is flagged."""

    declared: str
    suggested: str
    p_wrong: float
    declared_rate: float | None
    suggested_rate: float | None
    reason: Reason | None


def check_declarations(
    model: HSClassifier,
    descriptions: Sequence[str],
    declared_codes: Sequence[str],
    level: int = 4,
    threshold: float = 0.8,
    declared_at: Sequence[date | datetime | None] | None = None,
) -> list[CheckResult]:
    """Check each (description, declared code) pair; with ``declared_at`` (one date per
    pair) each code is read in the HS edition in force on its date. See the module
    docstring."""
    texts = [str(d or "") for d in descriptions]
    declared = [normalise_code(c) for c in declared_codes]
    days = list(declared_at) if declared_at is not None else [None] * len(declared)
    proba = model.predict_proba(texts)
    codes, probs = model.level_confidence(proba, level)
    index = {str(c): i for i, c in enumerate(codes)}
    entries = nomenclature()
    tariff = model.tariff
    results = []
    for i, code in enumerate(declared):
        category = declared_category(code, days[i])
        if level == 6 and SPLIT_TAG in category:
            best6 = str(model.classes_[int(np.argmax(proba[i]))])
            results.append(CheckResult(code, best6, float("nan"), None, None, None))
            continue
        own = category[:level]
        p_declared = float(probs[i, index[own]]) if own in index else 0.0
        best = str(codes[int(np.argmax(probs[i]))])
        p_wrong = min(1.0, max(0.0, 1.0 - p_declared))
        best6 = str(model.classes_[int(np.argmax(proba[i]))])
        declared_rate = tariff.rate(code) if tariff is not None else None
        suggested_rate = None
        if tariff is not None:
            # The rate of the most likely subheading, else the lowest under the suggested code.
            if best6.startswith(best):
                suggested_rate = tariff.rate(best6)
            if suggested_rate is None:
                suggested_rate = tariff.rate(best)
        reason = None
        if best != own and p_wrong >= threshold and texts[i].strip():
            own_text = entries[own].description if own in entries else "unknown code"
            text = (
                f"Description reads like {format_code(best)} ({_short(entries[best].description)})"
                f" but declared as {format_code(own)} ({_short(own_text)})"
            )
            evidence: dict[str, object] = {
                "declared_code": code,
                "declared_hs2022": category,
                "suggested_code": best,
                "p_wrong": round(p_wrong, 4),
                "p_suggested": round(float(probs[i].max()), 4),
            }
            if declared_rate is not None and suggested_rate is not None:
                text += f": duty {suggested_rate:g} % vs {declared_rate:g} %"
                evidence["duty_difference_pct_points"] = suggested_rate - declared_rate
            reason = Reason(REASON_CODE, text, round(p_wrong, 4), evidence)
        results.append(CheckResult(code, best, p_wrong, declared_rate, suggested_rate, reason))
    return results


def declared_category(code: str, day: date | datetime | None) -> str:
    """The HS 2022 category of a declared code (digits) on its date: its first six digits
    mapped forward from the edition in force (``854150@HS2017`` for a split code); a code
    shorter than six digits as it is."""
    if len(code) < 6:
        return code
    return hs2022_category(code[:6], day) or code[:6]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
