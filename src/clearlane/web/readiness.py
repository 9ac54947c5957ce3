"""The AI/ML readiness self-assessment as a web form: the same questionnaire, answers files
and scoring as `clearlane readiness` and the API, one area per page, saved at each step so it
can be left and resumed; the report and the comparison of two assessments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.errors import Problem, ValidationError
from clearlane.readiness.catalogue import Catalogue, available_languages
from clearlane.services import readiness
from clearlane.web.access import page
from clearlane.web.render import language_of, render

router = APIRouter(include_in_schema=False)
DONT_KNOW = "unknown"


def _texts(request: Request) -> Catalogue:
    lang = language_of(request)
    return Catalogue.load(lang if lang in available_languages() else "en")


@router.get("/readiness")
def readiness_home(request: Request, caller: Annotated[Caller, page("reports:read")],
                   state: StateDep) -> Response:
    return render(request, "readiness.html",
                  assessments=readiness.list_assessments(state.workspace),
                  texts=_texts(request))


@router.post("/readiness")
def start(caller: Annotated[Caller, page("readiness:answer")], state: StateDep,
          administration: Annotated[str, Form(max_length=200)], lang: Annotated[str, Form()] = "en"
          ) -> Response:
    assessment = readiness.start_assessment(
        state.workspace, administration, lang=lang if lang in available_languages() else "en")
    return RedirectResponse(f"/readiness/{assessment.id}", 303)


@router.get("/readiness/{assessment_id}")
def form(request: Request, assessment_id: str, caller: Annotated[Caller, page("reports:read")],
         state: StateDep, area: str | None = None) -> Response:
    """One area of the questionnaire with the answers saved so far (by default the first area
    with an unanswered question: where the user left off)."""
    assessment = readiness.get_assessment(state.workspace, assessment_id)
    questionnaire = readiness.questionnaire_for(assessment)
    areas = [a.id for a in questionnaire.areas]
    if area not in areas:
        pending = readiness.next_question(assessment)
        area = pending.area if pending is not None else areas[0]
    current = next(a for a in questionnaire.areas if a.id == area)
    scored = readiness.score_assessment(assessment)
    return render(request, "readiness_form.html", assessment=assessment,
                  questionnaire=questionnaire, area=current, areas=areas,
                  texts=_texts(request), profile=scored.profile,
                  can_answer=caller.principal.can("readiness:answer"))


@router.post("/readiness/{assessment_id}")
async def save_area(request: Request, assessment_id: str,
                    caller: Annotated[Caller, page("readiness:answer")], state: StateDep
                    ) -> Response:
    """Save the answers of one area (each question: a level, or don't know, with optional
    evidence); then the next area with an unanswered question, or the report when none."""
    from starlette.concurrency import run_in_threadpool

    submitted = await request.form()
    area = str(submitted.get("area", ""))
    assessment = await run_in_threadpool(readiness.get_assessment, state.workspace,
                                         assessment_id)
    questionnaire = readiness.questionnaire_for(assessment)
    questions = [q for a in questionnaire.areas if a.id == area for q in a.questions]
    if not questions:
        raise ValidationError("unknown area", [Problem("area", area, "an area of the questionnaire")])
    for question in questions:
        raw = submitted.get(f"level_{question.id}")
        if raw is None or raw == "":
            continue  # left unanswered: asked again on resume
        level = None if raw == DONT_KNOW else _level(str(raw), question.id)
        evidence = str(submitted.get(f"evidence_{question.id}", ""))[:2000]
        await run_in_threadpool(readiness.record_answer, state.workspace, assessment_id,
                                question.id, level, evidence)
    if submitted.get("go") == "next":
        areas = [a.id for a in questionnaire.areas]
        following = areas[areas.index(area) + 1] if areas.index(area) + 1 < len(areas) else None
        if following is not None:
            return RedirectResponse(f"/readiness/{assessment_id}?area={following}", 303)
        return RedirectResponse(f"/readiness/{assessment_id}/result", 303)
    return RedirectResponse(f"/readiness/{assessment_id}?area={area}", 303)


def _level(raw: str, question_id: str) -> int:
    if not raw.isdigit():
        raise ValidationError("a level is a whole number", [Problem(f"level_{question_id}", raw,
                                                                    "0 to the top level, or don't know")])
    return int(raw)


@router.get("/readiness/{assessment_id}/result")
def result(request: Request, assessment_id: str, caller: Annotated[Caller, page("reports:read")],
           state: StateDep) -> Response:
    assessment = readiness.get_assessment(state.workspace, assessment_id)
    scored = readiness.score_assessment(assessment)
    return render(request, "readiness_result.html", assessment=assessment, scored=scored,
                  texts=_texts(request),
                  others=[s for s in readiness.list_assessments(state.workspace)
                          if s.id != assessment_id])


@router.get("/readiness/{after_id}/compare")
def compare(request: Request, after_id: str, caller: Annotated[Caller, page("reports:read")],
            state: StateDep, before: str) -> Response:
    first, second, comparison = readiness.compare_assessments(state.workspace, before, after_id)
    return render(request, "readiness_compare.html", before=first, after=second,
                  comparison=comparison, texts=_texts(request))
