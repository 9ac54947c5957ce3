"""Partitioned-data use cases: export the declarations as a month-partitioned Parquet dataset,
and assess such a dataset partition by partition, on this machine or on a Dask cluster.

Both write their output folder atomically (a hidden folder renamed into place when complete):
a failed or interrupted job leaves no output and changes nothing in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from clearlane.errors import ValidationError
from clearlane.models import registry
from clearlane.models.anomaly import SIGNALS, AnomalyDetector
from clearlane.models.fraud import DEFAULT_GRID, FraudModel
from clearlane.scale.dataset import (
    ASSESSMENTS_FORMAT,
    DECLARATIONS_FORMAT,
    Manifest,
    Partition,
    read_manifest,
    refuse_existing,
    staged_directory,
    verify_dataset,
    write_manifest,
)
from clearlane.scale.export import export_declarations
from clearlane.scale.scoring import PartitionHook, Progress, ScoringModels, run_local
from clearlane.scoring.assessments import ASSESSMENT_SCHEMA
from clearlane.services import audit
from clearlane.services.risk import (
    COMPILE_FROM_ROWS,
    TRAINING_COLUMNS,
    UNAVAILABLE_ANOMALY,
    TrainResult,
    register_trained,
)
from clearlane.store.workspace import Workspace


def export_parquet(workspace: Workspace, target: Path, *, overwrite: bool = False,
                   progress: Progress | None = None) -> Manifest:
    """Write every declaration of ``workspace`` to ``target`` as a Parquet dataset partitioned
    by month (``year_month=YYYY-MM``), with its manifest; returns the manifest."""
    schema_version = workspace.schema_version()
    with workspace.connect() as con:
        return export_declarations(con, Path(target), schema_version, overwrite=overwrite,
                                   progress=progress)


@dataclass(frozen=True)
class PartitionedAssessResult:
    """What a partitioned assessment did: rows and months scored, the model versions, the
    output dataset's manifest, whether the store was updated, and warnings."""

    rows: int
    partitions: int
    model_version: str
    anomaly_version: str | None
    output: Path
    manifest: Manifest
    stored: bool
    cluster: str | None
    warnings: tuple[str, ...] = ()


def load_scoring_models(workspace: Workspace, version: str | None = None,
                        explain_share: float = 0.1) -> ScoringModels:
    """The fraud model (``version``, else the promoted or newest) and the anomaly detector
    (when one is registered) of ``workspace``, ready to ship to workers."""
    record = registry.get_model(workspace, version, kind="fraud")
    models: dict[str, Any] = {"fraud": registry.load_model(workspace, record)}
    versions = {"fraud": record.version}
    if registry.list_models(workspace, kind="anomaly"):
        anomaly = registry.get_model(workspace, None, kind="anomaly")
        models["anomaly"] = registry.load_model(workspace, anomaly)
        versions["anomaly"] = anomaly.version
    shared = "anomaly" in models and models["anomaly"].pipeline_.shares_history_of(
        models["fraud"].pipeline_)
    return ScoringModels(models, versions, explain_share=explain_share,
                         anomaly_unavailable=None if "anomaly" in models else UNAVAILABLE_ANOMALY,
                         shared_history=shared)


