"""The rules editor: every version of the workspace's rule set with what it produced; draft a
new version, back-test it (hits, past hit rate and revenue, overlap with the model's
selections), publish it (a permission of its own, and never by the one who drafted it: the
four-eyes rule of :func:`~clearlane.services.rules_lifecycle.publish_rules`) or retire it."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from clearlane.api.security import Caller
from clearlane.api.state import StateDep
from clearlane.errors import Problem, ValidationError
from clearlane.services import rules_lifecycle
from clearlane.web.access import page
from clearlane.web.render import render

router = APIRouter(include_in_schema=False)
MAX_TEXT = 200_000


def _day(name: str, value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError("not a date", [Problem(name, value, "a date YYYY-MM-DD")]
                              ) from None


@router.get("/rules")
def rules_page(request: Request, caller: Annotated[Caller, page("reports:read")],
               state: StateDep) -> Response:
    published = rules_lifecycle.published_version(state.workspace)
    return render(request, "rules.html", history=rules_lifecycle.rule_history(state.workspace),
                  published=published, start_text=published.text if published else "")


@router.post("/rules")
def draft(caller: Annotated[Caller, page("rules:edit")], state: StateDep,
          text: Annotated[str, Form(max_length=MAX_TEXT)]) -> Response:
    """Store the YAML as a new draft version (refused with the line and field of each
    problem)."""
    drafted = rules_lifecycle.draft_rules(state.workspace, text, source="web editor")
    return RedirectResponse(f"/rules/{drafted.version}", 303)


@router.get("/rules/{version}")
def rule_set_page(request: Request, version: int, caller: Annotated[Caller, page("reports:read")],
                  state: StateDep) -> Response:
    [history] = rules_lifecycle.rule_history(state.workspace, version)
    drafted_by_caller = rules_lifecycle.drafter_refusal(history.rule_set,
                                                        caller.actor) is not None
    return render(request, "rule_set.html", history=history, rule_set=history.rule_set,
                  drafted_by_caller=drafted_by_caller)


@router.post("/rules/{version}/backtest")
def backtest(version: int, caller: Annotated[Caller, page("rules:edit")], state: StateDep,
             date_from: Annotated[str, Form()] = "", date_to: Annotated[str, Form()] = ""
             ) -> Response:
    rules_lifecycle.backtest_draft(state.workspace, version,
                                   date_from=_day("date_from", date_from),
                                   date_to=_day("date_to", date_to))
    return RedirectResponse(f"/rules/{version}", 303)


@router.post("/rules/{version}/publish")
def publish(version: int, caller: Annotated[Caller, page("rules:publish")],
            state: StateDep) -> Response:
    rules_lifecycle.publish_rules(state.workspace, version)
    return RedirectResponse(f"/rules/{version}", 303)


@router.post("/rules/{version}/retire")
def retire(version: int, caller: Annotated[Caller, page("rules:publish")],
           state: StateDep) -> Response:
    rules_lifecycle.retire_rules(state.workspace, version)
    return RedirectResponse(f"/rules/{version}", 303)
