"""The readiness report: texts resolved in one language, then rendered as HTML (or PDF).

:func:`build_report` gathers everything a renderer needs; :func:`render_html` writes a
self-contained page (inline SVG radar chart, inline CSS, nothing fetched from a network).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from clearlane.readiness.catalogue import Catalogue
from clearlane.readiness.impact import ImpactResult
from clearlane.readiness.questionnaire import ImpactQuestionnaire, Questionnaire
from clearlane.readiness.radar import radar_svg
from clearlane.readiness.records import Assessment, ImpactAssessment
from clearlane.readiness.scoring import prioritised_actions, readiness_profile, roadmap


@dataclass(frozen=True)
class ImpactSection:
    title: str
    rows: list[tuple[str, str]]
    level_title: str
    level_description: str
    mitigation_note: str
    obligations: list[str]


@dataclass(frozen=True)
class Report:
    """Every text and number of one report, already in the report's language."""

    lang: str
    title: str
    subtitle: str
    intro: str
    labels: dict[str, str]
    summary: list[tuple[str, str]]
    stage_description: str
    area_labels: list[str]
    area_values: list[float]
    area_rows: list[tuple[str, str, str, str]]
    actions: list[tuple[str, str, str, str]]
    roadmap: list[tuple[str, str, str, list[tuple[str, list[str]]]]]
    answers: list[tuple[str, str, str, str]]
    impacts: list[ImpactSection] = field(default_factory=list)
    method_note: str = ""
    footer: str = ""


def build_report(
    assessment: Assessment,
    questionnaire: Questionnaire,
    catalogue: Catalogue,
    *,
    generated: str,
    version: str,
    impacts: list[tuple[ImpactAssessment, ImpactResult]] | None = None,
    impact_questionnaire: ImpactQuestionnaire | None = None,
) -> Report:
    """Resolve scores, actions, roadmap and impact results into texts of ``catalogue``."""
    t = catalogue
    levels = assessment.levels()
    profile = readiness_profile(questionnaire, levels)
    labels = {k: t.ui(k) for k in (
        "area", "score", "answered", "unknown", "actions", "no_actions", "action_priority",
        "current_level", "next_step", "roadmap", "phase_status", "radar_title", "answers",
        "evidence", "question", "level", "stage", "overall", "impact_title", "obligations",
    )}

    def level_label(qid: str) -> str:
        if qid not in levels:
            return t.ui("not_answered")
        value = levels[qid]
        return t.ui("dont_know") if value is None else str(value)

    area_rows = [
        (t.area_title(a.area), f"{a.score:.0f}", f"{a.answered}/{a.questions}", str(a.unknown))
        for a in profile.areas
    ]
    actions = [
        (str(a.priority), t.area_title(a.area), t.question_text(a.question_id)
         + f" ({t.ui('current_level')}: {level_label(a.question_id)})", t.next_step(a.question_id))
        for a in prioritised_actions(questionnaire, levels)
    ]
    road = []
    for phase in roadmap(questionnaire, levels).phases:
        steps = [
            (t.step_title(s.step), [t.next_step(i.question_id) for i in s.items])
            for s in phase.steps
        ]
        road.append((t.phase_title(phase.phase), t.get(f"phase_status/{phase.status}"),
                     f"{phase.progress * 100:.0f} %", steps))
    answers = []
    for q in questionnaire.questions:
        value = levels.get(q.id)
        descriptor = t.level_text(q.id, value) if q.id in levels and value is not None else ""
        evidence = assessment.answers[q.id].evidence if q.id in assessment.answers else ""
        answers.append((t.question_text(q.id), level_label(q.id), descriptor, evidence))
    impact_sections = []
    for record, result in impacts or []:
        assert impact_questionnaire is not None
        impact_sections.append(_impact_section(record, result, impact_questionnaire, t))
    return Report(
        lang=catalogue.lang,
        title=t.ui("title"),
        subtitle=t.ui("subtitle", administration=assessment.administration,
                      assessment_id=assessment.id),
        intro=t.ui("intro"),
        labels=labels,
        summary=[
            (t.ui("overall"), f"{profile.overall:.0f} / 100"),
            (t.ui("stage"), t.stage_title(profile.stage)),
            (t.ui("weakest_area"), ", ".join(t.area_title(a) for a in profile.weakest)),
            (t.ui("mean"), f"{profile.mean:.0f} / 100"),
        ],
        stage_description=t.stage_description(profile.stage),
        area_labels=[t.area_title(a.area) for a in profile.areas],
        area_values=[a.score for a in profile.areas],
        area_rows=area_rows,
        actions=actions,
        roadmap=road,
        answers=answers,
        impacts=impact_sections,
        method_note=t.ui("method_note"),
        footer=t.ui("generated", date=generated, version=version,
                    questionnaire_version=questionnaire.version),
    )


