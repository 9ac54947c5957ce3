"""Readiness use cases: start, answer, resume, import/export, score, report, compare.

Answers are saved as one YAML file per assessment in the workspace folder
(``<workspace>/readiness/assessments/<id>.yaml``, impact assessments under
``readiness/impact/``), rewritten atomically after every answer so that an interrupted session
resumes where it stopped. The CLI and (later) the web form call these functions only.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from clearlane import __version__
from clearlane.errors import ConflictError, NotFoundError, ValidationError
from clearlane.readiness.catalogue import Catalogue
from clearlane.readiness.impact import ImpactResult, impact_score
from clearlane.readiness.questionnaire import (
    ImpactQuestionnaire,
    MitigationQuestion,
    Question,
    Questionnaire,
    RiskQuestion,
    load_impact_questionnaire,
    load_questionnaire,
)
from clearlane.readiness.records import (
    Answer,
    Assessment,
    ImpactAssessment,
    assessment_from_dict,
    impact_from_dict,
)
from clearlane.readiness.report import Report, build_report, render_html
from clearlane.readiness.scoring import (
    Action,
    Comparison,
    ReadinessProfile,
    Roadmap,
    compare_levels,
    prioritised_actions,
    readiness_profile,
    roadmap,
)
from clearlane.services import audit
from clearlane.store.workspace import Workspace

Clock = Callable[[], datetime]
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")


def _now(clock: Clock | None) -> str:
    return (clock or (lambda: datetime.now(UTC)))().isoformat(timespec="seconds")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40] or "assessment"


def assessments_dir(workspace: Workspace) -> Path:
    return workspace.path / "readiness" / "assessments"


def impacts_dir(workspace: Workspace) -> Path:
    return workspace.path / "readiness" / "impact"


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write YAML to a temporary file then rename it, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(data, fh, allow_unicode=True, sort_keys=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_id(folder: Path, name: str, clock: Clock | None) -> str:
    stamp = (clock or (lambda: datetime.now(UTC)))().strftime("%Y%m%d-%H%M%S")
    base = f"{_slug(name)}-{stamp}"
    candidate, n = base, 1
    while (folder / f"{candidate}.yaml").exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _path(folder: Path, item_id: str, what: str) -> Path:
    if not _ID.match(item_id):
        raise ValidationError(
            f"{what} id {item_id!r} is not valid: use lower-case letters, digits, '.', '_', '-'"
        )
    return folder / f"{item_id}.yaml"


def read_answers_file(path: Path) -> Any:
    """Parse a YAML or JSON answers file (by suffix; YAML also reads JSON)."""
    if not path.exists():
        raise NotFoundError(f"no answers file {str(path)!r}")
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ValidationError(f"{path}: cannot be parsed: {exc}") from exc


def _write_export(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    elif path.suffix.lower() in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    else:
        raise ValidationError(f"export file {str(path)!r}: suffix must be .yaml, .yml or .json")
    return path


# -- readiness assessments -----------------------------------------------------------------


def questionnaire_for(assessment: Assessment) -> Questionnaire:
    return load_questionnaire(assessment.questionnaire_version)


def start_assessment(
    workspace: Workspace, administration: str, *, lang: str = "en",
    questionnaire_version: int = 1, clock: Clock | None = None,
) -> Assessment:
    """Create and save an empty assessment of ``administration``."""
    if not administration.strip():
        raise ValidationError("administration name is empty; give the administration's name")
    Catalogue.load(lang)  # fail early on an unknown language
    questionnaire = load_questionnaire(questionnaire_version)
    folder = assessments_dir(workspace)
    now = _now(clock)
    assessment = Assessment(
        id=_new_id(folder, administration, clock), administration=administration.strip(),
        questionnaire_version=questionnaire.version, lang=lang, created_at=now, updated_at=now,
        answers={},
    )
    save_assessment(workspace, assessment, "readiness.start")
    return assessment


def _save_audited(workspace: Workspace, path: Path, data: dict[str, Any], action: str,
                  object_type: str, object_id: str) -> None:
    """Write an answers file and its audit entry: the entry commits only if the file was
    written (a failed write rolls it back)."""
    with workspace.transaction() as con:
        audit.record(con, action=action, object_type=object_type, object_id=object_id,
                     change=data)
        _write_atomic(path, data)


def save_assessment(workspace: Workspace, assessment: Assessment,
                    action: str = "readiness.save") -> Path:
    path = _path(assessments_dir(workspace), assessment.id, "assessment")
    _save_audited(workspace, path, assessment.to_dict(), action, "readiness_assessment",
                  assessment.id)
    return path


def get_assessment(workspace: Workspace, assessment_id: str) -> Assessment:
    path = _path(assessments_dir(workspace), assessment_id, "assessment")
    if not path.exists():
        known = ", ".join(s.id for s in list_assessments(workspace)) or "none yet"
        raise NotFoundError(f"no readiness assessment {assessment_id!r}; known: {known}")
    data = read_answers_file(path)
    version = data.get("questionnaire_version", 1) if isinstance(data, dict) else 1
    return assessment_from_dict(data, load_questionnaire(int(version)), str(path))


@dataclass(frozen=True)
class AssessmentSummary:
    id: str
    administration: str
    created_at: str
    updated_at: str
    answered: int
    questions: int
    complete: bool
    overall: float
    stage: int


def list_assessments(workspace: Workspace, administration: str | None = None
                     ) -> list[AssessmentSummary]:
    """Saved assessments, oldest first (the history of each administration)."""
    folder = assessments_dir(workspace)
    out = []
    for path in sorted(folder.glob("*.yaml")) if folder.exists() else []:
        data = read_answers_file(path)
        version = int(data.get("questionnaire_version", 1))
        questionnaire = load_questionnaire(version)
        a = assessment_from_dict(data, questionnaire, str(path))
        if administration and a.administration.casefold() != administration.casefold():
            continue
        profile = readiness_profile(questionnaire, a.levels())
        out.append(AssessmentSummary(
            a.id, a.administration, a.created_at, a.updated_at, len(a.answers),
            len(questionnaire.questions), a.is_complete(questionnaire), profile.overall,
            profile.stage,
        ))
    return sorted(out, key=lambda s: (s.created_at, s.id))


def latest_in_progress(workspace: Workspace, administration: str | None = None
                       ) -> Assessment | None:
    """The most recently updated unfinished assessment, if any."""
    pending = [s for s in list_assessments(workspace, administration) if not s.complete]
    if not pending:
        return None
    return get_assessment(workspace, max(pending, key=lambda s: s.updated_at).id)


def next_question(assessment: Assessment) -> Question | None:
    """The first unanswered question in questionnaire order, or ``None`` when complete."""
    return next((q for q in questionnaire_for(assessment).questions
                 if q.id not in assessment.answers), None)


def record_answer(
    workspace: Workspace, assessment_id: str, question_id: str, level: int | None,
    evidence: str = "", *, clock: Clock | None = None,
) -> Assessment:
    """Save one answer (``level`` 0..scale_max, or ``None`` = don't know) and return the update."""
    assessment = get_assessment(workspace, assessment_id)
    questionnaire = questionnaire_for(assessment)
    questionnaire.question(question_id)
    if level is not None and not 0 <= level <= questionnaire.scale_max:
        raise ValidationError(
            f"question {question_id!r}: level {level!r} must be from 0 to "
            f"{questionnaire.scale_max}, or don't know"
        )
    answers = dict(assessment.answers)
    answers[question_id] = Answer(level, evidence.strip())
    updated = replace(assessment, answers=answers, updated_at=_now(clock))
    save_assessment(workspace, updated, "readiness.answer")
    return updated


@dataclass(frozen=True)
class ScoredAssessment:
    assessment: Assessment
    questionnaire: Questionnaire
    profile: ReadinessProfile
    actions: tuple[Action, ...]
    roadmap: Roadmap


def score_assessment(assessment: Assessment) -> ScoredAssessment:
    questionnaire = questionnaire_for(assessment)
    levels = assessment.levels()
    return ScoredAssessment(
        assessment, questionnaire, readiness_profile(questionnaire, levels),
        prioritised_actions(questionnaire, levels), roadmap(questionnaire, levels),
    )


def import_answers(
    workspace: Workspace, path: Path, *, replace_existing: bool = False,
    clock: Clock | None = None,
) -> Assessment:
    """Validate a YAML/JSON answers file and save it as an assessment of the workspace.

    A file without ``id`` gets a new one. A file whose ``id`` exists already is refused unless
    ``replace_existing`` (so an import never silently overwrites answers).
    """
    data = read_answers_file(path)
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: answers must be a mapping")
    version = data.get("questionnaire_version", 1)
    if not isinstance(version, int):
        raise ValidationError(f"{path}: questionnaire_version {version!r} must be an integer")
    assessment = assessment_from_dict(data, load_questionnaire(version), str(path))
    folder = assessments_dir(workspace)
    now = _now(clock)
    if assessment.id:
        target = _path(folder, assessment.id, "assessment")
        if target.exists() and not replace_existing:
            raise ConflictError(
                f"assessment {assessment.id!r} exists in the workspace; use --replace to "
                "overwrite it, or remove 'id' from the file to import it as a new assessment"
            )
    else:
        assessment = replace(assessment, id=_new_id(folder, assessment.administration, clock))
    assessment = replace(assessment, created_at=assessment.created_at or now, updated_at=now)
    save_assessment(workspace, assessment, "readiness.import")
    return assessment


def export_answers(workspace: Workspace, assessment_id: str, path: Path) -> Path:
    """Write an assessment's answers to ``path`` (.yaml/.yml or .json)."""
    return _write_export(path, get_assessment(workspace, assessment_id).to_dict())


def compare_assessments(workspace: Workspace, before_id: str, after_id: str
                        ) -> tuple[Assessment, Assessment, Comparison]:
    """Compare two assessments (same questionnaire version) area by area and question by question."""
    before = get_assessment(workspace, before_id)
    after = get_assessment(workspace, after_id)
    if before.questionnaire_version != after.questionnaire_version:
        raise ValidationError(
            f"assessments {before_id!r} (questionnaire v{before.questionnaire_version}) and "
            f"{after_id!r} (v{after.questionnaire_version}) use different questionnaires"
        )
    return before, after, compare_levels(questionnaire_for(before), before.levels(),
                                         after.levels())


def render_report(
    workspace: Workspace, assessment_id: str, *, formats: Sequence[str] = ("html", "pdf"),
    lang: str | None = None, out_dir: Path | None = None, impact_ids: Sequence[str] = (),
    clock: Clock | None = None,
) -> list[Path]:
    """Write the report in each of ``formats`` (``html``, ``pdf``); returns the files written.

    Files go to ``out_dir`` (default: the workspace's reports folder) as
    ``readiness-<id>-<lang>.<format>``.
    """
    unknown = set(formats) - {"html", "pdf"}
    if unknown or not formats:
        raise ValidationError(f"report formats {sorted(unknown)!r} not valid; use html and/or pdf")
    assessment, report = _report(workspace, assessment_id, lang, impact_ids, clock)
    lang = lang or assessment.lang
    folder = out_dir or workspace.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    stem = f"readiness-{assessment.id}-{lang}"
    if "html" in formats:
        html_path = folder / f"{stem}.html"
        html_path.write_text(render_html(report), encoding="utf-8")
        written.append(html_path)
    if "pdf" in formats:
        from clearlane.readiness.report_pdf import render_pdf

        written.append(render_pdf(report, folder / f"{stem}.pdf"))
    return written


def _report(workspace: Workspace, assessment_id: str, lang: str | None,
            impact_ids: Sequence[str], clock: Clock | None) -> tuple[Assessment, Report]:
    assessment = get_assessment(workspace, assessment_id)
    catalogue = Catalogue.load(lang or assessment.lang)
    impacts = []
    impact_questionnaire = load_impact_questionnaire() if impact_ids else None
    for impact_id in impact_ids:
        record = get_impact(workspace, impact_id)
        impacts.append((record, score_impact(record)))
    report = build_report(
        assessment, questionnaire_for(assessment), catalogue,
        generated=(clock or (lambda: datetime.now(UTC)))().strftime("%Y-%m-%d"),
        version=__version__, impacts=impacts, impact_questionnaire=impact_questionnaire,
    )
    return assessment, report


def report_html(workspace: Workspace, assessment_id: str, *, lang: str | None = None,
                impact_ids: Sequence[str] = (), clock: Clock | None = None) -> str:
    """The report of an assessment as one self-contained HTML page (nothing written)."""
    return render_html(_report(workspace, assessment_id, lang, impact_ids, clock)[1])


# -- use-case impact assessments -----------------------------------------------------------


def start_impact(
    workspace: Workspace, use_case: str, *, administration: str = "", lang: str = "en",
    clock: Clock | None = None,
) -> ImpactAssessment:
    """Create and save an empty impact assessment of one planned AI use."""
    if not use_case.strip():
        raise ValidationError("use case is empty; describe the planned AI use")
    Catalogue.load(lang)
    questionnaire = load_impact_questionnaire()
    folder = impacts_dir(workspace)
    now = _now(clock)
    record = ImpactAssessment(
        id=_new_id(folder, use_case, clock), use_case=use_case.strip(),
        administration=administration.strip(), questionnaire_version=questionnaire.version,
        lang=lang, created_at=now, updated_at=now,
    )
    _save_audited(workspace, _path(folder, record.id, "impact assessment"), record.to_dict(),
                  "impact.start", "impact_assessment", record.id)
    return record


def get_impact(workspace: Workspace, impact_id: str) -> ImpactAssessment:
    path = _path(impacts_dir(workspace), impact_id, "impact assessment")
    if not path.exists():
        known = ", ".join(r.id for r in list_impacts(workspace)) or "none yet"
        raise NotFoundError(f"no impact assessment {impact_id!r}; known: {known}")
    return impact_from_dict(read_answers_file(path), load_impact_questionnaire(), str(path))


def list_impacts(workspace: Workspace) -> list[ImpactAssessment]:
    folder = impacts_dir(workspace)
    records = [
        impact_from_dict(read_answers_file(p), load_impact_questionnaire(), str(p))
        for p in (sorted(folder.glob("*.yaml")) if folder.exists() else [])
    ]
    return sorted(records, key=lambda r: (r.created_at, r.id))


def next_impact_question(record: ImpactAssessment
                         ) -> RiskQuestion | MitigationQuestion | None:
    """The first unanswered risk question, then mitigation question; ``None`` when complete."""
    questionnaire = load_impact_questionnaire(record.questionnaire_version)
    for rq in questionnaire.risk:
        if rq.id not in record.risk:
            return rq
    for mq in questionnaire.mitigation:
        if mq.id not in record.mitigation:
            return mq
    return None


def record_impact_answer(
    workspace: Workspace, impact_id: str, question_id: str, value: str | bool | None,
    *, clock: Clock | None = None,
) -> ImpactAssessment:
    """Save one impact answer: an option id for a risk question, yes/no for a mitigation one."""
    record = get_impact(workspace, impact_id)
    data = record.to_dict()
    section = "risk" if question_id.startswith("risk.") else "mitigation"
    data[section][question_id] = value
    data["updated_at"] = _now(clock)
    questionnaire = load_impact_questionnaire(record.questionnaire_version)
    updated = impact_from_dict(data, questionnaire, f"answer to {question_id}")
    _save_audited(workspace, _path(impacts_dir(workspace), updated.id, "impact assessment"),
                  updated.to_dict(), "impact.answer", "impact_assessment", updated.id)
    return updated


def score_impact(record: ImpactAssessment) -> ImpactResult:
    questionnaire = load_impact_questionnaire(record.questionnaire_version)
    return impact_score(questionnaire, record.risk, record.mitigation)


def impact_questionnaire() -> ImpactQuestionnaire:
    return load_impact_questionnaire()


def import_impact(workspace: Workspace, path: Path, *, replace_existing: bool = False,
                  clock: Clock | None = None) -> ImpactAssessment:
    """Validate and save an impact answers file (same id rules as :func:`import_answers`)."""
    record = impact_from_dict(read_answers_file(path), load_impact_questionnaire(), str(path))
    folder = impacts_dir(workspace)
    if record.id:
        if _path(folder, record.id, "impact assessment").exists() and not replace_existing:
            raise ConflictError(f"impact assessment {record.id!r} exists; use --replace")
    else:
        record = replace(record, id=_new_id(folder, record.use_case, clock))
    now = _now(clock)
    record = replace(record, created_at=record.created_at or now, updated_at=now)
    _save_audited(workspace, _path(folder, record.id, "impact assessment"), record.to_dict(),
                  "impact.import", "impact_assessment", record.id)
    return record


def export_impact(workspace: Workspace, impact_id: str, path: Path) -> Path:
    return _write_export(path, get_impact(workspace, impact_id).to_dict())
