"""The classes and functions an artifact may name: nothing else is ever built from a file.

An artifact's state names the classes of the objects it holds by qualified name
(``module.QualName``). Decoding looks the name up here **before** importing anything: an
unknown name is refused with a :class:`~clearlane.errors.ArtifactError` naming it, so a file
cannot make the loader import a module or call a function that is not listed below. The
entries are Clearlane's own estimators and the scikit-learn objects they hold (found by
walking fitted models; ``tests/artifacts`` round-trips each one).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from clearlane.errors import ArtifactError

CLASSES: frozenset[str] = frozenset(
    {
        # fraud model and anomaly detector
        "clearlane.models.fraud.FraudModel",
        "clearlane.models.anomaly.AnomalyDetector",
        "clearlane.features.pipeline.FeaturePipeline",
        "clearlane.features.keyed.KeyedHistory",
        "clearlane.features.keyed.KeyedGroup",
        "clearlane.features.catalog.HistoryGroup",
        # HS classifier
        "clearlane.hs.classifier.HSClassifier",
        "clearlane.hs.chapters.ChapterModel",
        "clearlane.hs.history.HistoryModel",
        "clearlane.hs.confidence.ConfidenceMap",
        "clearlane.hs.tariff.NationalTariff",
        "clearlane.hs.tariff.TariffLine",
        "clearlane.hs.examples.LabelledExamples",
        "clearlane.hs.embeddings.SentenceEncoder",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.linear_model._stochastic_gradient.SGDClassifier",
        "sklearn.linear_model._logistic.LogisticRegression",
        # price verification
        "clearlane.valuation.bands.ValueBands",
        "clearlane.valuation.bands.BandMeta",
        "clearlane.valuation.quantile_model.UnitValueQuantileModel",
    }
)
"""Classes a decoded artifact may instantiate (``cls.__new__`` then its state)."""

FUNCTIONS: frozenset[str] = frozenset(
    {
        "clearlane.hs.text.tokens",  # the word analyzer of the HS classifier's vectorizers
    }
)
"""Module-level functions an artifact may refer to (never called while loading)."""

STATELESS: frozenset[str] = frozenset(
    {
        "sklearn._loss._loss.CyHalfBinomialLoss",  # SGDClassifier's loss (compiled, no state)
    }
)
"""Compiled classes without state an artifact may name; decoding calls ``cls()``."""

_extra_classes: set[str] = set()


def qualified_name(obj: Any) -> str:
    """``module.QualName`` of a class or function."""
    return f"{obj.__module__}.{obj.__qualname__}"


def allow(classes: Iterable[type]) -> None:
    """Add classes to the allowlist (for a scorer defined outside Clearlane, e.g. in tests)."""
    _extra_classes.update(qualified_name(c) for c in classes)


def is_allowed_class(name: str) -> bool:
    return name in CLASSES or name in _extra_classes


def resolve(name: str, *, function: bool = False, stateless: bool = False) -> Any:
    """The allowlisted class (or function) called ``name``; :class:`ArtifactError` otherwise.

    Only a listed name is imported: the module part of an unknown name is never touched.
    """
    listed = (name in FUNCTIONS if function
              else name in STATELESS if stateless else is_allowed_class(name))
    if not listed:
        what = "function" if function else "class"
        raise ArtifactError(
            f"artifact names the {what} {name!r}, which is not on Clearlane's allowlist of "
            "model types; the file was not written by Clearlane (or by a newer version): "
            "it was not loaded"
        )
    module_name, _, attribute = name.rpartition(".")
    obj = getattr(importlib.import_module(module_name), attribute)
    if (function and not callable(obj)) or (not function and not isinstance(obj, type)):
        raise ArtifactError(f"allowlisted name {name!r} is not a {'function' if function else 'class'}")
    return obj
