"""The AI/ML readiness self-assessment as a web form: the same questionnaire, answers files
and scoring as `clearlane readiness` and the API, one area per page, saved at each step so it
can be left and resumed; the result, the full report and the comparison of two assessments as
pages of the workspace, in the page's language.

The report page renders the :class:`~clearlane.readiness.report.Report` that
:func:`~clearlane.readiness.report.build_report` makes for the CLI's HTML and PDF reports (the
same scores, actions, roadmap and answers); the comparison renders
:func:`~clearlane.services.readiness.compare_assessments`. Nothing is scored here: the radar
charts only place the service's scores (:func:`~clearlane.readiness.radar.radar_geometry`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from clearlane import __version__
from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.errors import Problem, ValidationError
from clearlane.readiness.catalogue import Catalogue, available_languages
from clearlane.readiness.radar import radar_geometry
from clearlane.readiness.report import build_report
from clearlane.readiness.scoring import Comparison
from clearlane.services import readiness
from clearlane.web.access import page
from clearlane.web.render import language_of, render

router = APIRouter(include_in_schema=False)
DONT_KNOW = "unknown"


def _texts(request: Request) -> Catalogue:
    lang = language_of(request)
    return Catalogue.load(lang if lang in available_languages() else "en")


RADAR_COLOURS = ("#8a8a8a", "#12355b")
"""Before (grey) and after, or the one assessment (the workspace's dark blue)."""


@dataclass(frozen=True)
class Radar:
    """A radar chart of area scores (0-100) laid out for a template: grid rings and axes,
    one polygon per series, and the axis labels."""

    size: int
    pad: int
    """Room left and right of the ``size`` square for the axis labels (SVG units)."""
    rings: tuple[str, ...]
    """SVG ``points`` of each grid ring (25, 50, 75, 100)."""
    axes: tuple[tuple[float, float, float, float], ...]
    shapes: tuple[tuple[str, str, str], ...]
    """(series name, colour, SVG ``points``), drawn in order."""
    labels: tuple[tuple[float, float, str, str], ...]
    """(x, y, text-anchor, text) of each axis."""


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def radar(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
          size: int = 360, pad: int = 120) -> Radar:
    """The radar of ``series`` ((name, one score per label); one or two series), the last
    drawn on top."""
    if not 1 <= len(series) <= len(RADAR_COLOURS):
        raise ValueError(f"a radar draws 1 to {len(RADAR_COLOURS)} series, not {len(series)}")
    layouts = [radar_geometry(list(values), float(size)) for _, values in series]
    first = layouts[0]
    cx, cy = first.centre
    anchors = ["middle" if abs(x - cx) < 1 else ("start" if x > cx else "end")
               for x, _ in first.label_points]
    colours = RADAR_COLOURS[-len(series):]
    return Radar(
        size=size,
        pad=pad,
        rings=tuple(_points(ring) for ring in first.rings),
        axes=tuple((cx, cy, x, y) for x, y in first.axes),
        shapes=tuple((name, colour, _points(layout.values)) for (name, _), colour, layout
                     in zip(series, colours, layouts, strict=False)),
        labels=tuple((x, y, anchor, label) for (x, y), anchor, label
                     in zip(first.label_points, anchors, labels, strict=True)),
    )


def comparison_radar(texts: Catalogue, comparison: Comparison, before: str,
                     after: str) -> Radar:
    """Both assessments' area scores on one radar (before grey, after blue)."""
    return radar([texts.area_title(a.area) for a in comparison.areas],
                 [(before, [a.before for a in comparison.areas]),
                  (after, [a.after for a in comparison.areas])])


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


@router.get("/readiness/compare")
def compare_any(request: Request, caller: Annotated[Caller, page("reports:read")],
                state: StateDep, before: str, after: str) -> Response:
    """The comparison of any two assessments picked on the readiness page."""
    return _compare_page(request, state, before, after)


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


@router.get("/readiness/{assessment_id}/report")
def report(request: Request, assessment_id: str, caller: Annotated[Caller, page("reports:read")],
           state: StateDep) -> Response:
    """The full report, as `clearlane readiness report` writes it (the same
    :func:`~clearlane.readiness.report.build_report`), in the page's language: the summary,
    the radar and the score of each area, the prioritised actions, the roadmap and every
    answer with its evidence."""
    assessment = readiness.get_assessment(state.workspace, assessment_id)
    texts = _texts(request)
    questionnaire = readiness.questionnaire_for(assessment)
    built = build_report(assessment, questionnaire, texts,
                         generated=datetime.now(UTC).strftime("%Y-%m-%d"), version=__version__)
    answers_by_area = []
    rows = iter(built.answers)
    for area in questionnaire.areas:
        answers_by_area.append((texts.area_title(area.id),
                                [next(rows) for _ in area.questions]))
    return render(request, "readiness_report.html", assessment=assessment, report=built,
                  texts=texts, answers_by_area=answers_by_area,
                  chart=radar(built.area_labels, [(built.title, built.area_values)]),
                  others=[s for s in readiness.list_assessments(state.workspace)
                          if s.id != assessment_id])


def _compare_page(request: Request, state: StateDep, before_id: str, after_id: str
                  ) -> Response:
    first, second, comparison = readiness.compare_assessments(state.workspace, before_id,
                                                              after_id)
    texts = _texts(request)
    questionnaire = readiness.questionnaire_for(second)
    area_of = {q.id: q.area for q in questionnaire.questions}
    order = {q.id: i for i, q in enumerate(questionnaire.questions)}
    changes = sorted(comparison.questions, key=lambda q: order.get(q.question_id, 0))
    return render(request, "readiness_compare.html", before=first, after=second,
                  comparison=comparison, texts=texts, changes=changes, area_of=area_of,
                  chart=comparison_radar(texts, comparison, first.id, second.id),
                  assessments=readiness.list_assessments(state.workspace))


@router.get("/readiness/{after_id}/compare")
def compare(request: Request, after_id: str, caller: Annotated[Caller, page("reports:read")],
            state: StateDep, before: str) -> Response:
    """Two assessments side by side: overall score and stage, each area's score before and
    after (table and radar), and every answer that changed."""
    return _compare_page(request, state, before, after_id)
