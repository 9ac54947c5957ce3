"""Partitioned scoring on a real Dask cluster (two worker processes): the same features and
scores as the single-machine path, results written only when the whole job succeeded, and
plain errors when the scheduler cannot be reached or a worker keeps dying."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import numpy as np
import polars as pl
import pytest
from distributed import Client, LocalCluster
from faults import KillWorkerOn

from clearlane.errors import ValidationError
from clearlane.features.prepare import SCORING_COLUMNS
from clearlane.models import registry
from clearlane.scale.carry import advance_pipeline
from clearlane.scale.cluster import ClusterJobError, ClusterUnavailableError
from clearlane.scale.dataset import ASSESSMENTS_FORMAT, read_partition, verify_dataset
from clearlane.services.risk import assess_declarations, evaluate_model
from clearlane.services.scale import assess_parquet, train_on_cluster
from conftest import ScaleSetup


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    # one retry per task: a worker that dies twice on the same month fails the job quickly
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=":0") as cluster, Client(cluster) as opened:
        yield opened


def results(folder: Path) -> pl.DataFrame:
    manifest = verify_dataset(folder)
    assert manifest.format == ASSESSMENTS_FORMAT
    return pl.concat([read_partition(folder, p) for p in manifest.partitions])


def stored(setup: ScaleSetup) -> int:
    return int(setup.workspace.query("SELECT count(*) AS n FROM risk_assessments")["n"][0])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}"))


def test_features_on_the_cluster_equal_the_single_machine(scale_setup: ScaleSetup,
                                                          client: Client) -> None:
    ws = scale_setup.workspace
    model = registry.load_model(ws, registry.get_model(ws, None, kind="fraud"))
    pipeline = model.pipeline_
    parts = [read_partition(scale_setup.dataset, p, SCORING_COLUMNS)
             for p in scale_setup.manifest.partitions]
    assert len(parts) == 4 and parts[-1]["declared_at"].min() > pipeline.history_end_
    futures: list[Any] = []
    state = client.submit(lambda p: p, pipeline)
    for part in parts:
        futures.append(client.submit(type(pipeline).transform, state, part))
        state = client.submit(advance_pipeline, state, part)
    got = pl.concat(client.gather(futures))
    expected = pipeline.transform(pl.concat(parts))
    for name in expected.columns:
        a, b = expected[name].to_numpy(), got[name].to_numpy()
        if name.startswith(("uv_dev_", "uv_z_")):  # to rounding: see test_carry.VALUE_SUMS
            np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9, equal_nan=True, err_msg=name)
        else:
            assert np.array_equal(a, b, equal_nan=True), name


def test_scores_on_the_cluster_equal_assess(scale_setup: ScaleSetup, client: Client,
                                            tmp_path: Path) -> None:
    single = assess_declarations(scale_setup.workspace).assessments
    local = assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "local",
                           store=False)
    remote = assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "cluster",
                            client=client)
    assert remote.rows == local.rows == single.height == scale_setup.manifest.rows
    assert remote.partitions == len(scale_setup.manifest.partitions)
    on_cluster, here = results(tmp_path / "cluster"), results(tmp_path / "local")
    # the same code path: identical results with or without a cluster
    assert on_cluster.drop("assessed_at").equals(here.drop("assessed_at"))
    both = single.join(on_cluster, on=["declaration_id", "item_no"], suffix="_p", how="full",
                       coalesce=True)
    assert both.height == single.height
    fraud = (both["fraud_probability"] - both["fraud_probability_p"]).abs()
    assert fraud.null_count() == 0 and fraud.max() <= 1e-9  # type: ignore[operator]
    # the anomaly score adds unit-value z-scores: equal to their rounding (test_carry.VALUE_SUMS)
    np.testing.assert_allclose(both["anomaly_score_p"].to_numpy(),
                               both["anomaly_score"].to_numpy(), rtol=1e-7, atol=1e-9)
    assert (both["model_version"] == both["model_version_p"]).all()
    # stored: one row per item for the model, replacing the earlier `assess`
    assert stored(scale_setup) == single.height


def test_a_worker_that_keeps_dying_fails_the_job_and_writes_nothing(
        scale_setup: ScaleSetup, client: Client, tmp_path: Path) -> None:
    before = stored(scale_setup)
    target = tmp_path / "killed"
    month = scale_setup.manifest.partitions[2].year_month
    with pytest.raises(ClusterJobError, match="nothing was written") as failed:
        assess_parquet(scale_setup.workspace, scale_setup.dataset, target, client=client,
                       before_partition=KillWorkerOn(month))
    # the months queued on the dying workers fail with the one that kills them: all are named
    named = re.match(r"workers died while working on months? ([\d, -]+) \(", str(failed.value))
    assert named is not None, str(failed.value)
    assert month in named.group(1).split(", ")
    assert not target.exists() and leftovers(target) == []
    assert stored(scale_setup) == before
    client.wait_for_workers(2, timeout=60)


def test_a_worker_that_dies_once_is_retried(scale_setup: ScaleSetup, client: Client,
                                            tmp_path: Path) -> None:
    marker = tmp_path / "killed-once"
    month = scale_setup.manifest.partitions[1].year_month
    result = assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "retried",
                            client=client, store=False,
                            before_partition=KillWorkerOn(month, str(marker)))
    assert marker.exists()  # a worker did die
    clean = assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "clean",
                           store=False)
    assert result.rows == clean.rows
    assert results(tmp_path / "retried").drop("assessed_at").equals(
        results(tmp_path / "clean").drop("assessed_at"))
    client.wait_for_workers(2, timeout=60)


def test_an_unreachable_scheduler_is_a_plain_error(scale_setup: ScaleSetup,
                                                   tmp_path: Path) -> None:
    with pytest.raises(ClusterUnavailableError, match=r"cannot reach the Dask scheduler at "
                                                      r"tcp://127\.0\.0\.1:9 .*dask scheduler"):
        assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "out",
                       cluster="tcp://127.0.0.1:9", timeout=1)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("spec", ["local:0", "local:x", "127.0.0.1:8786", "tcp://"])
def test_a_wrong_cluster_value_names_the_valid_ones(scale_setup: ScaleSetup, tmp_path: Path,
                                                    spec: str) -> None:
    with pytest.raises(ValidationError, match="local:N"):
        assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "out",
                       cluster=spec)


def test_without_the_extra_the_message_names_it(scale_setup: ScaleSetup, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'clearlane\[cluster\]'"):
        assess_parquet(scale_setup.workspace, scale_setup.dataset, tmp_path / "out",
                       cluster="local:1")
    assert not (tmp_path / "out").exists() and leftovers(tmp_path / "out") == []


def test_trees_trained_on_the_cluster_rank_as_well(training_setup: ScaleSetup,
                                                   client: Client) -> None:
    ws = training_setup.workspace
    reference = registry.get_model(ws, None, kind="fraud")
    record = train_on_cluster(ws, training_setup.dataset, client=client)
    assert record.version != reference.version and record.status != "promoted"
    assert record.params["n_rounds"] == reference.params["n_rounds"]
    assert record.params["reference_model"] == reference.version
    assert (record.train_from, record.train_to) == (reference.train_from, reference.train_to)
    ours = registry.load_model(ws, record)
    theirs = registry.load_model(ws, reference)
    assert ours.booster_.num_trees() == theirs.booster_.num_trees()
    # held-out window: the days after training, inspected declarations only
    _, single = evaluate_model(ws, version=reference.version)
    _, cluster = evaluate_model(ws, version=record.version)
    assert single.n == cluster.n > 1000
    assert single.auc is not None and cluster.auc is not None
    assert abs(cluster.auc - single.auc) <= 0.005, (single.auc, cluster.auc)


def test_training_needs_a_cluster(training_setup: ScaleSetup) -> None:
    with pytest.raises(ValidationError, match="clearlane train"):
        train_on_cluster(training_setup.workspace, training_setup.dataset)
