"""Conditional quantile model of unit values, for heterogeneous goods.

A band per HS6 × origin ignores that the unit value of one code moves with the size of the
consignment, the transport mode or the incoterm. :class:`UnitValueQuantileModel` fits
LightGBM quantile regressions of the natural log of the **per-kg** unit value (band currency)
on: HS chapter, heading and subheading (categorical), origin, transport mode, ``log(net mass)``,
``log(quantity)`` and, when present in ``extra``, the incoterm. It predicts, per declaration,
the ``lower_q``/median/``upper_q`` unit values of *similar* declarations; its robust z is
``(ln median − ln unit value) / ((ln median − ln low) / z(lower_q))`` (higher = riskier).

The model is a scikit-learn–style estimator: ``__init__`` stores parameters, ``fit`` returns
``self``, learned attributes end in ``_``, ``predict_band`` changes no state. It is persisted
in the data-only artifact envelope, its trees as LightGBM's own text format (no pickle).
Like the bands, its output is a **risk indicator**, never a correct value.
"""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from clearlane.errors import ValidationError
from clearlane.reference.hs_editions import hs2022_keys
from clearlane.valuation.conversion import ExchangeRates
from clearlane.valuation.unit_values import unit_values

CATEGORICAL = ("hs6", "hs4", "hs2", "origin", "transport_mode", "incoterm")
NUMERIC = ("log_kg", "log_quantity")
FEATURES = CATEGORICAL + NUMERIC


