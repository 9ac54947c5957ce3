"""Selectivity: lanes under capacity with random control and exploration, and overrides."""

from clearlane.selection.override import Override, make_override
from clearlane.selection.policy import SelectionPolicy
from clearlane.selection.selector import SelectionResult, select_lanes

__all__ = ["Override", "SelectionPolicy", "SelectionResult", "make_override", "select_lanes"]