def assess_parquet(
    workspace: Workspace,
    source: Path,
    output: Path,
    *,
    version: str | None = None,
    cluster: str | None = None,
    client: Any = None,
    explain_share: float = 0.1,
    store: bool = True,
    overwrite: bool = False,
    timeout: float = 10.0,
    progress: Progress | None = None,
    before_partition: PartitionHook | None = None,
) -> PartitionedAssessResult:
    """Assess the declarations dataset in ``source`` month by month with a registered fraud
    model and the anomaly detector; write the assessments to ``output`` (a dataset of the
    same months) and, when ``store``, into ``risk_assessments`` (replacing earlier
    assessments of the same rows by the same model, like ``assess``).

    Each month's history features see every earlier month (carried forward in time order),
    so the scores equal those of ``assess`` on the same declarations. ``cluster``
    (``local:N`` or ``tcp://host:port``) or an open ``client`` runs the months on Dask
    (extra ``cluster``); without either they run here one at a time. ``before_partition``
    is called on the worker with each month before it is scored (fault injection in tests).
    """
    if cluster is not None:
        from clearlane.scale.cluster import parse_cluster

        parse_cluster(cluster)  # a wrong value is refused before any work
    if cluster is not None or client is not None:
        from clearlane.scale.cluster import require_distributed

        require_distributed()  # a missing extra too
    refuse_existing(Path(output), overwrite)  # before any work
    source = Path(source)
    manifest = verify_dataset(source, read_manifest(source, DECLARATIONS_FORMAT))
    models = load_scoring_models(workspace, version, explain_share)
    if cluster is None and client is None and manifest.rows >= COMPILE_FROM_ROWS:
        # in this process, as `assess` does: native trees (extra `fast`), compiled once per
        # model and cached in the workspace (workers score with LightGBM's own predictor)
        models.models["fraud"].compile(workspace.artifacts_dir / "compiled")
    if before_partition is not None:
        models = replace(models, hook=before_partition)
    assessed_at = datetime.now(UTC).replace(tzinfo=None)
    schema_version = workspace.schema_version()
    with staged_directory(Path(output), overwrite=overwrite) as staging:
        written = _run(models, source, manifest, staging, assessed_at, cluster, client,
                       timeout, progress)
        result_manifest = write_manifest(
            staging, ASSESSMENTS_FORMAT, schema_version,
            [(name, str(kind)) for name, kind in ASSESSMENT_SCHEMA.items()], written,
            model_version=models.versions["fraud"],
            anomaly_version=models.versions.get("anomaly"),
            source_digest=manifest.digest, assessed_at=assessed_at.isoformat())
        if store:
            _store(workspace, staging, written, models.versions, source)
    return PartitionedAssessResult(
        rows=result_manifest.rows, partitions=len(written),
        model_version=models.versions["fraud"], anomaly_version=models.versions.get("anomaly"),
        output=Path(output), manifest=result_manifest, stored=store,
        cluster=cluster or (_address(client) if client is not None else None),
        warnings=((f"anomaly scorer unavailable: {models.anomaly_unavailable}",)
                  if models.anomaly_unavailable else ()))


