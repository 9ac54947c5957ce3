"""The one file format of every learned thing: a zip of JSON, NumPy arrays, LightGBM text, Arrow.

An artifact (``*.clz``) is a zip file holding

* ``manifest.json``: ``format`` (``clearlane-artifact``), ``envelope_version``, ``kind``
  (``fraud``, ``anomaly``, ``hs``, ``bands``, ``quantile``...), ``version``, library versions,
  ``created_at``, free ``meta`` and the SHA-256 and size of every other member;
* ``state.json``: the object's state as a JSON tree (see :mod:`clearlane.artifacts.codec`);
* binary members: ``arrays/N.npy``, ``frames/N.arrow``, ``boosters/N.txt``.

**History dataset.** The fitted history of a feature pipeline (the per-key daily sums, which
grow with the history; the attributes its class lists in ``EXTERNAL_STATE``) is not kept in
the zip when the artifact is written to a file: :func:`write_artifact` writes those tables as
Arrow IPC files (zstd) into a folder of their own, atomically (a temporary folder,
then renamed), before the artifact; each file is named by its content (the first 32 hex
digits of its SHA-256), so models that share tables (the anomaly detector trained beside a
fraud model, ``share_history``) share the files. The manifest's ``history`` entry names that folder
(``path``, relative to the artifact's folder) and the SHA-256 and size of each file, so the
artifact's own SHA-256 (the registry's) covers them. A registered model's dataset is
``<workspace>/artifacts/history/<version>/`` (``path`` ``../history/<version>``); a model
saved elsewhere keeps it beside the file (``m.clz`` → ``m.history/``). On load every history
file is checked against the manifest (:class:`~clearlane.errors.ArtifactIntegrityError` when
one changed; a missing one is an :class:`~clearlane.errors.ArtifactError` naming the folder),
and the folder obeys the same trust rule as the artifact. To move such a model, copy the
artifact and its history folder keeping their relative place. Artifacts written before this
(the history inside the zip) and artifacts made with :func:`dumps` (bytes, no file: the
history stays inside) load as before.

Reading never runs code from the file: no pickle, arrays read with ``allow_pickle=False``,
objects built only from the allowlist (:mod:`clearlane.artifacts.allowlist`). The file is read
into memory once; its SHA-256 (checked against the registry's when one is given) and the
member hashes are verified on those same bytes before anything is decoded. One trust rule: a
file outside ``trusted_dir`` (the workspace's ``artifacts`` folder) loads only with
``trust=True`` (CLI ``--trust-artifact``). Writes are atomic (a temporary file, then
``os.replace``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import shutil
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from clearlane.artifacts.codec import EXTERNAL_FOLDER, decode, encode_split
from clearlane.errors import (
    ArtifactError,
    ArtifactIntegrityError,
    ClearlaneError,
    LegacyArtifactError,
    NotFoundError,
    UntrustedArtifactError,
)
from clearlane.store.workspace import atomic_write

FORMAT = "clearlane-artifact"
ENVELOPE_VERSION = 1
SUFFIX = ".clz"
MANIFEST = "manifest.json"
STATE = "state.json"
LIBRARIES = ("clearlane", "lightgbm", "scikit-learn", "numpy", "scipy", "polars")
RETRAIN = {
    "fraud": "clearlane train",
    "anomaly": "clearlane train",
    "hs": "clearlane hs train",
    "bands": "clearlane valuation build",
    "quantile": "clearlane valuation build --with-model",
}
_LEGACY_FORMATS = {"clearlane-model": "clearlane train", "clearlane-hs-classifier": "clearlane hs train"}
# Already-compressed members are stored; text and arrays are deflated.
_STORED_SUFFIXES = (".arrow",)
HISTORY_SUFFIX = ".history"
"""A standalone artifact ``m.clz`` keeps its history dataset in the folder ``m.history``."""
_HISTORY_NAME = re.compile(rf"^{EXTERNAL_FOLDER}/([0-9a-f]{{32}}\.arrow)$")


@dataclass(frozen=True)
class ArtifactInfo:
    """What :func:`write_artifact` wrote: the path, the file's SHA-256 and size, the manifest."""

    path: Path
    sha256: str
    bytes: int
    manifest: dict[str, Any]


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on (and Python)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dumps(obj: Any, *, kind: str, version: str, meta: dict[str, Any] | None = None) -> tuple[bytes, dict[str, Any]]:
    """The artifact bytes of ``obj`` and its manifest, everything inside (no history dataset)."""
    payload, manifest, _ = _dumps(obj, kind=kind, version=version, meta=meta, history=None)
    return payload, manifest


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _dumps(obj: Any, *, kind: str, version: str, meta: dict[str, Any] | None,
           history: str | None) -> tuple[bytes, dict[str, Any], dict[str, bytes]]:
    """(artifact bytes, manifest, history members): with ``history`` (the dataset's folder,
    relative to the artifact's), the fitted history tables are left out of the artifact and
    its manifest records them (name → SHA-256 and size) under ``history``."""
    tree, members, external = encode_split(obj, external=history is not None)
    state = json.dumps(tree, separators=(",", ":"), allow_nan=False).encode()
    members = {STATE: state, **members}
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "envelope_version": ENVELOPE_VERSION,
        "kind": kind,
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        "meta": meta or {},
        "members": {name: _digest(data) for name, data in members.items()},
    }
    if external:
        manifest["history"] = {"path": history,
                               "files": {name: _digest(data) for name, data in external.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True),
                         compress_type=zipfile.ZIP_DEFLATED)
        for name, data in members.items():
            stored = name.endswith(_STORED_SUFFIXES)
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED if stored
                             else zipfile.ZIP_DEFLATED)
    return buffer.getvalue(), manifest, external


