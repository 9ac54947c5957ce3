"""The catalogue of history groups and feature names: one place that names every feature.

A *history group* is an entity (importer, HS6 code, …) or a pair of entities (importer × HS6)
whose past declarations and past inspection outcomes are summarised for each new declaration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HistoryGroup:
    """An entity or pair whose history is summarised.

    ``columns`` are the prepared columns forming the key; ``label`` is how the entity is named in
    reasons ("Importer", "HS 690722"); ``code`` is the stable reason code for its history.
    """

    name: str
    columns: tuple[str, ...]
    label: str
    code: str


HISTORY_GROUPS: tuple[HistoryGroup, ...] = (
    HistoryGroup("importer", ("importer_id",), "Importer", "IMPORTER_HISTORY"),
    HistoryGroup("declarant", ("declarant_id",), "Declarant", "DECLARANT_HISTORY"),
    HistoryGroup("exporter", ("exporter_id",), "Seller", "EXPORTER_HISTORY"),
    HistoryGroup("hs6", ("hs6",), "HS", "HS6_HISTORY"),
    HistoryGroup("hs4", ("hs4",), "HS heading", "HS4_HISTORY"),
    HistoryGroup("hs2", ("hs2",), "HS chapter", "HS2_HISTORY"),
    HistoryGroup("origin", ("origin_country",), "Origin", "ORIGIN_HISTORY"),
    HistoryGroup("office", ("office_id",), "Office", "OFFICE_HISTORY"),
    HistoryGroup("importer_hs6", ("importer_id", "hs6"), "Importer × HS", "IMPORTER_HS_HISTORY"),
    HistoryGroup("office_origin", ("office_id", "origin_country"), "Office × origin",
                 "OFFICE_ORIGIN_HISTORY"),
    HistoryGroup("declarant_importer", ("declarant_id", "importer_id"), "Declarant × importer",
                 "DECLARANT_IMPORTER_HISTORY"),
    HistoryGroup("hs6_origin", ("hs6", "origin_country"), "HS × origin", "HS_ORIGIN_HISTORY"),
)
GROUPS_BY_NAME: dict[str, HistoryGroup] = {g.name: g for g in HISTORY_GROUPS}

HISTORY_SUFFIXES: tuple[str, ...] = ("n", "insp", "n_fraud", "fraud_rate", "rev_per_insp")
"""Per group: declarations before the date, inspected before, frauds found before, smoothed
fraud rate, revenue recovered per inspection before."""

UNIT_VALUE_GROUPS: tuple[str, ...] = ("hs6_origin", "hs6")
"""Groups whose past unit values (log value per kg) are the reference for a declaration."""

VALUE_FEATURES: tuple[str, ...] = (
    "log_customs_value",
    "log_net_mass",
    "log_unit_value",
    "log_value_per_unit",
    "tax_rate",
    "tax_to_value",
    "hs6_numeric",
    "uv_dev_hs6_origin",
    "uv_z_hs6_origin",
    "uv_dev_hs6",
    "uv_z_hs6",
    "tax_rate_dev_hs6",
    "importer_days_since_first",
)
"""Value, tax and seniority features (no outcome labels involved)."""


def category_feature_name(column: str) -> str:
    """Feature name of a categorical source column (``extra:`` prefix for extras)."""
    return "cat_" + "".join(ch if ch.isalnum() else "_" for ch in column.lower())
