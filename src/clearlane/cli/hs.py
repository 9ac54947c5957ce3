"""`clearlane hs`: HS classification assistant and misclassification check."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearlane.cli.common import WorkspaceOption, console, progress_bar, workspace_path
from clearlane.hs.codes import check_code, format_code
from clearlane.hs.nomenclature_search import ancestors, children, entry
from clearlane.services import hs as service
from clearlane.store.workspace import Workspace

app = typer.Typer(help="HS classification: suggest codes, check declared codes, search the HS.")

ModelOption = Annotated[Path | None, typer.Option(
    "--model", help="Use this saved classifier instead of the workspace's (outside the "
    "workspace: with --trust-artifact).")]
TrustOption = Annotated[bool, typer.Option(
    "--trust-artifact", help="Load a --model file from outside the workspace; only a file whose "
    "origin you trust.")]


@app.command()
def train(
    workspace: WorkspaceOption = None,
    tariff: Annotated[
        Path | None, typer.Option(help="National tariff CSV (e.g. a US HTS export).")
    ] = None,
    examples: Annotated[
        Path | None,
        typer.Option(help="CSV of labelled example descriptions (hs6_code, description)."),
    ] = None,
    embeddings: Annotated[
        bool,
        typer.Option(
            help="Add sentence-embedding nearest-neighbour evidence (extra `text`; embedding "
            "every reference text takes minutes on a CPU, scoring is slower)."
        ),
    ] = False,
    validation: Annotated[
        Path | None,
        typer.Option(
            help="CSV of reviewed (hs6_code, description) pairs to re-learn the mixture weights on."
        ),
    ] = None,
) -> None:
    """Train the classifier on the workspace history and officers' feedback (cold start if none)."""
    ws = Workspace.open(workspace_path(workspace))
    with progress_bar("Training HS classifier", 1.0) as advance:
        model, path = service.train_classifier(
            ws,
            tariff,
            examples,
            embeddings=embeddings,
            progress=lambda done, total: advance(done, total),
            validation_path=validation,
        )
    console.print(
        f"Trained on {model.n_history_} history pairs, {len(model.classes_)} subheadings; "
        f"saved to {path}"
    )


@app.command()
def suggest(
    description: Annotated[list[str], typer.Argument(help="Goods description(s).")],
    workspace: WorkspaceOption = None,
    k: Annotated[int, typer.Option("-k", help="Candidates to show.")] = 5,
    level: Annotated[int, typer.Option(help="Digits: 6, 4 or 2.")] = 6,
    model: ModelOption = None,
    trust_artifact: TrustOption = False,
) -> None:
    """Ranked HS code candidates for a goods description."""
    ws = Workspace.open(workspace_path(workspace))
    for suggestion in service.suggest_codes(ws, description, k=k, model_file=model,
                                            trust=trust_artifact):
        candidates = {6: suggestion.hs6, 4: suggestion.hs4, 2: suggestion.hs2}.get(level)
        if candidates is None:
            raise typer.BadParameter(f"level must be 6, 4 or 2, got {level}")
        table = Table(title=f"HS{level} suggestions for {suggestion.description!r}")
        table.add_column("#", justify="right")
        table.add_column("code")
        table.add_column("confidence", justify="right")
        table.add_column("official text")
        table.add_column("words that drove it")
        for rank, cand in enumerate(candidates, 1):
            table.add_row(
                str(rank),
                format_code(cand.code),
                f"{cand.confidence:.0%}",
                cand.text,
                ", ".join(cand.words),
            )
        console.print(table)


@app.command()
def check(
    description: Annotated[str | None, typer.Argument(help="Goods description.")] = None,
    code: Annotated[str | None, typer.Argument(help="Declared HS code.")] = None,
    workspace: WorkspaceOption = None,
    level: Annotated[int, typer.Option(help="Compare at 2, 4 or 6 digits.")] = 4,
    threshold: Annotated[float, typer.Option(help="Flag when P(wrong) >= this.")] = 0.8,
    limit: Annotated[int, typer.Option(help="Workspace mode: rows shown.")] = 20,
    model: ModelOption = None,
    trust_artifact: TrustOption = False,
) -> None:
    """Is the declared code plausible for the description? Without arguments, checks the
    workspace's declarations and lists the most suspicious."""
    ws = Workspace.open(workspace_path(workspace))
    if description is not None and code is not None:
        ids = ["-"]
        results = service.check_codes(ws, [description], [code], level=level, threshold=threshold,
                                      model_file=model, trust=trust_artifact)
    elif description is None:
        ids, results = service.check_workspace(ws, level=level, threshold=threshold,
                                               model_file=model, trust=trust_artifact)
    else:
        raise typer.BadParameter("give both DESCRIPTION and CODE, or neither")
    # a code split between HS editions is not checked at 6 digits (P(wrong) NaN): listed last
    order = sorted(range(len(results)), key=lambda i: (
        1.0 if math.isnan(results[i].p_wrong) else -results[i].p_wrong))[:limit]
    table = Table(title="HS misclassification check (higher P(wrong) = riskier)")
    for column in ("declaration", "declared", "suggested", "P(wrong)", "reason"):
        table.add_column(column)
    for i in order:
        r = results[i]
        table.add_row(
            ids[i],
            format_code(r.declared),
            format_code(r.suggested),
            "-" if math.isnan(r.p_wrong) else f"{r.p_wrong:.0%}",
            r.reason.text if r.reason else
            "not checked (code split between HS editions)" if math.isnan(r.p_wrong)
            else "consistent",
        )
    console.print(table)
    flagged = sum(r.reason is not None for r in results)
    console.print(f"{flagged} of {len(results)} flagged")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words, e.g. 'mobile phone'.")],
    limit: Annotated[int, typer.Option(help="Rows shown.")] = 10,
) -> None:
    """Search the HS 2022 nomenclature by meaning-bearing words (synonyms and typos tolerated)."""
    table = Table(title=f"HS 2022 entries matching {query!r}")
    for column in ("code", "level", "text", "score"):
        table.add_column(column)
    for hit in service.search_codes(query, limit=limit):
        table.add_row(format_code(hit.code), str(hit.level), hit.description, f"{hit.score:.2f}")
    console.print(table)


@app.command()
def show(code: Annotated[str, typer.Argument(help="HS code (2-10 digits).")]) -> None:
    """Validate a code and show its place in the nomenclature and what lies under it."""
    result = check_code(code)
    console.print(result.message, style="green" if result.valid else "red")
    if not result.valid:
        return
    for parent in ancestors(code):
        console.print(
            f"{'  ' * (parent.level // 2 - 1)}{format_code(parent.code)}  {parent.description}"
        )
    for child in children(entry(code).code):
        console.print(f"      {format_code(child.code)}  {child.description}", style="dim")


@app.command()
def feedback(
    description: Annotated[str, typer.Argument(help="Goods description.")],
    accepted: Annotated[str, typer.Argument(help="The code the officer accepted or corrected to.")],
    suggested: Annotated[str | None, typer.Option(help="The code that was suggested.")] = None,
    officer: Annotated[str | None, typer.Option(help="Officer id.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Record an officer's accepted/corrected code; the next `hs train` learns from it."""
    ws = Workspace.open(workspace_path(workspace))
    service.record_feedback(ws, description, accepted, suggested_code=suggested, officer_id=officer)
    console.print(f"Recorded {format_code(accepted)} for {description!r}")
