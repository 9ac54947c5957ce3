"""HS classification assistant and misclassification check.

Importing this package is cheap; the classifier (scikit-learn) loads on first use:

>>> from clearlane.hs import check_code
>>> check_code("8517.13").valid
True
"""

from __future__ import annotations

from clearlane.hs.codes import CodeCheck, check_code, format_code, hs6, normalise_code

__all__ = ["CodeCheck", "check_code", "format_code", "hs6", "normalise_code"]
