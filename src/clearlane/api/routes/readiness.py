"""The readiness self-assessment (as `clearlane readiness`): the questionnaire, assessments
and their answers, the scored profile with actions and roadmap, and the HTML report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from clearlane.api.problems import ERROR_RESPONSES
from clearlane.api.security import Caller, allow
from clearlane.api.state import WorkspaceDep
from clearlane.errors import Problem, ValidationError
from clearlane.readiness.catalogue import Catalogue, available_languages
from clearlane.readiness.records import Assessment
from clearlane.services import readiness as service

router = APIRouter(prefix="/api/v1/readiness", tags=["readiness"],
                   responses={**ERROR_RESPONSES, 404: ERROR_RESPONSES[401] | {
                       "description": "No such assessment, question or language"}})

AssessmentId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,80}$",
                                   description="The assessment's id.")]
Lang = Annotated[str | None, Query(pattern=r"^[a-z]{2}$",
                                   description="Language of the texts (en, fr, …).")]


class LevelText(BaseModel):
    level: int
    text: str


class QuestionPublic(BaseModel):
    id: str
    text: str
    step: str = Field(description="The roadmap step the question belongs to.")
    weight: float
    levels: list[LevelText] = Field(description="What each maturity level means, 0 upwards "
                                                "(higher = more ready).")


class AreaPublic(BaseModel):
    id: str
    title: str
    questions: list[QuestionPublic]


class QuestionnairePublic(BaseModel):
    id: str
    version: int
    lang: str
    scale_max: int = Field(description="Highest maturity level of an answer.")
    target_level: int
    areas: list[AreaPublic]


class AssessmentSummaryPublic(BaseModel):
    id: str
    administration: str
    created_at: str
    updated_at: str
    answered: int
    questions: int
    complete: bool
    overall: float = Field(description="Readiness, 0-100 (higher = more ready): the weakest "
                                       "area's score.")
    stage: int = Field(description="Maturity stage, 1-4.")


class AnswerPublic(BaseModel):
    level: int | None = Field(description="Maturity level; null = don't know.")
    evidence: str


class AssessmentPublic(BaseModel):
    id: str
    administration: str
    questionnaire_version: int
    lang: str
    created_at: str
    updated_at: str
    answers: dict[str, AnswerPublic] = Field(description="Question id → answer.")
    next_question: str | None = Field(description="First unanswered question; null when "
                                                  "complete.")


class StartAssessment(BaseModel):
    administration: str = Field(min_length=1, max_length=200)
    lang: str = Field("en", pattern=r"^[a-z]{2}$")


class AnswerIn(BaseModel):
    level: int | None = Field(ge=0, le=100, description="Maturity level from 0 to the "
                                                        "questionnaire's scale_max; null = "
                                                        "don't know.")
    evidence: str = Field("", max_length=5000)


class AreaScorePublic(BaseModel):
    area: str
    score: float = Field(description="0-100, higher = more ready.")
    answered: int
    unknown: int = Field(description="Answered don't know.")
    questions: int


class ActionPublic(BaseModel):
    priority: int = Field(description="1 = first.")
    area: str
    question_id: str
    level: int
    step: str
    phase: str


class RoadmapPhasePublic(BaseModel):
    phase: str
    status: str
    progress: float = Field(description="0-1.")


class ScorePublic(BaseModel):
    overall: float = Field(description="Readiness, 0-100 (higher = more ready): the weakest "
                                       "area's score, which gates the whole.")
    mean: float = Field(description="Mean of the area scores, 0-100.")
    stage: int
    weakest: list[str]
    areas: list[AreaScorePublic]
    actions: list[ActionPublic]
    roadmap: list[RoadmapPhasePublic]
    current_phase: str | None


def _assessment(a: Assessment) -> AssessmentPublic:
    following = service.next_question(a)
    return AssessmentPublic(
        id=a.id, administration=a.administration,
        questionnaire_version=a.questionnaire_version, lang=a.lang, created_at=a.created_at,
        updated_at=a.updated_at,
        answers={k: AnswerPublic(level=v.level, evidence=v.evidence)
                 for k, v in a.answers.items()},
        next_question=following.id if following else None)


@router.get("/questionnaire", response_model=QuestionnairePublic)
def questionnaire(_: Annotated[Caller, allow("reports:read")], lang: Lang = None,
                  version: Annotated[int, Query(ge=1, le=100)] = 1) -> QuestionnairePublic:
    """The questions by area, with what each level means, in ``lang``."""
    from clearlane.readiness.questionnaire import load_questionnaire

    q = load_questionnaire(version)
    t = Catalogue.load(lang or "en")
    return QuestionnairePublic(
        id=q.id, version=q.version, lang=t.lang, scale_max=q.scale_max,
        target_level=q.target_level,
        areas=[AreaPublic(id=a.id, title=t.area_title(a.id), questions=[QuestionPublic(
            id=x.id, text=t.question_text(x.id), step=x.step, weight=x.weight,
            levels=[LevelText(level=n, text=t.level_text(x.id, n))
                    for n in range(q.scale_max + 1)]) for x in a.questions])
            for a in q.areas])


@router.get("/assessments", response_model=list[AssessmentSummaryPublic])
def list_assessments(
    _: Annotated[Caller, allow("reports:read")], workspace: WorkspaceDep,
    administration: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> list[AssessmentSummaryPublic]:
    """Saved assessments, oldest first."""
    return [AssessmentSummaryPublic(**vars(s))
            for s in service.list_assessments(workspace, administration)]


@router.post("/assessments", response_model=AssessmentPublic, status_code=201)
def start_assessment(body: StartAssessment, _: Annotated[Caller, allow("readiness:answer")],
                     workspace: WorkspaceDep) -> AssessmentPublic:
    """Start an empty assessment of an administration."""
    if body.lang not in available_languages():
        raise ValidationError(f"no readiness catalogue for language {body.lang!r}", [Problem(
            "lang", body.lang, "available: " + ", ".join(available_languages()))])
    return _assessment(service.start_assessment(workspace, body.administration,
                                                lang=body.lang))


@router.get("/assessments/{assessment_id}", response_model=AssessmentPublic)
def get_assessment(assessment_id: AssessmentId, _: Annotated[Caller, allow("reports:read")],
                   workspace: WorkspaceDep) -> AssessmentPublic:
    """One assessment with its answers and the next question to answer."""
    return _assessment(service.get_assessment(workspace, assessment_id))


@router.put("/assessments/{assessment_id}/answers/{question_id}",
            response_model=AssessmentPublic)
def answer(assessment_id: AssessmentId,
           question_id: Annotated[str, Path(min_length=1, max_length=100)], body: AnswerIn,
           _: Annotated[Caller, allow("readiness:answer")],
           workspace: WorkspaceDep) -> AssessmentPublic:
    """Answer (or re-answer) one question; saved at once."""
    return _assessment(service.record_answer(workspace, assessment_id, question_id,
                                             body.level, body.evidence))


@router.get("/assessments/{assessment_id}/score", response_model=ScorePublic)
def score(assessment_id: AssessmentId, _: Annotated[Caller, allow("reports:read")],
          workspace: WorkspaceDep) -> ScorePublic:
    """The readiness profile by area, the prioritised actions and the roadmap."""
    scored = service.score_assessment(service.get_assessment(workspace, assessment_id))
    p = scored.profile
    return ScorePublic(
        overall=p.overall, mean=p.mean, stage=p.stage, weakest=list(p.weakest),
        areas=[AreaScorePublic(area=a.area, score=a.score, answered=a.answered,
                               unknown=a.unknown, questions=a.questions) for a in p.areas],
        actions=[ActionPublic(priority=a.priority, area=a.area, question_id=a.question_id,
                              level=a.level, step=a.step, phase=a.phase)
                 for a in scored.actions],
        roadmap=[RoadmapPhasePublic(phase=r.phase, status=r.status, progress=r.progress)
                 for r in scored.roadmap.phases],
        current_phase=scored.roadmap.current)


@router.get("/assessments/{assessment_id}/report", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}},
                             "description": "The report as one self-contained HTML page"}})
def report(assessment_id: AssessmentId, _: Annotated[Caller, allow("reports:read")],
           workspace: WorkspaceDep, lang: Lang = None) -> HTMLResponse:
    """The readiness report as one HTML page (the PDF: `clearlane readiness report`)."""
    return HTMLResponse(service.report_html(workspace, assessment_id, lang=lang))