def default_history_dir(path: Path | str) -> Path:
    """Where a standalone artifact keeps its history dataset: ``m.clz`` → ``m.history/``."""
    target = Path(path)
    return target.with_name(target.stem + HISTORY_SUFFIX)


def _history_files(members: dict[str, bytes]) -> dict[str, bytes]:
    out = {}
    for name, data in members.items():
        match = _HISTORY_NAME.match(name)
        if match is None:  # names come from the codec; anything else is a bug
            raise ArtifactError(f"unexpected history member name {name!r}")
        out[match.group(1)] = data
    return out


def add_history(folder: Path, members: dict[str, bytes]) -> None:
    """Add the history tables to the existing dataset ``folder`` (another model's, shared):
    files are named by content, so a file already there with the right SHA-256 is kept; any
    other is written atomically (a temporary file, then renamed)."""
    if not folder.is_dir():
        write_history(folder, members)
        return
    for file, data in _history_files(members).items():
        target = folder / file
        if target.is_file() and file_sha256(target) == hashlib.sha256(data).hexdigest():
            continue
        atomic_write(target, data)


def write_history(folder: Path, members: dict[str, bytes]) -> None:
    """Write the history tables into ``folder`` atomically: a temporary folder beside it,
    then renamed (a folder already there is replaced)."""
    files = _history_files(members)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.tmp")
    temporary.mkdir()
    try:
        for file, data in files.items():
            with (temporary / file).open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.old")
            os.replace(folder, old)
        os.replace(temporary, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def write_artifact(obj: Any, path: Path | str, *, kind: str, version: str,
                   meta: dict[str, Any] | None = None, history: Path | str | None = None,
                   embed_history: bool = False, share_history: bool = False) -> ArtifactInfo:
    """Save ``obj`` at ``path`` (atomically); returns what was written.

    The fitted history of a feature pipeline (the tables its class lists in
    ``EXTERNAL_STATE``) goes into a separate dataset, the folder ``history`` (default
    :func:`default_history_dir`: beside the artifact), written first and atomically; the
    artifact's manifest names the folder (relative to the artifact's folder) and the SHA-256
    of each of its files, so the artifact's own hash covers them. ``embed_history`` keeps
    everything inside the artifact (the layout before history datasets). Nothing is written
    outside ``path`` when the object holds no such history. ``share_history``: ``history`` is
    another model's dataset, to which this one's tables are added (files are named by their
    content, so the tables the two models share are stored once); without it the folder is
    replaced.
    """
    target = Path(path)
    folder = None if embed_history else Path(history or default_history_dir(target))
    relative = None if folder is None else Path(
        os.path.relpath(folder.resolve(), target.parent.resolve())).as_posix()
    payload, manifest, external = _dumps(obj, kind=kind, version=version, meta=meta,
                                         history=relative)
    if external and folder is not None:
        (add_history if share_history else write_history)(folder, external)
    atomic_write(target, payload)
    return ArtifactInfo(target, hashlib.sha256(payload).hexdigest(), len(payload), manifest)


def history_folder(path: Path | str, manifest: dict[str, Any]) -> Path | None:
    """The history dataset folder an artifact's manifest names (None when it has none)."""
    history = manifest.get("history")
    if not isinstance(history, dict):
        return None
    return (Path(path).resolve().parent / str(history.get("path"))).resolve()


def check_trust(path: Path, trusted_dir: Path | None, trust: bool) -> None:
    """The one trust rule: inside ``trusted_dir``, or ``trust`` given explicitly."""
    inside = trusted_dir is not None and Path(path).resolve().is_relative_to(Path(trusted_dir).resolve())
    if not (inside or trust):
        where = f"the workspace artifacts folder {str(trusted_dir)!r}" if trusted_dir else "a workspace"
        raise UntrustedArtifactError(
            f"refusing to load artifact {str(path)!r}: it is outside {where}. Load it only if "
            "you trust where it came from: pass --trust-artifact (trust=True in Python)"
        )


def _legacy(data: bytes) -> str | None:
    """The retrain command when ``data`` is an old pickle envelope (its JSON header only is
    read: the pickle after it never is)."""
    if not data.startswith(b"{"):
        return None
    line = data.split(b"\n", 1)[0]
    try:
        header = json.loads(line)
    except ValueError:
        return None
    return _LEGACY_FORMATS.get(str(header.get("format"))) if isinstance(header, dict) else None


def _parse(data: bytes, where: str) -> tuple[dict[str, Any], zipfile.ZipFile]:
    """The verified manifest and the open archive (every member's hash checked when read)."""
    if not data.startswith(b"PK"):
        raise ArtifactError(f"{where} is not a Clearlane artifact (not a zip file); it was not loaded")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(archive.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError, RuntimeError,
            NotImplementedError, zlib.error) as exc:
        raise ArtifactError(f"{where} is corrupt or not a Clearlane artifact ({exc}); "
                            "it was not loaded") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{where} is not a Clearlane artifact (no {FORMAT} manifest)")
    if manifest.get("envelope_version") != ENVELOPE_VERSION:
        raise ArtifactError(
            f"{where} has envelope version {manifest.get('envelope_version')!r}; this Clearlane "
            f"reads version {ENVELOPE_VERSION}: upgrade Clearlane or retrain the model"
        )
    members = manifest.get("members")
    if not isinstance(members, dict) or STATE not in members:
        raise ArtifactError(f"{where}: the manifest lists no members")
    names = [i.filename for i in archive.infolist()]
    if len(names) != len(set(names)) or set(names) != {MANIFEST, *members}:
        raise ArtifactError(f"{where} is corrupt: its members do not match its manifest")
    return manifest, archive


def loads(data: bytes, *, where: str = "artifact", kind: str | None = None,
          source: Path | None = None, trusted_dir: Path | None = None,
          trust: bool = False) -> tuple[Any, dict[str, Any]]:
    """Decode artifact bytes: (object, manifest). Raises :class:`ArtifactError` subclasses.

    An artifact with a history dataset needs ``source`` (the file's path: the dataset is
    found relative to it, under the same trust rule as the artifact)."""
    legacy = _legacy(data)
    if legacy:
        raise LegacyArtifactError(
            f"{where} is a model file of an older Clearlane (a pickle envelope), which this "
            f"version never loads because loading it could run code; retrain with `{legacy}`"
        )
    manifest, archive = _parse(data, where)
    if kind is not None and manifest.get("kind") != kind:
        raise ArtifactError(f"{where} holds a {manifest.get('kind')!r} artifact, not {kind!r}")
    listed: dict[str, Any] = manifest["members"]
    history = _history_reader(manifest, where, source, trusted_dir, trust)

    def member(name: str) -> bytes:
        if name.startswith(f"{EXTERNAL_FOLDER}/"):
            return history(name)
        entry = listed.get(name)
        if not isinstance(entry, dict):
            raise ArtifactError(f"{where}: state refers to member {name!r}, which is not listed")
        info = archive.getinfo(name)
        if info.file_size != entry.get("bytes"):
            raise ArtifactError(f"{where} is corrupt: member {name!r} has the wrong size")
        try:
            payload = archive.read(name)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError,
                NotImplementedError, zlib.error) as exc:
            raise ArtifactError(f"{where} is corrupt: member {name!r} cannot be read ({exc})") from exc
        if hashlib.sha256(payload).hexdigest() != entry.get("sha256"):
            raise ArtifactError(f"{where} is corrupt: member {name!r} does not match its checksum")
        return payload

    try:
        tree = json.loads(member(STATE))
    except (ValueError, RecursionError) as exc:
        raise ArtifactError(f"{where} is corrupt: its state is not valid JSON ({exc})") from exc
    try:
        return decode(tree, member, where), manifest
    except ClearlaneError:
        raise
    except RecursionError as exc:
        raise ArtifactError(f"{where}: state nested too deeply; it was not loaded") from exc
    # what an allowlisted class raises on a state it rejects: a corrupt file too
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ArtifactError(f"{where} is corrupt: {type(exc).__name__}: {exc}; it was not "
                            "loaded") from exc


