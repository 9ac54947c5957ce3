"""Cases: inspection outcomes linked to the selections that caused them."""

from clearlane.cases.outcomes import OUTCOME_SCHEMA, read_outcomes, validate_outcomes

__all__ = ["OUTCOME_SCHEMA", "read_outcomes", "validate_outcomes"]
