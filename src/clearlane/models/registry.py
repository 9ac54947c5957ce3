"""The model registry: every trained model with its window, features, metrics and provenance.

Rows live in the workspace table ``models``; artifacts in ``<workspace>/artifacts/models/``.
Status is ``candidate`` until promoted; one model per kind is ``promoted`` at a time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from clearlane.errors import NotFoundError, ValidationError
from clearlane.models.persistence import library_versions, load_artifact, save_artifact
from clearlane.store.workspace import Workspace

KINDS = ("fraud", "anomaly")


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
    """SHA-256 over the sorted keys and content of the training rows (order-independent)."""
    keys = [c for c in ("declaration_id", "item_no") if c in declarations.columns]
    frame = declarations.sort(keys) if keys else declarations
    digest = hashlib.sha256()
    digest.update(",".join(frame.columns).encode())
    # CSV text is stable across library versions, unlike in-memory row hashes.
    digest.update(frame.write_csv().encode())
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
) -> ModelRecord:
    """Save the artifact and insert the registry row (status ``candidate``)."""
    if kind not in KINDS:
        raise ValidationError(f"unknown model kind {kind!r}; valid: {list(KINDS)}")
    version = new_version(kind)
    path = workspace.artifacts_dir / "models" / f"{version}.clm"
    header = save_artifact(model, path, kind, version)
    record = ModelRecord(
        version=version, kind=kind, status="candidate", created_at=datetime.now(UTC),
        train_from=train_from, train_to=train_to, n_rows=n_rows, features=features,
        params=params, metrics=metrics, data_fingerprint=fingerprint,
        library_versions=library_versions(),
        artifact_path=str(path.relative_to(workspace.path)),
        artifact_sha256=header["payload_sha256"],
    )
    with workspace.transaction() as con:
        con.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [record.version, record.kind, record.status, record.created_at, train_from, train_to,
             n_rows, json.dumps(features), json.dumps(params, default=str),
             json.dumps(metrics, default=str), fingerprint, json.dumps(record.library_versions),
             record.artifact_path, record.artifact_sha256, None],
        )
    return record


def _record(row: dict[str, Any]) -> ModelRecord:
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
    return [_record(r) for r in frame.to_dicts()]


def get_model(workspace: Workspace, version: str | None = None, kind: str = "fraud") -> ModelRecord:
    """One model by version, or the promoted (else newest) model of ``kind``."""
    if version:
        frame = workspace.query("SELECT * FROM models WHERE version = ?", [version])
        if frame.height == 0:
            known = [m.version for m in list_models(workspace)][:10]
            raise NotFoundError(f"no model {version!r} in the registry; known: {known or 'none'}")
        return _record(frame.to_dicts()[0])
    models = list_models(workspace, kind)
    if not models:
        raise NotFoundError(f"no {kind} model in the registry; train one with `clearlane train`")
    promoted = [m for m in models if m.status == "promoted"]
    return promoted[0] if promoted else models[0]


def promote(workspace: Workspace, version: str) -> ModelRecord:
    """Make ``version`` the promoted model of its kind (the previous one becomes retired)."""
    record = get_model(workspace, version)
    now = datetime.now(UTC)
    with workspace.transaction() as con:
        con.execute(
            "UPDATE models SET status = 'retired' WHERE kind = ? AND status = 'promoted'",
            [record.kind],
        )
        con.execute(
            "UPDATE models SET status = 'promoted', promoted_at = ? WHERE version = ?",
            [now, version],
        )
    return get_model(workspace, version)


def load_model(workspace: Workspace, record: ModelRecord) -> Any:
    """Load a registered model's artifact (inside the workspace, so trusted)."""
    path = workspace.path / record.artifact_path
    if not path.exists():
        raise NotFoundError(f"artifact {str(path)!r} of model {record.version!r} is missing")
    return load_artifact(path, trusted_dir=workspace.artifacts_dir)