def _history_reader(manifest: dict[str, Any], where: str, source: Path | None,
                    trusted_dir: Path | None, trust: bool) -> Callable[[str], bytes]:
    """Reads a member of the artifact's history dataset, checked against the manifest."""
    history = manifest.get("history")

    def missing(name: str) -> bytes:
        raise ArtifactError(f"{where}: state refers to member {name!r}, which is not listed")

    if history is None:
        return missing
    files = history.get("files") if isinstance(history, dict) else None
    if not isinstance(files, dict) or not isinstance(history.get("path"), str):
        raise ArtifactError(f"{where} is corrupt: its manifest's history entry is malformed")
    if source is None:
        raise ArtifactError(f"{where} keeps its fitted history in a separate dataset; load it "
                            "from its file (read_artifact), not from bytes")
    folder = history_folder(source, manifest)
    assert folder is not None
    try:
        check_trust(folder, trusted_dir, trust)
    except UntrustedArtifactError as exc:
        raise UntrustedArtifactError(f"{where}: its history dataset {str(folder)!r} is outside "
                                     f"the trusted folder. {exc}") from exc
    retrain = RETRAIN.get(str(manifest.get("kind")), "the command that trained it")

    def read(name: str) -> bytes:
        entry = files.get(name)
        match = _HISTORY_NAME.match(name)
        if not isinstance(entry, dict) or match is None:
            return missing(name)
        file = folder / match.group(1)
        try:
            payload = file.read_bytes()
        except OSError as exc:
            raise ArtifactError(
                f"{where}: its history dataset file {str(file)!r} cannot be read ({exc}); it "
                f"was not loaded. Restore the folder {str(folder)!r} with the artifact or "
                f"retrain with `{retrain}`") from exc
        if len(payload) != entry.get("bytes") or \
                hashlib.sha256(payload).hexdigest() != entry.get("sha256"):
            raise ArtifactIntegrityError(
                f"{where}: its history dataset file {str(file)!r} does not match the SHA-256 "
                "the artifact recorded: it was changed after the model was saved (tampering or "
                f"a copy from elsewhere); it was not loaded. Restore the folder {str(folder)!r} "
                f"from a backup or retrain with `{retrain}`")
        return payload

    return read


