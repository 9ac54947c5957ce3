"""Out-of-range checks on accepted declarations, each a small named SQL predicate.

A check names the field it is about, the rows it applies to (the fields involved are present)
and the condition that violates it. All checks run in one scan of ``declarations``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clearlane.quality.report import Severity

HS_CONVENTION_START = date(1988, 1, 1)
"""The Harmonized System entered into force on 1 January 1988: an HS-coded declaration dated
before it is almost certainly a data-entry or date-format error."""


@dataclass(frozen=True)
class RangeCheck:
    """One out-of-range check (SQL over the ``declarations`` columns).

    ``applies`` and ``violates`` are SQL boolean expressions; ``value`` is a SQL expression
    rendered as text in examples. ``{as_of}`` and ``{earliest}`` in ``violates`` are replaced
    by DATE literals.
    """

    code: str
    field: str
    description: str
    severity: Severity
    applies: str
    violates: str
    value: str


def _cast(column: str) -> str:
    return f"CAST({column} AS VARCHAR)"


RANGE_CHECKS: tuple[RangeCheck, ...] = (
    RangeCheck("NET_MASS_NEGATIVE", "net_mass_kg", "Net mass is negative", "error",
               "net_mass_kg IS NOT NULL", "net_mass_kg < 0", _cast("net_mass_kg")),
    RangeCheck("NET_MASS_ZERO", "net_mass_kg", "Net mass is zero", "warning",
               "net_mass_kg IS NOT NULL", "net_mass_kg = 0", _cast("net_mass_kg")),
    RangeCheck("GROSS_MASS_NEGATIVE", "gross_mass_kg", "Gross mass is negative", "error",
               "gross_mass_kg IS NOT NULL", "gross_mass_kg < 0", _cast("gross_mass_kg")),
    RangeCheck("GROSS_MASS_ZERO", "gross_mass_kg", "Gross mass is zero", "warning",
               "gross_mass_kg IS NOT NULL", "gross_mass_kg = 0", _cast("gross_mass_kg")),
    RangeCheck("GROSS_BELOW_NET", "gross_mass_kg", "Gross mass is below net mass", "warning",
               "gross_mass_kg > 0 AND net_mass_kg > 0", "gross_mass_kg < net_mass_kg",
               "'gross ' || CAST(gross_mass_kg AS VARCHAR) || ' < net ' || CAST(net_mass_kg AS VARCHAR)"),
    RangeCheck("VALUE_NEGATIVE", "customs_value", "Customs value is negative", "error",
               "customs_value IS NOT NULL", "customs_value < 0", _cast("customs_value")),
    RangeCheck("VALUE_ZERO", "customs_value", "Customs value is zero", "warning",
               "customs_value IS NOT NULL", "customs_value = 0", _cast("customs_value")),
    RangeCheck("FOB_NEGATIVE", "fob_value", "FOB value is negative", "error",
               "fob_value IS NOT NULL", "fob_value < 0", _cast("fob_value")),
    RangeCheck("FOB_ABOVE_CIF", "fob_value",
               "FOB value exceeds the customs (CIF) value, which includes it", "warning",
               "fob_value > 0 AND customs_value > 0", "fob_value > customs_value * 1.0001",
               "'FOB ' || CAST(fob_value AS VARCHAR) || ' > CIF ' || CAST(customs_value AS VARCHAR)"),
    RangeCheck("QUANTITY_NEGATIVE", "quantity", "Quantity is negative", "error",
               "quantity IS NOT NULL", "quantity < 0", _cast("quantity")),
    RangeCheck("QUANTITY_ZERO", "quantity", "Quantity is zero", "warning",
               "quantity IS NOT NULL", "quantity = 0", _cast("quantity")),
    RangeCheck("TAX_RATE_NEGATIVE", "tax_rate", "Tax rate is negative", "error",
               "tax_rate IS NOT NULL", "tax_rate < 0", _cast("tax_rate")),
    RangeCheck("TAX_RATE_ABOVE_100", "tax_rate",
               "Tax rate above 100 % (implausible, or given as a fraction × 10 000?)", "warning",
               "tax_rate IS NOT NULL", "tax_rate > 100", _cast("tax_rate")),
    RangeCheck("TAXES_NEGATIVE", "taxes_paid", "Taxes paid are negative", "error",
               "taxes_paid IS NOT NULL", "taxes_paid < 0", _cast("taxes_paid")),
    RangeCheck("DATE_FAR_PAST", "declared_at",
               "Declared before the HS came into force (1988-01-01)", "warning",
               "declared_at IS NOT NULL", "declared_at < {earliest}", _cast("declared_at")),
    RangeCheck("DATE_FUTURE", "declared_at", "Declared after the report date", "error",
               "declared_at IS NOT NULL", "declared_at > {as_of}", _cast("declared_at")),
    RangeCheck("HS_CODE_FORMAT", "hs_code", "HS code is not 6 to 10 digits", "error",
               "hs_code IS NOT NULL", "NOT regexp_full_match(hs_code, '[0-9]{6,10}')",
               "hs_code"),
    RangeCheck("INSPECTED_BEFORE_DECLARED", "inspected_at",
               "Inspection dated before the declaration", "warning",
               "inspected_at IS NOT NULL AND declared_at IS NOT NULL",
               "inspected_at < declared_at",
               "CAST(inspected_at AS VARCHAR) || ' < ' || CAST(declared_at AS VARCHAR)"),
    RangeCheck("FRAUD_NOT_INSPECTED", "fraud", "Fraud recorded on an item not inspected",
               "warning", "fraud IS NOT NULL", "fraud AND inspected IS NOT TRUE",
               "'fraud=' || CAST(fraud AS VARCHAR) || ', inspected=' || coalesce(CAST(inspected AS VARCHAR), 'null')"),
    RangeCheck("RECOVERED_NEGATIVE", "revenue_recovered", "Revenue recovered is negative",
               "error", "revenue_recovered IS NOT NULL", "revenue_recovered < 0",
               _cast("revenue_recovered")),
)


def render(check: RangeCheck, as_of: date, earliest: date = HS_CONVENTION_START) -> str:
    """The violation predicate with its date placeholders filled in (NULL counts as false)."""
    text = check.violates.replace("{as_of}", f"DATE '{as_of.isoformat()}'")
    text = text.replace("{earliest}", f"DATE '{earliest.isoformat()}'")
    return f"coalesce(({check.applies}) AND ({text}), false)"
