"""The scorer registry: every scorer's name, what it does and how to build one, in one place.

Built-in scorers are registered below; a contributor adds one with :func:`register_scorer`.
Lookup takes a name or a spec; an unknown name gets an error listing the valid ones.

>>> from clearlane.scoring import scorer_names
>>> scorer_names()
('fraud', 'anomaly', 'hs_check', 'price_check', 'rules')
>>> from clearlane.scoring import get_scorer
>>> get_scorer("fraud").description.split(":")[0]
'supervised fraud model'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clearlane.errors import ValidationError
from clearlane.scoring.adapters import (
    AnomalyScorer,
    FraudScorer,
    HSCheckScorer,
    PriceCheckScorer,
    RuleScorer,
)
from clearlane.scoring.protocol import Scorer


@dataclass(frozen=True)
class ScorerSpec:
    """A registered scorer: its stable ``name``, a one-line ``description`` and the
    ``factory`` that builds one from keyword arguments (the wrapped objects)."""

    name: str
    description: str
    factory: Callable[..., Scorer]

    def create(self, **kwargs: Any) -> Scorer:
        return self.factory(**kwargs)


_SCORERS: dict[str, ScorerSpec] = {}


def register_scorer(spec: ScorerSpec, *, replace: bool = False) -> ScorerSpec:
    """Add a scorer to the registry (``replace`` to override a registered name)."""
    if spec.name in _SCORERS and not replace:
        raise ValidationError(f"a scorer named {spec.name!r} is already registered")
    _SCORERS[spec.name] = spec
    return spec


def scorer_names() -> tuple[str, ...]:
    """Registered scorer names, in registration order."""
    return tuple(_SCORERS)


def get_scorer(name: str | ScorerSpec) -> ScorerSpec:
    """The spec of a registered scorer; an unknown name lists the valid ones."""
    if isinstance(name, ScorerSpec):
        return name
    if name not in _SCORERS:
        raise ValidationError(f"unknown scorer {name!r}; valid: {', '.join(_SCORERS)}")
    return _SCORERS[name]


def make_scorer(name: str | ScorerSpec, **kwargs: Any) -> Scorer:
    """Build a registered scorer: ``make_scorer("anomaly", detector=d, version="v1")``."""
    return get_scorer(name).create(**kwargs)


for _spec in (
    ScorerSpec("fraud", "supervised fraud model: calibrated fraud probability (0-1)",
               FraudScorer),
    ScorerSpec("anomaly", "anomaly detector: robust z-score sum, higher = more unusual "
               "(no labels needed)", AnomalyScorer),
    ScorerSpec("hs_check", "HS misclassification check: P(declared code wrong)", HSCheckScorer),
    ScorerSpec("price_check", "price check against value bands: P(under-valued) when flagged",
               PriceCheckScorer),
    ScorerSpec("rules", "risk rules: highest severity rank among the hits", RuleScorer),
):
    register_scorer(_spec)