def read_artifact(
    path: Path | str,
    *,
    kind: str | None = None,
    expected_sha256: str | None = None,
    trusted_dir: Path | None = None,
    trust: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """Load an artifact: (object, manifest).

    Checks, in order: the trust rule, that the file exists, that its SHA-256 equals
    ``expected_sha256`` (the registry's, when given), the format, the member hashes; then
    decodes only allowlisted types. Every failure is a :class:`~clearlane.errors.ClearlaneError`.
    """
    source = Path(path)
    check_trust(source, trusted_dir, trust)
    if not source.is_file():
        raise NotFoundError(f"artifact {str(source)!r} does not exist")
    data = source.read_bytes()
    where = f"artifact {str(source)!r}"
    legacy = _legacy(data)
    if legacy:
        loads(data, where=where)  # raises LegacyArtifactError with the retrain command
    if expected_sha256 is not None:
        found = hashlib.sha256(data).hexdigest()
        if found != expected_sha256:
            retrain = RETRAIN.get(kind or "", "the command that trained it")
            raise ArtifactIntegrityError(
                f"{where} does not match the workspace registry: expected SHA-256 "
                f"{expected_sha256}, found {found}. The file was changed after it was registered "
                f"(tampering or a copy from elsewhere); it was not loaded. Restore the file from a "
                f"backup or retrain with `{retrain}`"
            )
    return loads(data, where=where, kind=kind, source=source, trusted_dir=trusted_dir,
                 trust=trust)


def referenced_history(path: Path | str) -> Path | None:
    """The history dataset folder an artifact file names (resolved), reading only its
    manifest; None when it has none or the file cannot be read as an artifact."""
    try:
        with zipfile.ZipFile(Path(path)) as archive:
            manifest = json.loads(archive.read(MANIFEST))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, EOFError, RuntimeError,
            NotImplementedError, zlib.error):
        return None
    return history_folder(path, manifest) if isinstance(manifest, dict) else None


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest of an artifact (reads JSON only; member hashes are not checked)."""
    source = Path(path)
    data = source.read_bytes()
    where = f"artifact {str(source)!r}"
    legacy = _legacy(data)
    if legacy:
        loads(data, where=where)
    manifest, _ = _parse(data, where)
    return manifest