def _impact_section(record: ImpactAssessment, result: ImpactResult,
                    questionnaire: ImpactQuestionnaire, t: Catalogue) -> ImpactSection:
    pct = {"threshold": f"{questionnaire.mitigation_threshold * 100:.0f}",
           "reduction": f"{questionnaire.mitigation_reduction * 100:.0f}"}
    note = t.ui("mitigation_applied" if result.mitigation_applied else "mitigation_not_applied",
                **pct)
    return ImpactSection(
        title=f"{t.ui('impact_title')}: {record.use_case}",
        rows=[
            (t.ui("raw_score"), f"{result.raw} / {result.max_raw}"),
            (t.ui("mitigation_score"), f"{result.mitigation} / {result.max_mitigation}"),
            (t.ui("final_score"), f"{result.final:.2f} ({result.share * 100:.0f} %)"),
        ],
        level_title=t.get(f"impact/levels/{result.level}/title"),
        level_description=t.get(f"impact/levels/{result.level}/description"),
        mitigation_note=note + " " + t.ui("unknown_risk_note"),
        obligations=[t.get(f"impact/obligations/{o}") for o in result.obligations],
    )


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #1f77b4;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f6fa}.muted{color:#666}.chart{display:flex;gap:2rem;flex-wrap:wrap;
align-items:center}.chart table{width:auto}.badge{font-weight:bold;color:#1f77b4}
@media print{h2{page-break-before:always}h2.first{page-break-before:avoid}}
"""


def _table(headers: list[str], rows: Sequence[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    head = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (no external resource)."""
    lb = report.labels
    out = [
        f'<!doctype html><html lang="{escape(report.lang)}"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(report.title)}</h1><p class='muted'>{escape(report.subtitle)}</p>",
        f"<p>{escape(report.intro)}</p>",
        f"<h2 class='first'>{escape(lb['overall'])}</h2>",
        _table(["", ""], [(k, v) for k, v in report.summary]),
        f"<p class='badge'>{escape(report.stage_description)}</p>",
        "<div class='chart'>",
        radar_svg(report.area_labels, report.area_values, lb["radar_title"]),
        _table([lb["area"], lb["score"], lb["answered"], lb["unknown"]], report.area_rows),
        "</div>",
        f"<p class='muted'>{escape(report.method_note)}</p>",
        f"<h2>{escape(lb['actions'])}</h2>",
    ]
    if report.actions:
        out.append(_table([lb["action_priority"], lb["area"], lb["question"], lb["next_step"]],
                          report.actions))
    else:
        out.append(f"<p>{escape(lb['no_actions'])}</p>")
    out.append(f"<h2>{escape(lb['roadmap'])}</h2>")
    for phase, status, progress, steps in report.roadmap:
        out.append(f"<h3>{escape(phase)} <span class='muted'>({escape(status)}, "
                   f"{escape(progress)})</span></h3><ul>")
        for step, items in steps:
            inner = "".join(f"<li>{escape(i)}</li>" for i in items)
            out.append(f"<li><strong>{escape(step)}</strong>"
                       + (f"<ul>{inner}</ul>" if inner else " &#10003;") + "</li>")
        out.append("</ul>")
    for section in report.impacts:
        out.append(f"<h2>{escape(section.title)}</h2>")
        out.append(_table(["", ""], section.rows))
        out.append(f"<p class='badge'>{escape(section.level_title)}</p>"
                   f"<p>{escape(section.level_description)}</p>"
                   f"<p class='muted'>{escape(section.mitigation_note)}</p>")
        out.append(f"<h3>{escape(lb['obligations'])}</h3><ul>"
                   + "".join(f"<li>{escape(o)}</li>" for o in section.obligations) + "</ul>")
    out.append(f"<h2>{escape(lb['answers'])}</h2>")
    out.append(_table([lb["question"], lb["level"], "", lb["evidence"]], report.answers))
    out.append(f"<p class='muted'>{escape(report.footer)}</p></body></html>")
    return "".join(out)
