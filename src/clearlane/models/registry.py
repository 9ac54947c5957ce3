"""The registry of every learned thing: window, features, metrics, provenance, artifact hash.

Rows live in the workspace table ``models``, one per artifact of any kind (:data:`KINDS`:
fraud model, anomaly detector, HS classifier, value bands, quantile model); artifacts are
data-only envelopes (:mod:`clearlane.artifacts`) under ``<workspace>/artifacts/``. The
SHA-256 of each artifact file is recorded when it is registered and compared with the file
on **every** load (:class:`~clearlane.errors.ArtifactIntegrityError` when they differ).
Status is ``candidate`` until promoted; one model per kind is ``promoted`` at a time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from clearlane.artifacts import SUFFIX, library_versions, read_artifact, write_artifact
from clearlane.audit import append as audit_append
from clearlane.audit.log import current_actor
from clearlane.errors import ArtifactError, NotFoundError, UntrustedArtifactError, ValidationError
from clearlane.store.workspace import Workspace

KINDS = ("fraud", "anomaly", "hs", "bands", "quantile")
CLASSES = {
    "fraud": "clearlane.models.fraud.FraudModel",
    "anomaly": "clearlane.models.anomaly.AnomalyDetector",
    "hs": "clearlane.hs.classifier.HSClassifier",
    "bands": "clearlane.valuation.bands.ValueBands",
    "quantile": "clearlane.valuation.quantile_model.UnitValueQuantileModel",
}
"""The class an artifact of each kind must hold."""
FINGERPRINT_SCHEME = "clearlane rows v2"
"""Names the fingerprint scheme in the hashed bytes (v1 hashed the key-sorted CSV text)."""
FINGERPRINT_SEEDS = (0x5EED_0001, 0x5EED_0002)
"""Two independent 64-bit row hashes: a changed row goes unnoticed with odds of about 2**-128."""


@dataclass(frozen=True)
class ModelRecord:
    version: str
    kind: str
    status: str
    created_at: datetime
    train_from: Any
    train_to: Any
    n_rows: int
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, Any]
    data_fingerprint: str
    library_versions: dict[str, str]
    artifact_path: str
    artifact_sha256: str
    promoted_at: datetime | None = None


def data_fingerprint(declarations: pl.DataFrame) -> str:
    """SHA-256 of the training rows as a multiset: independent of their order, changed by
    any value, column name or type.

    Each row is hashed by Polars (``hash_rows`` with fixed seeds: the same in every run and
    process for one Polars version, which ``library_versions`` records beside it); the 64-bit
    row hashes are sorted and their bytes hashed together with the schema. Nothing is
    serialised to text and the frame is not sorted: the cost is one pass over the columns and
    8 bytes per row. Fingerprints written before this scheme (SHA-256 of the key-sorted CSV
    text) differ for the same data; nothing compares fingerprints, they identify the data a
    model was trained on.
    """
    return DataFingerprint().add(declarations).hexdigest()


class DataFingerprint:
    """:func:`data_fingerprint` of a frame given in parts (the same columns in each): the
    same digest as of the parts stacked, without stacking them; 16 bytes per row are kept."""

    def __init__(self) -> None:
        self._schema: list[list[str]] | None = None
        self._height = 0
        self._hashes: list[list[np.ndarray]] = [[] for _ in FINGERPRINT_SEEDS]

    def add(self, part: pl.DataFrame) -> DataFingerprint:
        frame = part.with_columns(
            pl.col(name).cast(pl.String) for name, dtype in part.schema.items()
            if isinstance(dtype, pl.Categorical | pl.Enum))  # physical codes vary by process
        schema = [[n, str(t)] for n, t in frame.schema.items()]
        if self._schema is None:
            self._schema = schema
        elif schema != self._schema:
            raise ValidationError(f"a part has the columns {schema}; the first had {self._schema}")
        self._height += frame.height
        for seed, kept in zip(FINGERPRINT_SEEDS, self._hashes, strict=True):
            kept.append(frame.hash_rows(seed=seed).to_numpy())
        return self

    def hexdigest(self) -> str:
        digest = hashlib.sha256(FINGERPRINT_SCHEME.encode())
        digest.update(json.dumps(self._schema or []).encode())
        digest.update(self._height.to_bytes(8, "little"))
        for kept in self._hashes:
            rows = np.sort(np.concatenate(kept)) if kept else np.empty(0, dtype=np.uint64)
            digest.update(rows.astype("<u8", copy=False).tobytes())
        return digest.hexdigest()


def new_version(kind: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")
    return f"{kind}-{stamp}"


def register(
    workspace: Workspace,
    model: Any,
    kind: str,
    *,
    train_from: Any,
    train_to: Any,
    n_rows: int,
    features: list[str],
    params: dict[str, Any],
    metrics: dict[str, Any],
    fingerprint: str,
    version: str | None = None,
    path: Path | None = None,
    history_of: str | None = None,
) -> ModelRecord:
    """Save the artifact (atomically) and insert the registry row with the file's SHA-256.

    ``version`` defaults to ``<kind>-<timestamp>`` and ``path`` to
    ``<artifacts>/models/<version>.clz``; a given ``path`` must lie inside the workspace's
    artifacts folder. A fitted feature pipeline's history goes to :func:`history_dir`
    (written before the artifact, atomically), not into the artifact. ``history_of``: the
    version of a model trained with the same pipeline (the fraud model an anomaly detector
    was trained beside): this model's history tables are added to that model's dataset, where
    the tables they share are stored once, and its artifact names that folder.
    """
    if kind not in KINDS:
        raise ValidationError(f"unknown model kind {kind!r}; valid: {list(KINDS)}")
    version = version or new_version(kind)
    path = path or workspace.artifacts_dir / "models" / f"{version}{SUFFIX}"
    if not path.resolve().is_relative_to(workspace.artifacts_dir.resolve()):
        raise ValidationError(f"artifact path {str(path)!r} is outside {str(workspace.artifacts_dir)!r}")
    info = write_artifact(model, path, kind=kind, version=version,
                          history=history_dir(workspace, history_of or version),
                          share_history=history_of is not None)
    record = ModelRecord(
        version=version, kind=kind, status="candidate", created_at=datetime.now(UTC),
        train_from=train_from, train_to=train_to, n_rows=n_rows, features=features,
        params=params, metrics=metrics, data_fingerprint=fingerprint,
        library_versions=library_versions(),
        artifact_path=path.resolve().relative_to(workspace.path.resolve()).as_posix(),
        artifact_sha256=info.sha256,
    )
    with workspace.transaction() as con:
        con.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [record.version, record.kind, record.status, record.created_at, train_from, train_to,
             n_rows, json.dumps(features), json.dumps(params, default=str),
             json.dumps(metrics, default=str), fingerprint, json.dumps(record.library_versions),
             record.artifact_path, record.artifact_sha256, None],
        )
        audit_append(con, action="model.register", object_type="model", object_id=version,
                     change={"kind": kind, "artifact_sha256": info.sha256, "rows": n_rows})
    return record


def record_from_row(row: dict[str, Any]) -> ModelRecord:
    """The :class:`ModelRecord` of one ``models`` table row (a dict of its columns)."""
    return ModelRecord(
        version=row["version"], kind=row["kind"], status=row["status"],
        created_at=row["created_at"], train_from=row["train_from"], train_to=row["train_to"],
        n_rows=int(row["n_rows"] or 0), features=json.loads(row["features"]),
        params=json.loads(row["params"] or "{}"), metrics=json.loads(row["metrics"] or "{}"),
        data_fingerprint=row["data_fingerprint"],
        library_versions=json.loads(row["library_versions"]),
        artifact_path=row["artifact_path"], artifact_sha256=row["artifact_sha256"],
        promoted_at=row["promoted_at"],
    )


def list_models(workspace: Workspace, kind: str | None = None) -> list[ModelRecord]:
    """Registered models, newest first."""
    where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
    frame = workspace.query(f"SELECT * FROM models {where} ORDER BY created_at DESC", params)
    return [record_from_row(r) for r in frame.to_dicts()]


def get_model(workspace: Workspace, version: str | None = None, kind: str = "fraud") -> ModelRecord:
    """One model by version, or the promoted (else newest) model of ``kind``."""
    if version:
        frame = workspace.query("SELECT * FROM models WHERE version = ?", [version])
        if frame.height == 0:
            known = [m.version for m in list_models(workspace)][:10]
            raise NotFoundError(f"no model {version!r} in the registry; known: {known or 'none'}")
        return record_from_row(frame.to_dicts()[0])
    models = list_models(workspace, kind)
    if not models:
        raise NotFoundError(f"no {kind} model in the registry; train one with `clearlane train`")
    promoted = [m for m in models if m.status == "promoted"]
    return promoted[0] if promoted else models[0]


def promote(workspace: Workspace, version: str, *, reason: str | None = None,
            action: str = "promote", comparison: dict[str, Any] | None = None) -> ModelRecord:
    """Make ``version`` the promoted model of its kind (the previous one becomes retired).

    The change is kept in ``model_promotions`` (kind, version, the version it replaced, who,
    when, ``action`` ``promote`` or ``rollback``, the reason and the comparison it was based
    on), so that a rollback knows what was promoted before, and audited as ``model.promote``
    or ``model.rollback``.
    """
    if action not in ("promote", "rollback"):
        raise ValidationError(f"unknown promotion action {action!r}; valid: promote, rollback")
    record = get_model(workspace, version)
    now = datetime.now(UTC)
    with workspace.transaction() as con:
        row = con.execute(
            "SELECT version FROM models WHERE kind = ? AND status = 'promoted' "
            "ORDER BY promoted_at DESC NULLS LAST LIMIT 1", [record.kind]).fetchone()
        previous = None if row is None else str(row[0])
        con.execute(
            "UPDATE models SET status = 'retired' WHERE kind = ? AND status = 'promoted'",
            [record.kind],
        )
        con.execute(
            "UPDATE models SET status = 'promoted', promoted_at = ? WHERE version = ?",
            [now, version],
        )
        actor = current_actor()
        con.execute(
            "INSERT INTO model_promotions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [now.replace(tzinfo=None), record.kind, version, previous, actor, action, reason,
             None if comparison is None else json.dumps(comparison, default=str)],
        )
        audit_append(con, action=f"model.{action}", object_type="model", object_id=version,
                     change={"kind": record.kind, "previous": previous, "reason": reason,
                             "comparison": comparison})
    return get_model(workspace, version)


def history_dir(workspace: Workspace, version: str) -> Path:
    """Where a registered model's history dataset is written:
    ``<artifacts>/history/<version>/`` (its artifact's manifest names it, relative to the
    artifact's folder, with the SHA-256 of each file)."""
    return workspace.artifacts_dir / "history" / version


def artifact_file(workspace: Workspace, record: ModelRecord) -> Path:
    """The artifact file of a registered model (it may be missing)."""
    return workspace.path / record.artifact_path


def load_model(workspace: Workspace, record: ModelRecord) -> Any:
    """Load a registered model's artifact, checking the registry's SHA-256 of the file first.

    Errors: :class:`NotFoundError` (file missing), :class:`ArtifactIntegrityError` (the file
    changed since it was registered), :class:`LegacyArtifactError` (an old pickle envelope:
    retrain), :class:`ArtifactError` (corrupt or foreign), :class:`UntrustedArtifactError`
    (a registry row pointing outside the workspace's artifacts folder).
    """
    path = artifact_file(workspace, record)
    if not path.exists():
        raise NotFoundError(f"artifact {str(path)!r} of model {record.version!r} is missing")
    if not path.resolve().is_relative_to(workspace.artifacts_dir.resolve()):
        raise UntrustedArtifactError(
            f"model {record.version!r} points at {str(path)!r}, outside the workspace artifacts "
            "folder; it was not loaded"
        )
    model, _ = read_artifact(path, kind=record.kind, expected_sha256=record.artifact_sha256,
                             trusted_dir=workspace.artifacts_dir)
    found = f"{type(model).__module__}.{type(model).__qualname__}"
    if record.kind in CLASSES and found != CLASSES[record.kind]:
        raise ArtifactError(f"artifact {str(path)!r} of {record.kind} model {record.version!r} "
                            f"holds a {found}, not a {CLASSES[record.kind]}; it was not loaded")
    if record.kind == "fraud":
        from clearlane.artifacts.native import CompiledCache

        # compile() keeps native code only when its hash matches this workspace's record
        model._compiled_cache = CompiledCache(workspace)
    return model


def import_model(workspace: Workspace, path: Path, *, trust: bool = False) -> ModelRecord:
    """Register a model artifact saved elsewhere (e.g. trained by another office) as a new
    ``candidate``: read with every check of the envelope (outside the workspace's artifacts
    folder only with ``trust``), then saved into this workspace under a new version."""
    model, manifest = read_artifact(path, trusted_dir=workspace.artifacts_dir, trust=trust)
    kind = str(manifest.get("kind"))
    if kind not in ("fraud", "anomaly", "hs"):
        raise ValidationError(
            f"{str(path)!r} holds a {kind!r} artifact; `models import` takes fraud, anomaly and "
            "hs models (value bands: `clearlane valuation import`)"
        )
    return register(
        workspace, model, kind, train_from=None, train_to=None,
        n_rows=int(getattr(model, "n_train_", 0) or 0),
        features=list(getattr(model, "feature_names_", []) or []),
        params={"imported_from": str(path), "source_version": manifest.get("version"),
                "source_libraries": manifest.get("libraries")},
        metrics=dict(getattr(model, "validation_metrics_", {}) or {}),
        fingerprint=f"imported {manifest.get('version')}",
    )