class UnitValueQuantileModel:
    """LightGBM quantile regression of ln(unit value per kg); see the module docstring."""

    def __init__(
        self,
        lower_q: float = 0.05,
        upper_q: float = 0.95,
        n_estimators: int = 200,
        learning_rate: float = 0.1,
        num_leaves: int = 63,
        min_child_samples: int = 20,
        min_scale: float = 0.05,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.lower_q = lower_q
        self.upper_q = upper_q
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.min_scale = min_scale
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- features ------------------------------------------------------------------------
    def _features(
        self, frame: pl.DataFrame, rates: ExchangeRates, currency: str
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(features per input row, long kg-basis unit values with ``_row``)."""
        long = unit_values(frame, rates=rates, currency=currency, period="all").filter(
            pl.col("basis") == "kg"
        )
        cols = frame.columns
        incoterm: pl.Expr = pl.lit(None, pl.String)
        if "extra" in cols:
            incoterm = (
                pl.col("extra").cast(pl.String).str.json_path_match("$.incoterm").str.to_uppercase()
            )
        hs = pl.lit(hs2022_keys(frame))  # HS 2022 categories, as the band keys
        feats = frame.select(
            hs.alias("hs6"),
            hs.str.slice(0, 4).alias("hs4"),
            hs.str.slice(0, 2).alias("hs2"),
            (pl.col("origin_country") if "origin_country" in cols else pl.lit(None, pl.String))
            .cast(pl.String).alias("origin"),
            (pl.col("transport_mode") if "transport_mode" in cols else pl.lit(None, pl.String))
            .cast(pl.String).alias("transport_mode"),
            incoterm.alias("incoterm"),
            (pl.col("net_mass_kg") if "net_mass_kg" in cols else pl.lit(None, pl.Float64))
            .cast(pl.Float64).log().alias("log_kg"),
            (pl.col("quantity") if "quantity" in cols else pl.lit(None, pl.Float64))
            .cast(pl.Float64).log().alias("log_quantity"),
        ).with_columns(
            pl.col(c).replace([float("inf"), float("-inf")], None) for c in NUMERIC
        )
        return feats, long

    def _matrix(self, feats: pl.DataFrame) -> np.ndarray:
        columns = []
        for name in CATEGORICAL:
            mapping = self.categories_[name]
            codes = feats[name].replace_strict(mapping, default=-1, return_dtype=pl.Int64)
            columns.append(codes.cast(pl.Float64).replace(-1.0, None).fill_null(float("nan")).to_numpy())
        for name in NUMERIC:
            columns.append(feats[name].fill_null(float("nan")).to_numpy())
        return np.column_stack(columns)

    # -- estimator API -------------------------------------------------------------------
    def fit(
        self, frame: pl.DataFrame, rates: ExchangeRates | None = None, currency: str | None = None,
        national_currency: str = "XOF",
    ) -> UnitValueQuantileModel:
        """Fit on accepted declarations (a canonical frame); returns ``self``."""
        import lightgbm as lgb

        rates = rates or ExchangeRates.identity(national_currency)
        self.currency_ = currency or rates.national_currency
        self.national_currency_ = rates.national_currency
        feats, long = self._features(frame, rates, self.currency_)
        if long.height < 50:
            raise ValidationError(
                f"the quantile model needs at least 50 declarations with a positive value and "
                f"net mass; got {long.height}"
            )
        self.categories_: dict[str, dict[str, int]] = {}
        for name in CATEGORICAL:
            values = feats[name].drop_nulls().unique().sort().to_list()
            self.categories_[name] = {v: i for i, v in enumerate(values)}
        x = self._matrix(feats)[long["_row"].to_numpy()]
        y = long["log_uv"].to_numpy()
        self.boosters_: dict[str, str] = {}
        for key, alpha in (("low", self.lower_q), ("median", 0.5), ("high", self.upper_q)):
            params: dict[str, Any] = {
                "objective": "quantile",
                "alpha": alpha,
                "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves,
                "min_child_samples": self.min_child_samples,
                "seed": self.random_state,
                "num_threads": self.n_jobs,
                "verbosity": -1,
                "max_cat_to_onehot": 8,
                "cat_smooth": 10.0,
            }
            data = lgb.Dataset(
                x, y, categorical_feature=list(range(len(CATEGORICAL))), free_raw_data=True,
                params={"max_bin": 255, "verbosity": -1},
            )
            booster = lgb.train(params, data, num_boost_round=self.n_estimators)
            self.boosters_[key] = booster.model_to_string()
        self.n_train_ = int(long.height)
        return self

    def predict_band(self, frame: pl.DataFrame, rates: ExchangeRates | None = None) -> pl.DataFrame:
        """Per input row: ``model_low``, ``model_median``, ``model_high`` (band currency per kg)
        and ``model_z`` (robust z; null when the row has no per-kg unit value)."""
        import lightgbm as lgb

        if not hasattr(self, "boosters_"):
            raise ValidationError("the quantile model is not fitted; call fit() first")
        rates = rates or ExchangeRates.identity(self.national_currency_)
        feats, long = self._features(frame, rates, self.currency_)
        x = self._matrix(feats)
        preds = {
            key: lgb.Booster(model_str=text).predict(x, num_threads=self.n_jobs)
            for key, text in self.boosters_.items()
        }
        low = np.minimum(preds["low"], preds["median"])
        high = np.maximum(preds["high"], preds["median"])
        z_low = -NormalDist().inv_cdf(self.lower_q) if self.lower_q > 0 else 1.645
        scale = np.maximum((preds["median"] - low) / z_low, self.min_scale)
        log_uv = np.full(frame.height, np.nan)
        log_uv[long["_row"].to_numpy()] = long["log_uv"].to_numpy()
        z = (preds["median"] - log_uv) / scale
        return pl.DataFrame(
            {
                "model_low": np.exp(low),
                "model_median": np.exp(preds["median"]),
                "model_high": np.exp(high),
                "model_z": z,
            }
        ).with_columns(pl.col("model_z").fill_nan(None))

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: Path | str) -> Path:
        """Write the fitted model in the data-only artifact envelope (parameters, categories
        and LightGBM's own model text as JSON; see :mod:`clearlane.artifacts`)."""
        from clearlane.artifacts import write_artifact

        if not hasattr(self, "boosters_"):
            raise ValidationError("the quantile model is not fitted; call fit() first")
        return write_artifact(self, Path(path), kind="quantile", version=Path(path).stem).path

    @classmethod
    def load(cls, path: Path | str, *, trusted_dir: Path | None = None, trust: bool = False,
             expected_sha256: str | None = None) -> UnitValueQuantileModel:
        """Read a model written by :meth:`save`: inside ``trusted_dir`` or with ``trust``."""
        from clearlane.artifacts import read_artifact

        model, _ = read_artifact(path, kind="quantile", expected_sha256=expected_sha256,
                                 trusted_dir=trusted_dir, trust=trust)
        if not isinstance(model, cls):
            raise ValidationError(f"{str(path)!r} is not a Clearlane unit-value quantile model")
        return model

    def get_params(self) -> dict[str, Any]:
        return {
            "lower_q": self.lower_q, "upper_q": self.upper_q, "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples, "min_scale": self.min_scale,
            "random_state": self.random_state, "n_jobs": self.n_jobs,
        }
