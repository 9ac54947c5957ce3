"""Selectivity: lanes under capacity with random control and exploration, segment evidence from
outcomes, and overrides."""

from clearlane.selection.override import Override, make_override
from clearlane.selection.policy import SelectionPolicy
from clearlane.selection.segments import (
    SegmentEvidence,
    segment_labels,
    segment_lift,
    thompson_exploration,
)
from clearlane.selection.selector import SelectionResult, select_lanes

__all__ = ["Override", "SegmentEvidence", "SelectionPolicy", "SelectionResult", "make_override",
           "segment_labels", "segment_lift", "select_lanes", "thompson_exploration"]
