"""Every kind round-trips through the registry and the envelope with identical scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from clearlane.hs.classifier import HSClassifier
from clearlane.models import registry
from clearlane.models.anomaly import AnomalyDetector
from clearlane.models.fraud import FraudModel
from clearlane.store.workspace import Workspace
from clearlane.valuation.bands import ValueBands
from clearlane.valuation.check import check_prices
from clearlane.valuation.quantile_model import UnitValueQuantileModel
from clearlane.valuation.registry import BandRegistry


def _register(workspace: Workspace, model: Any, kind: str) -> registry.ModelRecord:
    return registry.register(workspace, model, kind, train_from=None, train_to=None, n_rows=1,
                             features=[], params={}, metrics={}, fingerprint="test")


def test_fraud_model_round_trip(workspace: Workspace, fraud: FraudModel,
                                split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    record = _register(workspace, fraud, "fraud")
    loaded = registry.load_model(workspace, registry.get_model(workspace, record.version))
    test = split[1]
    a, b = fraud.score(test, explain_share=0.05), loaded.score(test, explain_share=0.05)
    for column in ("fraud_probability", "expected_revenue", "raw_score"):
        np.testing.assert_array_equal(a[column].to_numpy(), b[column].to_numpy())
    # repr: the evidence may hold NaN, which is never equal to itself
    assert repr(a["reasons"].to_list()) == repr(b["reasons"].to_list())
    assert record.artifact_path.endswith(".clz") and len(record.artifact_sha256) == 64


def test_anomaly_detector_round_trip(workspace: Workspace, anomaly: AnomalyDetector,
                                     split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    record = _register(workspace, anomaly, "anomaly")
    loaded = registry.load_model(workspace, record)
    np.testing.assert_array_equal(anomaly.score_samples(split[1]), loaded.score_samples(split[1]))


def test_hs_classifier_round_trip(workspace: Workspace, hs: HSClassifier,
                                  split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    record = _register(workspace, hs, "hs")
    loaded = registry.load_model(workspace, record)
    texts = [str(t) for t in split[1]["goods_description"].head(200)]
    np.testing.assert_array_equal(hs.predict_proba(texts), loaded.predict_proba(texts))
    assert [s.hs6 for s in hs.suggest(texts[:5])] == [s.hs6 for s in loaded.suggest(texts[:5])]


def test_bands_and_quantile_model_round_trip(workspace: Workspace, bands: ValueBands,
                                             quantile: UnitValueQuantileModel,
                                             split: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    store = BandRegistry(workspace.artifacts_dir)
    stored = store.save(bands, source="built")
    assert store.versions() == ["v1"] and stored.meta.version == "v1"
    path = store.save_model("v1", quantile)
    loaded = store.load("v1")
    assert loaded.table.equals(stored.table) and loaded.meta == stored.meta
    test = split[1]
    a = check_prices(test, stored).frame
    b = check_prices(test, loaded).frame
    assert a.equals(b)
    back = store.load_model("v1")
    assert back.predict_band(test).equals(quantile.predict_band(test))
    kinds = {m.kind: m for m in registry.list_models(workspace)}
    assert set(kinds) == {"bands", "quantile"}
    assert kinds["bands"].version == "bands-v1" and kinds["quantile"].version == "quantile-v1"
    assert (workspace.path / kinds["quantile"].artifact_path) == path
    assert store.save(bands).meta.version == "v2" and store.load().meta.version == "v2"


def test_an_unregistered_band_file_is_not_a_version(workspace: Workspace,
                                                     bands: ValueBands) -> None:
    store = BandRegistry(workspace)
    bands.write(store.root / "v1.parquet")  # the layout of an older Clearlane
    assert store.versions() == []
    with pytest.raises(Exception, match="older Clearlane"):
        store.load()
    assert store.save(bands).meta.version == "v2"
