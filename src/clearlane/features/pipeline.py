"""Leakage-safe history features: one fitted pipeline for training, batch and single scoring.

Time semantics (the contract every feature obeys):

* A declaration dated ``d`` sees only declarations dated **strictly before** ``d``; declarations
  on the same day never see each other (neither their counts nor their outcomes).
* Outcome labels (``inspected``, ``fraud``, ``revenue_recovered``) come only from the history
  the pipeline was fitted on. Rows passed to :meth:`FeaturePipeline.transform` never reveal
  their own labels: for rows dated after the fitted history, only their *counts* (declarations
  on earlier dates of the same batch) are added, which is what a customs office knows at the
  time a declaration is lodged.
* Rows of a batch dated on or before the end of the fitted history add nothing: the history
  already holds that period.

So ``fit(train).transform(train)`` gives the in-sample features used for training, and
``fit(train).transform(test)`` the honest features for a later period. Units: values in
national currency, masses in kg; ``log_*`` features are natural logarithms.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.features.catalog import (
    GROUPS_BY_NAME,
    HISTORY_GROUPS,
    HISTORY_SUFFIXES,
    UNIT_VALUE_GROUPS,
    VALUE_FEATURES,
    HistoryGroup,
    category_feature_name,
)
from clearlane.schema.fields import EXTRA_COLUMN

CATEGORY_COLUMNS: tuple[str, ...] = (
    "office_id",
    "origin_country",
    "departure_country",
    "transport_mode",
    "currency",
)
"""Canonical low-cardinality columns used directly as categoricals."""

_STRING_COLUMNS = (
    "declaration_id", "office_id", "declarant_id", "importer_id", "exporter_id", "hs_code",
    "origin_country", "departure_country", "transport_mode", "currency",
)
_FLOAT_COLUMNS = ("customs_value", "net_mass_kg", "quantity", "tax_rate", "taxes_paid",
                  "revenue_recovered")
_SUMS = ("n", "insp", "nfraud", "rev", "uv_n", "uv_s", "uv_ss", "tax_n", "tax_s")
_ALL = HistoryGroup("all", (), "All declarations", "OVERALL_HISTORY")
_MIN_UV_HISTORY = 3
_MIN_STD = 0.05


class FeaturePipeline:
    """History, value and category features for declarations (an estimator in the sklearn sense).

    Parameters
    ----------
    groups:
        Names of the history groups (see :data:`clearlane.features.catalog.HISTORY_GROUPS`);
        ``None`` = all.
    prior_strength:
        Pseudo-count ``m`` of the smoothed fraud rate
        ``(frauds + m · p₀) / (inspections + m)`` where ``p₀`` is the overall fraud rate among
        inspections before the date (itself smoothed towards 0.5 with weight 2).
    max_categories:
        Categories kept per categorical column (most frequent in the fitted data); others and
        unseen values become missing.
    extra_columns:
        Keys of the ``extra`` JSON column used as categoricals; ``None`` = every key seen in the
        fitted data (up to 30).
    """

    def __init__(
        self,
        groups: Sequence[str] | None = None,
        prior_strength: float = 5.0,
        max_categories: int = 100,
        extra_columns: Sequence[str] | None = None,
    ) -> None:
        self.groups = groups
        self.prior_strength = prior_strength
        self.max_categories = max_categories
        self.extra_columns = extra_columns

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, declarations: pl.DataFrame) -> FeaturePipeline:
        """Learn the history (counts and outcomes per group and day) and category vocabularies."""
        groups = self._groups()
        if declarations.height == 0:
            raise ValidationError("cannot fit features on zero declarations; ingest data first")
        extras = (
            list(self.extra_columns)
            if self.extra_columns is not None
            else _extra_keys(declarations)
        )
        self.extra_columns_ = extras
        prep = _prepare(declarations, extras)
        self.history_end_: date = prep["day"].max()  # type: ignore[assignment]
        self.history_start_: date = prep["day"].min()  # type: ignore[assignment]
        self.history_rows_ = prep.height
        self.daily_: dict[str, pl.DataFrame] = {
            g.name: _daily(prep, g, labels=True) for g in (_ALL, *groups)
        }
        self.snapshot_: dict[str, dict[str, np.ndarray]] = {
            name: _snapshot(daily) for name, daily in self.daily_.items()
        }
        self.category_columns_ = [c for c in CATEGORY_COLUMNS if c in declarations.columns] + [
            f"extra:{k}" for k in extras
        ]
        self.vocab_: dict[str, dict[str, int]] = {}
        for column in self.category_columns_:
            counts = (
                prep.group_by(column)
                .len()
                .drop_nulls(column)
                .sort(["len", column], descending=[True, False])
                .head(self.max_categories)
            )
            self.vocab_[column] = {v: i for i, v in enumerate(counts[column].to_list())}
        self.group_names_ = [g.name for g in groups]
        self.categorical_features_ = [category_feature_name(c) for c in self.category_columns_]
        self.feature_names_ = (
            ["all_fraud_rate"]
            + [f"{g}_{s}" for g in self.group_names_ for s in HISTORY_SUFFIXES]
            + [f for f in VALUE_FEATURES if _value_feature_available(f, self.group_names_)]
            + self.categorical_features_
        )
        return self

    def fit_transform(self, declarations: pl.DataFrame) -> pl.DataFrame:
        """``fit(declarations).transform(declarations)``: in-sample as-of features."""
        return self.fit(declarations).transform(declarations)

    # -- transforming -------------------------------------------------------------------------
    def transform(self, declarations: pl.DataFrame) -> pl.DataFrame:
        """Features for each row, in input order (columns = :attr:`feature_names_`, Float64)."""
        self._check_fitted()
        prep = _prepare(declarations, self.extra_columns_).with_row_index("_row")
        raw: dict[str, dict[str, np.ndarray]] = {}
        new_rows = prep.filter(pl.col("day") > self.history_end_)
        for name, history in self.daily_.items():
            group = GROUPS_BY_NAME.get(name, _ALL)
            daily = history
            if new_rows.height:
                daily = (
                    pl.concat([history, _daily(new_rows, group, labels=False)], how="vertical")
                    .group_by(["key", "day"])
                    .agg(pl.col(c).sum() for c in _SUMS)
                )
            raw[name] = _asof(prep, group, daily)
        return self._derive(prep, raw)

    def transform_record(self, record: Mapping[str, Any]) -> pl.DataFrame:
        """Features of one declaration (a mapping of canonical fields); fast path for APIs.

        Uses the history snapshot when the declaration is dated after the fitted history (the
        usual case), else the general :meth:`transform`. Both give identical values.
        """
        self._check_fitted()
        frame = pl.DataFrame([dict(record)])
        prep = _prepare(frame, self.extra_columns_)
        day = prep["day"][0]
        if day is None or day <= self.history_end_:
            return self.transform(frame)
        raw: dict[str, dict[str, np.ndarray]] = {}
        for name, snapshot in self.snapshot_.items():
            group = GROUPS_BY_NAME.get(name, _ALL)
            key = _key_value(prep, group)
            index = snapshot["_index"].get(key) if key is not None else None  # type: ignore[attr-defined]
            raw[name] = {
                c: np.array([snapshot[c][index] if index is not None else 0.0])
                for c in (*_SUMS, "first_day")
            }
            if index is None:
                raw[name]["first_day"] = np.array([np.nan])
        return self._derive(prep, raw)

    # -- internals ----------------------------------------------------------------------------
    def _groups(self) -> tuple[HistoryGroup, ...]:
        if self.groups is None:
            return HISTORY_GROUPS
        unknown = [g for g in self.groups if g not in GROUPS_BY_NAME]
        if unknown:
            raise ValidationError(
                f"unknown history group(s) {unknown}; valid: {sorted(GROUPS_BY_NAME)}"
            )
        return tuple(GROUPS_BY_NAME[g] for g in self.groups)

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise ValidationError("FeaturePipeline is not fitted; call fit() first")

    def _derive(self, prep: pl.DataFrame, raw: dict[str, dict[str, np.ndarray]]) -> pl.DataFrame:
        out: dict[str, np.ndarray] = {}
        g_all = raw["all"]
        prior = (g_all["nfraud"] + 1.0) / (g_all["insp"] + 2.0)
        out["all_fraud_rate"] = prior
        m = float(self.prior_strength)
        for name in self.group_names_:
            r = raw[name]
            out[f"{name}_n"] = r["n"]
            out[f"{name}_insp"] = r["insp"]
            out[f"{name}_n_fraud"] = r["nfraud"]
            out[f"{name}_fraud_rate"] = (r["nfraud"] + m * prior) / (r["insp"] + m)
            out[f"{name}_rev_per_insp"] = _safe_div(r["rev"], r["insp"], 0.0)
        value = prep["customs_value"].to_numpy().astype(float)
        mass = prep["net_mass_kg"].to_numpy().astype(float)
        qty = prep["quantity"].to_numpy().astype(float)
        tax = prep["tax_rate"].to_numpy().astype(float)
        paid = prep["taxes_paid"].to_numpy().astype(float)
        log_uv = prep["log_uv"].to_numpy().astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["log_customs_value"] = np.where(value > 0, np.log(value), np.nan)
            out["log_net_mass"] = np.where(mass > 0, np.log(mass), np.nan)
            out["log_unit_value"] = log_uv
            out["log_value_per_unit"] = np.where(
                (value > 0) & (qty > 0), np.log(value / np.where(qty > 0, qty, 1.0)), np.nan
            )
        out["tax_rate"] = tax
        out["tax_to_value"] = _safe_div(paid, value, np.nan)
        out["hs6_numeric"] = prep["hs6_numeric"].to_numpy().astype(float)
        for name in UNIT_VALUE_GROUPS:
            if name not in raw:
                continue
            r = raw[name]
            n = r["uv_n"]
            mean = _safe_div(r["uv_s"], n, np.nan)
            var = np.maximum(_safe_div(r["uv_ss"], n, np.nan) - mean**2, 0.0)
            enough = n >= _MIN_UV_HISTORY
            dev = np.where(enough, log_uv - mean, np.nan)
            out[f"uv_dev_{name}"] = dev
            out[f"uv_z_{name}"] = dev / np.maximum(np.sqrt(var), _MIN_STD)
        if "hs6" in raw:
            r = raw["hs6"]
            out["tax_rate_dev_hs6"] = np.where(
                r["tax_n"] > 0, tax - _safe_div(r["tax_s"], r["tax_n"], np.nan), np.nan
            )
        if "importer" in raw:
            today = prep["day_num"].to_numpy().astype(float)
            out["importer_days_since_first"] = today - raw["importer"]["first_day"]
        for column, feature in zip(self.category_columns_, self.categorical_features_, strict=True):
            vocab = self.vocab_[column]
            values = prep[column].to_list()
            out[feature] = np.array(
                [vocab.get(v, np.nan) if v is not None else np.nan for v in values], dtype=float
            )
        columns = {}
        for name in self.feature_names_:
            arr = np.array(out[name], dtype=float)
            arr[~np.isfinite(arr)] = np.nan
            columns[name] = arr
        return pl.DataFrame(columns)


def _value_feature_available(feature: str, groups: list[str]) -> bool:
    if feature.endswith("_hs6_origin"):
        return "hs6_origin" in groups
    if feature.endswith("_hs6"):
        return "hs6" in groups
    if feature == "importer_days_since_first":
        return "importer" in groups
    return True


def _safe_div(a: np.ndarray, b: np.ndarray, fill: float) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b != 0, a / np.where(b != 0, b, 1.0), fill)
    return np.where(np.isfinite(out), out, fill)


def _extra_keys(declarations: pl.DataFrame, limit: int = 30) -> list[str]:
    if EXTRA_COLUMN not in declarations.columns:
        return []
    keys: dict[str, None] = {}
    for text in declarations[EXTRA_COLUMN].drop_nulls().head(1000).to_list():
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(parsed, dict):
            for k in parsed:
                keys.setdefault(str(k), None)
    return list(keys)[:limit]


def _prepare(declarations: pl.DataFrame, extras: Sequence[str]) -> pl.DataFrame:
    """Normalised working columns; missing canonical columns become nulls."""
    if "declared_at" not in declarations.columns:
        raise ValidationError(
            "declarations lack the required column 'declared_at'",
        )
    df = declarations
    missing = [
        pl.lit(None, dtype=pl.String).alias(c) for c in _STRING_COLUMNS if c not in df.columns
    ] + [pl.lit(None, dtype=pl.Float64).alias(c) for c in _FLOAT_COLUMNS if c not in df.columns]
    missing += [
        pl.lit(None, dtype=pl.Boolean).alias(c) for c in ("inspected", "fraud") if c not in df.columns
    ]
    if EXTRA_COLUMN not in df.columns:
        missing.append(pl.lit(None, dtype=pl.String).alias(EXTRA_COLUMN))
    if missing:
        df = df.with_columns(missing)
    hs = pl.col("hs_code").cast(pl.String).str.replace_all(r"[^0-9]", "")
    inspected = pl.col("inspected").cast(pl.Boolean).fill_null(False)
    fraud = (pl.col("fraud").cast(pl.Boolean).fill_null(False)) & inspected
    value = pl.col("customs_value").cast(pl.Float64)
    mass = pl.col("net_mass_kg").cast(pl.Float64)
    out = df.select(
        pl.col("declared_at").cast(pl.Date).alias("day"),
        *[pl.col(c).cast(pl.String) for c in _STRING_COLUMNS if c not in ("hs_code",)],
        hs.str.slice(0, 6).alias("hs6"),
        hs.str.slice(0, 4).alias("hs4"),
        hs.str.slice(0, 2).alias("hs2"),
        hs.str.slice(0, 6).cast(pl.Float64, strict=False).alias("hs6_numeric"),
        *[pl.col(c).cast(pl.Float64, strict=False) for c in _FLOAT_COLUMNS],
        pl.when((value > 0) & (mass > 0)).then((value / mass).log()).alias("log_uv"),
        inspected.alias("_insp"),
        fraud.alias("_fraud"),
        pl.when(fraud).then(pl.col("revenue_recovered").cast(pl.Float64).fill_null(0.0))
        .otherwise(0.0)
        .alias("_rev"),
        *[
            pl.col(EXTRA_COLUMN).cast(pl.String).str.json_path_match(f"$['{k}']").alias(f"extra:{k}")
            for k in extras
        ],
    )
    if out["day"].null_count():
        raise ValidationError("declared_at is missing on some declarations; every row needs a date")
    return out.with_columns(pl.col("day").cast(pl.Int64).cast(pl.Float64).alias("day_num"))


def _key_expr(group: HistoryGroup) -> pl.Expr:
    if not group.columns:
        return pl.lit("*")
    return pl.concat_str([pl.col(c) for c in group.columns], separator="\x1f")


def _key_value(prep: pl.DataFrame, group: HistoryGroup) -> str | None:
    if not group.columns:
        return "*"
    parts = [prep[c][0] for c in group.columns]
    if any(p is None for p in parts):
        return None
    return "\x1f".join(parts)


def _daily(prep: pl.DataFrame, group: HistoryGroup, labels: bool) -> pl.DataFrame:
    """Per key and day: counts, and (when ``labels``) outcome sums; value sums for references."""
    zero = pl.lit(0.0)
    uv = pl.col("log_uv")
    has_uv = uv.is_not_null().cast(pl.Float64)
    tax = pl.col("tax_rate")
    return (
        prep.select(
            _key_expr(group).alias("key"),
            pl.col("day"),
            pl.lit(1.0).alias("n"),
            (pl.col("_insp").cast(pl.Float64) if labels else zero).alias("insp"),
            (pl.col("_fraud").cast(pl.Float64) if labels else zero).alias("nfraud"),
            (pl.col("_rev") if labels else zero).alias("rev"),
            has_uv.alias("uv_n"),
            uv.fill_null(0.0).alias("uv_s"),
            (uv.fill_null(0.0) ** 2).alias("uv_ss"),
            tax.is_not_null().cast(pl.Float64).alias("tax_n"),
            tax.fill_null(0.0).alias("tax_s"),
        )
        .drop_nulls("key")
        .group_by(["key", "day"])
        .agg(pl.col(c).sum() for c in _SUMS)
    )


def _cumulative(daily: pl.DataFrame) -> pl.DataFrame:
    return daily.sort(["key", "day"]).select(
        "key",
        "day",
        *[pl.col(c).cum_sum().over("key").alias(c) for c in _SUMS],
        pl.col("day").min().over("key").alias("first_day"),
    )


def _asof(prep: pl.DataFrame, group: HistoryGroup, daily: pl.DataFrame) -> dict[str, np.ndarray]:
    """Cumulative sums strictly before each row's day, aligned with ``prep`` row order."""
    cum = _cumulative(daily).sort("day")
    query = prep.select("_row", "day", _key_expr(group).alias("key")).sort("day")
    joined = query.join_asof(
        cum,
        on="day",
        by="key",
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    ).sort("_row")
    out = {c: joined[c].fill_null(0.0).to_numpy() for c in _SUMS}
    first = joined["first_day"]
    out["first_day"] = first.cast(pl.Int64).cast(pl.Float64).fill_null(math.nan).to_numpy()
    return out


def _snapshot(daily: pl.DataFrame) -> dict[str, Any]:
    """Totals per key over the whole fitted history (used for declarations after it)."""
    totals = daily.group_by("key").agg(
        *[pl.col(c).sum() for c in _SUMS], pl.col("day").min().alias("first_day")
    )
    snap: dict[str, Any] = {c: totals[c].to_numpy().astype(float) for c in _SUMS}
    snap["first_day"] = totals["first_day"].cast(pl.Int64).cast(pl.Float64).to_numpy()
    snap["_index"] = {k: i for i, k in enumerate(totals["key"].to_list())}
    return snap
