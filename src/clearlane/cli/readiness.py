"""`clearlane readiness`: AI/ML readiness self-assessment and use-case impact assessment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, workspace_path
from clearlane.readiness.catalogue import Catalogue, available_languages, check_complete
from clearlane.readiness.questionnaire import (
    RiskQuestion,
    check_texts,
    load_impact_questionnaire,
    load_questionnaire,
)
from clearlane.services import readiness as service
from clearlane.store.workspace import Workspace

app = typer.Typer(
    help=(
        "AI/ML readiness self-assessment (strategy, governance, data, technical capacity, human "
        "skills, legal and ethical) and use-case impact assessment.\n\nRun `clearlane readiness` "
        "alone for the interactive questionnaire (resumable; answers saved in the workspace)."
    ),
    invoke_without_command=True,
    rich_markup_mode="rich",
)
impact_app = typer.Typer(
    help="Impact assessment of one planned AI use (run alone for the interactive questions).",
    invoke_without_command=True,
)
app.add_typer(impact_app, name="impact")

LangOption = Annotated[
    str | None,
    typer.Option("--lang", "-l", help="Language of questions and reports: " + ", ".join(
        available_languages()) + " [default: the assessment's, else en].", show_default=False),
]


def _workspace(option: Path | None) -> Workspace:
    return Workspace.open(workspace_path(option))


class _Quit(Exception):
    """The user asked to save and quit."""


# -- interactive questionnaire ---------------------------------------------------------------


@app.callback()
def readiness(
    ctx: typer.Context,
    workspace: WorkspaceOption = None,
    lang: LangOption = None,
    assessment: Annotated[str | None, typer.Option(
        "--assessment", "-a", help="Resume this assessment id.")] = None,
    administration: Annotated[str | None, typer.Option(
        "--administration", help="Name of the administration (asked if missing).")] = None,
    new: Annotated[bool, typer.Option(
        "--new", help="Start a new assessment even if one is in progress.")] = False,
) -> None:
    """Answer the readiness questionnaire in the terminal; answers are saved after each one."""
    if ctx.invoked_subcommand is not None:
        return
    ws = _workspace(workspace)
    current: service.Assessment | None = None
    if assessment:
        current = service.get_assessment(ws, assessment)
    elif not new:
        current = service.latest_in_progress(ws, administration)
    t = Catalogue.load(lang or (current.lang if current else "en"))
    if current is None:
        name = administration or typer.prompt(t.ui("administration_prompt"))
        current = service.start_assessment(ws, name, lang=t.lang)
        console.print(t.ui("started", assessment_id=current.id))
    else:
        total = len(service.questionnaire_for(current).questions)
        console.print(t.ui("resuming", assessment_id=current.id, answered=len(current.answers),
                           total=total))
    console.print(f"[bold]{t.ui('title')}[/]\n{t.ui('intro')}\n", highlight=False)
    questionnaire = service.questionnaire_for(current)
    order = {q.id: i for i, q in enumerate(questionnaire.questions)}
    try:
        while (question := service.next_question(current)) is not None:
            console.rule(t.ui("question_header", area=t.area_title(question.area),
                              number=order[question.id] + 1, total=len(order)))
            console.print(f"[bold]{t.question_text(question.id)}[/]", highlight=False)
            for level in range(questionnaire.scale_max + 1):
                console.print(f"  [cyan]{level}[/] {t.level_text(question.id, level)}",
                              highlight=False)
            level_answer = _ask_level(t, questionnaire.scale_max)
            evidence = typer.prompt(t.ui("evidence_prompt"), default="", show_default=False)
            current = service.record_answer(ws, current.id, question.id, level_answer, evidence)
    except _Quit:
        console.print(t.ui("saved_and_quit", assessment_id=current.id), highlight=False)
        return
    console.print(f"[green]{t.ui('completed')}[/]")
    _print_scores(service.score_assessment(current), t)


def _ask_level(t: Catalogue, scale_max: int) -> int | None:
    while True:
        raw = typer.prompt(t.ui("level_prompt")).strip().lower()
        if raw == "q":
            raise _Quit
        if raw == "?":
            return None
        if raw.isdigit() and 0 <= int(raw) <= scale_max:
            return int(raw)
        console.print(f"[red]{t.ui('invalid_level')}[/]")


# -- listing, showing, comparing -----------------------------------------------------------


def _print_scores(scored: service.ScoredAssessment, t: Catalogue, max_actions: int = 10) -> None:
    profile = scored.profile
    table = Table(title=t.ui("title"))
    for col in (t.ui("area"), t.ui("score"), t.ui("answered"), t.ui("unknown")):
        table.add_column(col)
    for a in profile.areas:
        weak = a.area in profile.weakest
        table.add_row(("[bold red]" if weak else "") + t.area_title(a.area), f"{a.score:.0f}",
                      f"{a.answered}/{a.questions}", str(a.unknown))
    console.print(table)
    console.print(f"{t.ui('overall')}: [bold]{profile.overall:.0f}[/] - "
                  f"{t.stage_title(profile.stage)}", highlight=False)
    console.print(t.stage_description(profile.stage))
    console.print(f"{t.ui('mean')}: {profile.mean:.0f}", highlight=False)
    if scored.actions:
        actions = Table(title=t.ui("actions"))
        for col in (t.ui("action_priority"), t.ui("area"), t.ui("current_level"),
                    t.ui("next_step")):
            actions.add_column(col)
        for action in scored.actions[:max_actions]:
            actions.add_row(str(action.priority), t.area_title(action.area),
                            str(action.level) if action.known else t.ui("dont_know"),
                            t.next_step(action.question_id))
        console.print(actions)
    else:
        console.print(t.ui("no_actions"))
    console.print(f"[bold]{t.ui('roadmap')}[/]")
    for phase in scored.roadmap.phases:
        marker = "->" if phase.phase == scored.roadmap.current else "  "
        console.print(f"{marker} {t.phase_title(phase.phase)}: "
                      f"{t.get(f'phase_status/{phase.status}')} ({phase.progress * 100:.0f} %)",
                      highlight=False)


@app.command("list")
def list_command(
    workspace: WorkspaceOption = None,
    administration: Annotated[str | None, typer.Option(help="Only this administration.")] = None,
    lang: LangOption = None,
) -> None:
    """List saved assessments (the history), oldest first."""
    t = Catalogue.load(lang or "en")
    table = Table(title=t.ui("history"))
    for col in ("id", "administration", t.ui("created"),
                t.ui("answered"), t.ui("status"), t.ui("overall"), t.ui("stage")):
        table.add_column(col, overflow="fold")
    for s in service.list_assessments(_workspace(workspace), administration):
        table.add_row(s.id, s.administration, s.created_at, f"{s.answered}/{s.questions}",
                      t.ui("status_complete" if s.complete else "status_in_progress"),
                      f"{s.overall:.0f}", str(s.stage))
    console.print(table)


@app.command("show")
def show_command(
    assessment_id: Annotated[str, typer.Argument(help="Assessment id (see `readiness list`).")],
    workspace: WorkspaceOption = None,
    lang: LangOption = None,
    all_actions: Annotated[bool, typer.Option("--all", help="Show every action.")] = False,
) -> None:
    """Show area scores, overall readiness, prioritised actions and the roadmap."""
    assessment = service.get_assessment(_workspace(workspace), assessment_id)
    _print_scores(service.score_assessment(assessment), Catalogue.load(lang or assessment.lang),
                  max_actions=1000 if all_actions else 10)


@app.command("compare")
def compare_command(
    before: Annotated[str, typer.Argument(help="Earlier assessment id.")],
    after: Annotated[str, typer.Argument(help="Later assessment id.")],
    workspace: WorkspaceOption = None,
    lang: LangOption = None,
) -> None:
    """Compare two assessments of the same administration over time."""
    a, b, comparison = service.compare_assessments(_workspace(workspace), before, after)
    t = Catalogue.load(lang or b.lang)
    if a.administration.casefold() != b.administration.casefold():
        console.print(f"[yellow]{t.ui('different_administrations', a=a.administration, b=b.administration)}[/]")
    table = Table(title=t.ui("compare_title"))
    for col in (t.ui("area"), f"{t.ui('before')} ({a.id})", f"{t.ui('after')} ({b.id})",
                t.ui("change")):
        table.add_column(col)
    for change in comparison.areas:
        table.add_row(t.area_title(change.area), f"{change.before:.0f}", f"{change.after:.0f}",
                      f"{change.change:+.0f}")
    table.add_row(t.ui("overall"), f"{comparison.overall_before:.0f}",
                  f"{comparison.overall_after:.0f}",
                  f"{comparison.overall_after - comparison.overall_before:+.0f}")
    table.add_row(t.ui("stage"), str(comparison.stage_before), str(comparison.stage_after),
                  f"{comparison.stage_after - comparison.stage_before:+d}")
    console.print(table)
    if not comparison.questions:
        console.print(t.ui("no_changes"))
        return
    changes = Table(title=t.ui("question_changes"))
    for col in (t.ui("question"), t.ui("before"), t.ui("after")):
        changes.add_column(col)

    def fmt(value: int | None, answered: bool) -> str:
        if not answered:
            return t.ui("not_answered")
        return t.ui("dont_know") if value is None else str(value)

    for qc in comparison.questions:
        changes.add_row(t.question_text(qc.question_id),
                        fmt(qc.before, qc.question_id in a.answers),
                        fmt(qc.after, qc.question_id in b.answers))
    console.print(changes)


# -- import, export, report, validation ------------------------------------------------------


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="Answers file (.yaml, .yml or .json).")],
    workspace: WorkspaceOption = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Overwrite an assessment with the same id.")] = False,
) -> None:
    """Import answers from YAML or JSON (validated) as an assessment of the workspace."""
    assessment = service.import_answers(_workspace(workspace), path, replace_existing=replace)
    console.print(f"imported assessment [bold]{assessment.id}[/] "
                  f"({len(assessment.answers)} answers)")


@app.command("export")
def export_command(
    assessment_id: Annotated[str, typer.Argument(help="Assessment id.")],
    output: Annotated[Path, typer.Argument(help="File to write (.yaml, .yml or .json).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Export an assessment's answers and evidence to YAML or JSON."""
    path = service.export_answers(_workspace(workspace), assessment_id, output)
    console.print(f"wrote {path}")


