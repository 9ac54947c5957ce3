"""Synthetic customs declarations with planted, documented fraud mechanisms.

>>> from clearlane.synth import SynthConfig, generate
>>> result = generate(SynthConfig(n_items=2_000, seed=7))
>>> result.declarations.height, result.truth.height
(2000, 2000)
"""

from __future__ import annotations

from clearlane.synth.config import MECHANISMS, SynthConfig
from clearlane.synth.generator import SynthFiles, SynthResult, generate

__all__ = ["MECHANISMS", "SynthConfig", "SynthFiles", "SynthResult", "generate"]
