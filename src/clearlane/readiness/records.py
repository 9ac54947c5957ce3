"""Saved answers: a readiness assessment and a use-case impact assessment, as plain data.

Both serialise to a mapping (YAML or JSON) and validate against their questionnaire on the way
in, with problems naming the file, the question id and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clearlane.errors import Problem, ValidationError
from clearlane.readiness.questionnaire import ImpactQuestionnaire, Questionnaire

ASSESSMENT_KIND = "clearlane-readiness-answers"
IMPACT_KIND = "clearlane-impact-answers"


@dataclass(frozen=True)
class Answer:
    """One answer: a maturity ``level`` (``None`` = don't know) and optional free-text evidence."""

    level: int | None
    evidence: str = ""


@dataclass(frozen=True)
class Assessment:
    """A readiness self-assessment of one administration at one time.

    ``created_at``/``updated_at`` are ISO 8601 UTC timestamps. A question absent from
    ``answers`` is not answered yet; an answer with ``level=None`` is "don't know".
    """

    id: str
    administration: str
    questionnaire_version: int
    lang: str
    created_at: str
    updated_at: str
    answers: Mapping[str, Answer] = field(default_factory=dict)

    def levels(self) -> dict[str, int | None]:
        """Question id -> level (``None`` = don't know), answered questions only."""
        return {qid: a.level for qid, a in self.answers.items()}

    def is_complete(self, questionnaire: Questionnaire) -> bool:
        return all(q.id in self.answers for q in questionnaire.questions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": ASSESSMENT_KIND,
            "id": self.id,
            "administration": self.administration,
            "questionnaire_version": self.questionnaire_version,
            "lang": self.lang,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "answers": {
                qid: ({"level": a.level, "evidence": a.evidence} if a.evidence
                      else {"level": a.level})
                for qid, a in self.answers.items()
            },
        }


def _text(data: Mapping[str, Any], key: str, source: str, problems: list[Problem]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(key, repr(value), "must be a non-empty text", source=source))
        return ""
    return value


def assessment_from_dict(
    data: Any, questionnaire: Questionnaire, source: str = "answers"
) -> Assessment:
    """Validate and build an :class:`Assessment`; raise one error listing every problem.

    Levels may be written as integers, as ``null``/``"?"``/``"dont_know"`` for don't know.
    """
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: answers must be a mapping")
    problems: list[Problem] = []
    if data.get("kind", ASSESSMENT_KIND) != ASSESSMENT_KIND:
        problems.append(Problem("kind", repr(data.get("kind")), f"must be {ASSESSMENT_KIND!r}",
                                source=source))
    version = data.get("questionnaire_version", questionnaire.version)
    if version != questionnaire.version:
        problems.append(Problem("questionnaire_version", repr(version),
                                f"this questionnaire is version {questionnaire.version}",
                                source=source))
    ids = {q.id for q in questionnaire.questions}
    raw_answers = data.get("answers") or {}
    answers: dict[str, Answer] = {}
    if not isinstance(raw_answers, dict):
        problems.append(Problem("answers", repr(raw_answers), "must map question ids to answers",
                                source=source))
        raw_answers = {}
    for qid, raw in raw_answers.items():
        if qid not in ids:
            problems.append(Problem(f"question {qid}", None,
                                    "unknown question id for questionnaire "
                                    f"v{questionnaire.version}", source=source))
            continue
        evidence = ""
        if isinstance(raw, dict):
            evidence = raw.get("evidence") or ""
            if not isinstance(evidence, str):
                problems.append(Problem(f"question {qid}.evidence", repr(evidence),
                                        "must be text", source=source))
                evidence = ""
            raw = raw.get("level")
        if raw is None or raw in ("?", "dont_know", "don't know"):
            answers[qid] = Answer(None, evidence)
        elif (isinstance(raw, int) and not isinstance(raw, bool)
              and 0 <= raw <= questionnaire.scale_max):
            answers[qid] = Answer(int(raw), evidence)
        else:
            problems.append(Problem(f"question {qid}.level", repr(raw),
                                    f"must be an integer from 0 to {questionnaire.scale_max} "
                                    "or null (don't know)", source=source))
    administration = _text(data, "administration", source, problems)
    if problems:
        raise ValidationError(f"answers in {source} are not valid", problems)
    return Assessment(
        id=str(data.get("id") or ""),
        administration=administration,
        questionnaire_version=questionnaire.version,
        lang=str(data.get("lang") or "en"),
        created_at=str(data.get("created_at") or ""),
        updated_at=str(data.get("updated_at") or ""),
        answers=answers,
    )


@dataclass(frozen=True)
class ImpactAssessment:
    """An impact assessment of one planned AI use.

    ``risk`` maps risk question id -> option id (``None`` = don't know); ``mitigation`` maps
    mitigation question id -> yes/no (``None`` = don't know).
    """

    id: str
    use_case: str
    administration: str
    questionnaire_version: int
    lang: str
    created_at: str
    updated_at: str
    risk: Mapping[str, str | None] = field(default_factory=dict)
    mitigation: Mapping[str, bool | None] = field(default_factory=dict)

    def is_complete(self, questionnaire: ImpactQuestionnaire) -> bool:
        return all(q.id in self.risk for q in questionnaire.risk) and all(
            q.id in self.mitigation for q in questionnaire.mitigation
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": IMPACT_KIND,
            "id": self.id,
            "use_case": self.use_case,
            "administration": self.administration,
            "questionnaire_version": self.questionnaire_version,
            "lang": self.lang,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "risk": dict(self.risk),
            "mitigation": dict(self.mitigation),
        }


def impact_from_dict(
    data: Any, questionnaire: ImpactQuestionnaire, source: str = "impact answers"
) -> ImpactAssessment:
    """Validate and build an :class:`ImpactAssessment`; raise one error listing every problem."""
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: impact answers must be a mapping")
    problems: list[Problem] = []
    if data.get("kind", IMPACT_KIND) != IMPACT_KIND:
        problems.append(Problem("kind", repr(data.get("kind")), f"must be {IMPACT_KIND!r}",
                                source=source))
    options = {q.id: [name for name, _ in q.options] for q in questionnaire.risk}
    risk: dict[str, str | None] = {}
    for qid, value in (data.get("risk") or {}).items():
        if qid not in options:
            problems.append(Problem(f"question {qid}", None, "unknown risk question id",
                                    source=source))
        elif value is None or value in options[qid]:
            risk[qid] = value
        else:
            problems.append(Problem(f"question {qid}", repr(value),
                                    "must be one of " + ", ".join(options[qid])
                                    + " or null (don't know)", source=source))
    mitigation_ids = {q.id for q in questionnaire.mitigation}
    mitigation: dict[str, bool | None] = {}
    for qid, value in (data.get("mitigation") or {}).items():
        if qid not in mitigation_ids:
            problems.append(Problem(f"question {qid}", None, "unknown mitigation question id",
                                    source=source))
        elif value is None or isinstance(value, bool):
            mitigation[qid] = value
        else:
            problems.append(Problem(f"question {qid}", repr(value),
                                    "must be true, false or null (don't know)", source=source))
    use_case = _text(data, "use_case", source, problems)
    if problems:
        raise ValidationError(f"impact answers in {source} are not valid", problems)
    return ImpactAssessment(
        id=str(data.get("id") or ""),
        use_case=use_case,
        administration=str(data.get("administration") or ""),
        questionnaire_version=questionnaire.version,
        lang=str(data.get("lang") or "en"),
        created_at=str(data.get("created_at") or ""),
        updated_at=str(data.get("updated_at") or ""),
        risk=risk,
        mitigation=mitigation,
    )
