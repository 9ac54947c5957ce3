"""Clearlane: offline-first customs risk management.

The package root imports nothing heavy; import the submodule you need.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
