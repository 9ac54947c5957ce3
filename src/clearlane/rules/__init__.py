"""Risk rules: YAML risk profiles, watchlists and vectorised rule evaluation (higher = riskier)."""

from clearlane.rules.evaluate import evaluate_rules
from clearlane.rules.loader import load_rules, parse_rules
from clearlane.rules.model import Condition, Rule, RuleSet, Watchlist

__all__ = [
    "Condition",
    "Rule",
    "RuleSet",
    "Watchlist",
    "evaluate_rules",
    "load_rules",
    "parse_rules",
]