def train_out_of_core(
    workspace: Workspace,
    source: Path,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    seed: int = 42,
    search: bool = True,
    promote: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """``clearlane train`` from a dataset written by ``clearlane export --parquet``, one month
    in memory at a time: the same fraud model and anomaly detector as ``train`` on the same
    declarations (tests compare them), registered in ``workspace`` the same way.

    Memory holds the history (per-key daily sums), one month, and the features of the
    labelled rows, not the whole training window and its features.
    """
    from clearlane.scale.fitting import gather_training_data

    source = Path(source)
    manifest = verify_dataset(source, read_manifest(source, DECLARATIONS_FORMAT))
    fraud = FraudModel(grid=None if search else [DEFAULT_GRID[0]], random_state=seed)
    detector = AnomalyDetector(random_state=seed)
    data = gather_training_data(source, manifest, TRAINING_COLUMNS, date_from=date_from,
                                date_to=date_to, feature_params=dict(fraud.feature_params or {}),
                                signal_names=[name for name, _, _ in SIGNALS],
                                progress=progress)
    model = None
    if data.inspected >= 50:
        model = fraud.fit_labelled(data.pipeline, data.X, data.y, data.days, data.revenue)
    detector.fit_shared(data.pipeline, data.signals)
    return register_trained(workspace, model, detector, first=data.first, last=data.last,
                            n_rows=data.rows, fingerprint=data.fingerprint, seed=seed,
                            promote=promote,
                            details={"trained_on": "parquet", "source_digest": manifest.digest})


def train_on_cluster(
    workspace: Workspace,
    source: Path,
    *,
    cluster: str | None = None,
    client: Any = None,
    version: str | None = None,
    promote: bool = False,
    timeout: float = 10.0,
) -> registry.ModelRecord:
    """Refit a registered fraud model's trees on a Dask cluster (``lightgbm.dask``) from the
    dataset in ``source``, with the parameters and rounds the model chose on its validation
    window; register the result as a new fraud model (promoted when ``promote``).

    The reference is ``version``, else the promoted or newest fraud model; the training
    window is its own. Compare the two with ``clearlane evaluate --model``.
    """
    if cluster is None and client is None:
        raise ValidationError("training on a cluster needs --cluster local:N or tcp://HOST:PORT; "
                              "on one machine use `clearlane train`")
    from clearlane.scale.cluster import cluster_client, parse_cluster, require_distributed
    from clearlane.scale.training import train_trees_on_cluster

    if cluster is not None:
        parse_cluster(cluster)
    require_distributed()
    source = Path(source)
    manifest = verify_dataset(source, read_manifest(source, DECLARATIONS_FORMAT))
    record = registry.get_model(workspace, version, kind="fraud")
    model = registry.load_model(workspace, record)
    first, last = _as_date(record.train_from), _as_date(record.train_to)
    if client is not None:
        refitted = train_trees_on_cluster(client, model, source, manifest, first, last)
        where = _address(client)
    else:
        assert cluster is not None
        with cluster_client(cluster, timeout=timeout) as opened:
            refitted = train_trees_on_cluster(opened, model, source, manifest, first, last)
        where = cluster
    new = registry.register(
        workspace, refitted, "fraud", train_from=record.train_from, train_to=record.train_to,
        n_rows=record.n_rows, features=list(record.features),
        params={**record.params, "trained_on": "dask", "cluster": where,
                "reference_model": record.version, "source_digest": manifest.digest},
        metrics={}, fingerprint=record.data_fingerprint,
        history_of=record.version)  # the same pipeline: share its history dataset
    return registry.promote(workspace, new.version) if promote else new


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _address(client: Any) -> str:
    scheduler = getattr(client, "scheduler", None)
    return str(getattr(scheduler, "address", "a Dask client"))


def _run(models: ScoringModels, source: Path, manifest: Manifest, staging: Path,
         assessed_at: datetime, cluster: str | None, client: Any, timeout: float,
         progress: Progress | None) -> list[Partition]:
    if client is None and cluster is None:
        return run_local(models, source, manifest, staging, assessed_at, progress)
    from clearlane.scale.cluster import cluster_client, run_on_cluster

    if client is not None:
        return run_on_cluster(client, models, source, manifest, staging, assessed_at, progress)
    assert cluster is not None
    with cluster_client(cluster, timeout=timeout) as opened:
        return run_on_cluster(opened, models, source, manifest, staging, assessed_at, progress)


def _store(workspace: Workspace, folder: Path, written: list[Partition],
           versions: dict[str, str], source: Path) -> None:
    files = [str(folder / p.path) for p in written]
    if not files:
        return
    rows = sum(p.rows for p in written)
    with workspace.transaction() as con:
        # month by month, inside the one transaction: the store never holds more than a month
        # of new rows apart from the table itself
        for path in files:
            con.execute(
                "DELETE FROM risk_assessments WHERE model_version = ? AND (declaration_id, "
                "item_no) IN (SELECT declaration_id, item_no FROM read_parquet(?, "
                "hive_partitioning = false))", [versions["fraud"], path])
            con.execute("INSERT INTO risk_assessments BY NAME SELECT * FROM read_parquet(?, "
                        "hive_partitioning = false)", [path])
        audit.record(con, action="assess.run", object_type="model", object_id=versions["fraud"],
                     change={"rows": rows, "anomaly_version": versions.get("anomaly"),
                             "source": str(source), "partitions": len(written)})