@app.command("report")
def report_command(
    assessment_id: Annotated[str, typer.Argument(help="Assessment id.")],
    workspace: WorkspaceOption = None,
    lang: LangOption = None,
    fmt: Annotated[list[str] | None, typer.Option(
        "--format", "-f", help="html and/or pdf (repeat the option) [default: both].")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Folder for the files [default: the workspace's reports/].")] = None,
    impact: Annotated[list[str] | None, typer.Option(
        "--impact", help="Include this impact assessment id (repeatable).")] = None,
) -> None:
    """Write the report (radar chart, actions, roadmap, answers) as HTML and/or PDF."""
    paths = service.render_report(_workspace(workspace), assessment_id,
                                  formats=fmt or ["html", "pdf"], lang=lang, out_dir=output,
                                  impact_ids=impact or [])
    for path in paths:
        console.print(f"wrote {path}")


@app.command("validate")
def validate_command(
    path: Annotated[Path, typer.Argument(help="Questionnaire YAML file to check.")],
    impact_questionnaire: Annotated[bool, typer.Option(
        "--impact", help="The file is an impact questionnaire.")] = False,
    lang: LangOption = None,
) -> None:
    """Validate a questionnaire file (and that a catalogue has all its texts)."""
    if impact_questionnaire:
        iq = load_impact_questionnaire(path=path)
        check_texts(load_questionnaire(), iq, Catalogue.load(lang or "en"), lang or "en")
        console.print(f"{path}: valid impact questionnaire ({len(iq.risk)} risk, "
                      f"{len(iq.mitigation)} mitigation questions)")
        return
    q = load_questionnaire(path=path)
    check_texts(q, None, Catalogue.load(lang or "en"), lang or "en")
    console.print(f"{path}: valid questionnaire v{q.version} ({len(q.areas)} areas, "
                  f"{len(q.questions)} questions)")


@app.command("check-catalogue")
def check_catalogue_command(
    source: Annotated[str, typer.Argument(help="Language code (e.g. fr) or catalogue file.")],
) -> None:
    """Check a translation: every English key translated, no unknown key, every text present."""
    path = Path(source)
    catalogue = Catalogue.from_file(path) if path.suffix in (".yaml", ".yml") else Catalogue.load(
        source)
    check_complete(catalogue, source)
    check_texts(load_questionnaire(), load_impact_questionnaire(), catalogue, source)
    console.print(f"catalogue {catalogue.lang!r}: complete ({len(catalogue.keys)} texts)")


# -- impact assessment ----------------------------------------------------------------------


@impact_app.callback()
def impact(
    ctx: typer.Context,
    workspace: WorkspaceOption = None,
    lang: LangOption = None,
    impact_id: Annotated[str | None, typer.Option("--id", help="Resume this impact id.")] = None,
    use_case: Annotated[str | None, typer.Option(
        "--use-case", help="The planned AI use (asked if missing).")] = None,
    administration: Annotated[str, typer.Option(help="Administration name.")] = "",
) -> None:
    """Answer the impact questions for one planned AI use; saved after each answer."""
    if ctx.invoked_subcommand is not None:
        return
    ws = _workspace(workspace)
    record = service.get_impact(ws, impact_id) if impact_id else None
    t = Catalogue.load(lang or (record.lang if record else "en"))
    if record is None:
        name = use_case or typer.prompt(t.ui("use_case_prompt"))
        record = service.start_impact(ws, name, administration=administration, lang=t.lang)
        console.print(t.ui("started", assessment_id=record.id))
    try:
        while (question := service.next_impact_question(record)) is not None:
            console.rule(t.ui("impact_title"))
            console.print(f"[bold]{t.get(f'impact/questions/{question.id}/text')}[/]",
                          highlight=False)
            answer: str | bool | None
            if isinstance(question, RiskQuestion):
                for i, (name, _) in enumerate(question.options, start=1):
                    console.print(f"  [cyan]{i}[/] "
                                  f"{t.get(f'impact/questions/{question.id}/options/{name}')}",
                                  highlight=False)
                answer = _ask_option(t, [name for name, _ in question.options])
            else:
                answer = _ask_yes_no(t)
            record = service.record_impact_answer(ws, record.id, question.id, answer)
    except _Quit:
        console.print(t.ui("saved_and_quit", assessment_id=record.id).replace(
            "readiness --assessment", "readiness impact --id"), highlight=False)
        return
    _print_impact(record, t)


def _ask_option(t: Catalogue, options: list[str]) -> str | None:
    while True:
        raw = typer.prompt(t.ui("option_prompt", n=len(options))).strip().lower()
        if raw == "q":
            raise _Quit
        if raw == "?":
            return None
        if raw.isdigit() and 1 <= int(raw) <= len(options):
            return options[int(raw) - 1]
        console.print(f"[red]{t.ui('invalid_option')}[/]")


def _ask_yes_no(t: Catalogue) -> bool | None:
    yes = {"y", "yes", "o", "oui", t.ui("answer_yes").lower()}
    no = {"n", "no", "non", t.ui("answer_no").lower()}
    while True:
        raw = typer.prompt(t.ui("yes_no_prompt")).strip().lower()
        if raw == "q":
            raise _Quit
        if raw == "?":
            return None
        if raw in yes:
            return True
        if raw in no:
            return False
        console.print(f"[red]{t.ui('invalid_option')}[/]")


def _print_impact(record: service.ImpactAssessment, t: Catalogue) -> None:
    result = service.score_impact(record)
    iq = service.impact_questionnaire()
    console.print(f"[bold]{t.ui('impact_title')}: {record.use_case}[/] ({record.id})",
                  highlight=False)
    console.print(f"{t.ui('raw_score')}: {result.raw} / {result.max_raw}")
    console.print(f"{t.ui('mitigation_score')}: {result.mitigation} / {result.max_mitigation}")
    pct = {"threshold": f"{iq.mitigation_threshold * 100:.0f}",
           "reduction": f"{iq.mitigation_reduction * 100:.0f}"}
    console.print(t.ui("mitigation_applied" if result.mitigation_applied
                       else "mitigation_not_applied", **pct), highlight=False)
    console.print(f"{t.ui('final_score')}: {result.final:.2f} ({result.share * 100:.0f} %)")
    console.print(f"{t.ui('impact_level')}: [bold]{t.get(f'impact/levels/{result.level}/title')}[/]"
                  f" - {t.get(f'impact/levels/{result.level}/description')}", highlight=False)
    console.print(f"[bold]{t.ui('obligations')}[/]")
    for obligation in result.obligations:
        console.print(f"  - {t.get(f'impact/obligations/{obligation}')}", highlight=False)
    console.print(t.ui("unknown_risk_note"), highlight=False)


@impact_app.command("show")
def impact_show(
    impact_id: Annotated[str, typer.Argument(help="Impact assessment id.")],
    workspace: WorkspaceOption = None,
    lang: LangOption = None,
) -> None:
    """Show the impact score, level and obligations of one use case."""
    record = service.get_impact(_workspace(workspace), impact_id)
    _print_impact(record, Catalogue.load(lang or record.lang))


@impact_app.command("list")
def impact_list(workspace: WorkspaceOption = None) -> None:
    """List saved impact assessments with their level."""
    table = Table(title="impact assessments")
    for col in ("id", "use case", "created", "complete", "level"):
        table.add_column(col)
    iq = service.impact_questionnaire()
    for record in service.list_impacts(_workspace(workspace)):
        result = service.score_impact(record)
        table.add_row(record.id, record.use_case, record.created_at,
                      "yes" if record.is_complete(iq) else "no", str(result.level))
    console.print(table)


@impact_app.command("import")
def impact_import(
    path: Annotated[Path, typer.Argument(help="Impact answers file (.yaml, .yml or .json).")],
    workspace: WorkspaceOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite the same id.")] = False,
) -> None:
    """Import impact answers from YAML or JSON (validated)."""
    record = service.import_impact(_workspace(workspace), path, replace_existing=replace)
    console.print(f"imported impact assessment [bold]{record.id}[/]")


@impact_app.command("export")
def impact_export(
    impact_id: Annotated[str, typer.Argument(help="Impact assessment id.")],
    output: Annotated[Path, typer.Argument(help="File to write (.yaml, .yml or .json).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Export impact answers to YAML or JSON."""
    console.print(f"wrote {service.export_impact(_workspace(workspace), impact_id, output)}")

