"""HS use cases: train the classifier from a workspace, suggest, check, search, feedback."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from clearlane.errors import NotFoundError, ValidationError
from clearlane.hs.check import CheckResult, check_declarations
from clearlane.hs.classifier import HSClassifier, Suggestion
from clearlane.hs.codes import normalise_code, require_code
from clearlane.hs.embeddings import SentenceEncoder
from clearlane.hs.examples import load_examples
from clearlane.hs.nomenclature_search import SearchHit, search_nomenclature
from clearlane.hs.persistence import load_classifier
from clearlane.hs.tariff import load_tariff
from clearlane.models import registry
from clearlane.reference.hs_editions import SPLIT_TAG, hs2022_keys
from clearlane.services import audit
from clearlane.store.workspace import Workspace

LEGACY_MODEL_FILE = "hs_classifier.pkl"
Progress = Callable[[float, float | None], None]

FEEDBACK_TABLE = """CREATE TABLE IF NOT EXISTS hs_feedback (
    goods_description VARCHAR NOT NULL, suggested_code VARCHAR, accepted_code VARCHAR NOT NULL,
    declaration_id VARCHAR, item_no BIGINT, officer_id VARCHAR, recorded_at TIMESTAMP NOT NULL)"""


def model_path(workspace: Workspace) -> Path:
    """The artifact of the workspace's HS classifier (the promoted ``hs`` model of the
    registry). Without one, an old pickle file when there is one (loading it then fails
    with the command to retrain, rather than the check silently not running), else a path
    that does not exist."""
    try:
        return registry.artifact_file(workspace, registry.get_model(workspace, kind="hs"))
    except NotFoundError:
        return workspace.artifacts_dir / LEGACY_MODEL_FILE


def training_pairs(workspace: Workspace) -> tuple[list[str], list[str]]:
    """History (description, declared code) in date order, then officers' feedback (which
    comes last so it is the latest word on a description). History codes are read in the HS
    edition in force on their date and given as their HS 2022 category
    (:func:`hs2022_training_codes`)."""
    frame = workspace.declarations(
        ["goods_description", "hs_code", "declared_at"],
        where="goods_description IS NOT NULL AND hs_code IS NOT NULL",
    )
    texts = [str(t) for t in frame["goods_description"].to_list()]
    codes = hs2022_training_codes(frame)
    with workspace.transaction() as con:
        con.execute(FEEDBACK_TABLE)
        rows = con.execute(
            "SELECT goods_description, accepted_code FROM hs_feedback ORDER BY recorded_at"
        ).fetchall()
    texts += [r[0] for r in rows]
    codes += [r[1] for r in rows]
    return texts, codes


def hs2022_training_codes(frame: pl.DataFrame) -> list[str]:
    """The ``hs_code`` of each row of ``frame`` as a training label, read in the HS edition in
    force on its ``declared_at``: a code whose HS 2022 category is another code becomes that
    (six-digit) category; a code that continues keeps its digits; a code split between
    editions keeps its own digits, which the classifier leaves out (its category
    ``854150@HS2017`` names no HS 2022 class)."""
    codes = frame["hs_code"].cast(pl.String).str.replace_all(r"\D", "").to_list()
    categories = hs2022_keys(frame).to_list()
    return [
        category if category is not None and SPLIT_TAG not in category
        and category != code[:6] else code
        for code, category in zip(codes, categories, strict=True)
    ]


def train_classifier(
    workspace: Workspace,
    tariff_path: Path | None = None,
    examples_path: Path | None = None,
    embeddings: bool = False,
    progress: Progress | None = None,
    random_state: int = 0,
    validation_path: Path | None = None,
) -> tuple[HSClassifier, Path]:
    """Fit on the workspace history and feedback (cold start when empty) and save it, with
    the national tariff and labelled example descriptions as extra reference texts and,
    with ``embeddings``, sentence-embedding similarity (extra ``text``). ``validation_path``
    (a reviewed sample, same CSV layout as the examples) re-learns the mixture weights on it
    after the fit."""
    tariff = load_tariff(tariff_path) if tariff_path else None
    examples = load_examples(examples_path) if examples_path else None
    validation = load_examples(validation_path) if validation_path else None
    texts, codes = training_pairs(workspace)
    encoder = SentenceEncoder() if embeddings else None
    if encoder is not None:
        encoder.require()  # fail before the fit, not after it
    model = HSClassifier(
        tariff=tariff, examples=examples, encoder=encoder, random_state=random_state
    ).fit(texts, codes, progress=progress)
    if validation is not None:
        model.fit_weights(list(validation.texts), list(validation.codes))
    digest = hashlib.sha256("\x1f".join([*texts, "\x1e", *codes]).encode()).hexdigest()
    record = registry.register(
        workspace, model, "hs", train_from=None, train_to=None, n_rows=len(texts),
        features=[], params={"embeddings": embeddings, "random_state": random_state,
                             "tariff": str(tariff_path) if tariff_path else None,
                             "examples": str(examples_path) if examples_path else None},
        metrics={"n_history": model.n_history_, "classes": len(model.classes_)},
        fingerprint=digest,
    )
    record = registry.promote(workspace, record.version)
    return model, registry.artifact_file(workspace, record)


def load_workspace_classifier(
    workspace: Workspace, path: Path | None = None, trust: bool = False
) -> HSClassifier:
    """The classifier trained for this workspace (the registry's, its SHA-256 checked), or
    the one saved at ``path``: outside the workspace's artifacts folder only with ``trust``."""
    if path is not None:
        return load_classifier(path, trusted=trust, trusted_dir=workspace.artifacts_dir)
    try:
        record = registry.get_model(workspace, kind="hs")
    except NotFoundError:
        legacy = workspace.artifacts_dir / LEGACY_MODEL_FILE
        if legacy.exists():  # refused with the command to retrain, never unpickled
            return load_classifier(legacy, trusted_dir=workspace.artifacts_dir)
        raise NotFoundError(
            f"workspace {str(workspace.path)!r} has no HS classifier yet; run `clearlane hs train`"
        ) from None
    model = registry.load_model(workspace, record)
    if not isinstance(model, HSClassifier):
        raise ValidationError(f"registered model {record.version!r} is not an HS classifier")
    return model


CACHE_KEY = "hs.classifier"


def cached_classifier(workspace: Workspace, cache: MutableMapping[str, object]) -> HSClassifier:
    """The workspace's classifier, kept in ``cache`` (a server's, between requests) for as long
    as the promoted HS model stays the same version and file."""
    try:
        record = registry.get_model(workspace, kind="hs")
    except NotFoundError:
        return load_workspace_classifier(workspace)  # the legacy refusal, or "run hs train"
    key = (record.version, record.artifact_sha256)
    held = cache.get(CACHE_KEY)
    if isinstance(held, tuple) and held[0] == key and isinstance(held[1], HSClassifier):
        return held[1]
    model = load_workspace_classifier(workspace)
    cache[CACHE_KEY] = (key, model)
    return model


def _classifier(workspace: Workspace, model_file: Path | None, trust: bool,
                cache: MutableMapping[str, object] | None) -> HSClassifier:
    if cache is not None and model_file is None:
        return cached_classifier(workspace, cache)
    return load_workspace_classifier(workspace, model_file, trust)


def suggest_codes(
    workspace: Workspace, descriptions: Sequence[str], k: int = 5,
    model_file: Path | None = None, trust: bool = False,
    cache: MutableMapping[str, object] | None = None,
) -> list[Suggestion]:
    """Top-k HS6/HS4/HS2 candidates for each description (``model_file``: another saved
    classifier, see :func:`load_workspace_classifier`; ``cache``: see
    :func:`cached_classifier`)."""
    if not descriptions or not any(d.strip() for d in descriptions):
        raise ValidationError("give at least one non-empty goods description")
    return _classifier(workspace, model_file, trust, cache).suggest(descriptions, k=k)


def check_codes(
    workspace: Workspace,
    descriptions: Sequence[str],
    declared: Sequence[str],
    level: int = 4,
    threshold: float = 0.8,
    model_file: Path | None = None,
    trust: bool = False,
    declared_at: Sequence[date | None] | None = None,
    cache: MutableMapping[str, object] | None = None,
) -> list[CheckResult]:
    """Misclassification check of (description, declared code) pairs; with ``declared_at``
    each code is read in the HS edition in force on its date."""
    if level not in (2, 4, 6):
        raise ValidationError(f"level must be 2, 4 or 6, got {level}")
    codes = [require_code(c) for c in declared]
    model = _classifier(workspace, model_file, trust, cache)
    return check_declarations(model, descriptions, codes, level=level, threshold=threshold,
                              declared_at=declared_at)


def check_workspace(
    workspace: Workspace, level: int = 4, threshold: float = 0.8, limit: int | None = None,
    model_file: Path | None = None, trust: bool = False,
) -> tuple[list[str], list[CheckResult]]:
    """Check every declaration of the workspace that has a description; returns ids and results."""
    frame = workspace.declarations(
        ["declaration_id", "item_no", "goods_description", "hs_code", "declared_at"],
        where="goods_description IS NOT NULL AND hs_code IS NOT NULL",
    )
    if limit:
        frame = frame.tail(limit)
    model = load_workspace_classifier(workspace, model_file, trust)
    results = check_declarations(
        model,
        frame["goods_description"].to_list(),
        [normalise_code(c) for c in frame["hs_code"].to_list()],
        level=level,
        threshold=threshold,
        declared_at=frame["declared_at"].to_list(),
    )
    ids = [f"{d}/{i}" for d, i in zip(frame["declaration_id"], frame["item_no"], strict=True)]
    return ids, results


def record_feedback(
    workspace: Workspace,
    description: str,
    accepted_code: str,
    suggested_code: str | None = None,
    officer_id: str | None = None,
    declaration_id: str | None = None,
    item_no: int | None = None,
) -> None:
    """Store an officer's accepted or corrected code; the next `hs train` learns from it."""
    if not description.strip():
        raise ValidationError("feedback needs the goods description it applies to")
    code = require_code(accepted_code, "accepted_code")
    with workspace.transaction() as con:
        con.execute(FEEDBACK_TABLE)
        con.execute(
            "INSERT INTO hs_feedback VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                description,
                normalise_code(suggested_code) if suggested_code else None,
                code,
                declaration_id,
                item_no,
                officer_id,
                datetime.now(UTC),
            ],
        )
        audit.record(con, action="hs.feedback", object_type="declaration",
                     object_id=declaration_id or "", change={"accepted_code": code,
                     "suggested_code": suggested_code, "officer_id": officer_id})


def search_codes(query: str, limit: int = 10) -> list[SearchHit]:
    """Nomenclature search (words, synonyms, typos)."""
    if not query.strip():
        raise ValidationError("give words to search for, e.g. 'mobile phone'")
    return search_nomenclature(query, limit=limit)
