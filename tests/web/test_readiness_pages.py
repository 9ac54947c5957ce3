"""The readiness report and the comparison of two assessments as pages of the workspace (not
the API's HTML file): the same scores as the readiness service, in English and French."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.api.conftest import Server
from tests.web.conftest import csrf_of, signed_in

from clearlane.readiness.catalogue import Catalogue
from clearlane.readiness.radar import radar_geometry
from clearlane.services import readiness
from clearlane.web.readiness import radar

EVIDENCE = "Minutes of the steering committee, 2026-03"


def answer_everything(client: httpx.Client, administration: str, level: str) -> str:
    """Start an assessment in the form and answer every question of every area with ``level``
    (the first question with a piece of evidence); its id."""
    token = csrf_of(client.get("/readiness").text)
    started = client.post("/readiness", data={"csrf_token": token,
                                              "administration": administration, "lang": "en"})
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assessment_id = location.rsplit("/", 1)[1]
    for _ in range(50):
        form = client.get(location).text
        area = re.search(r'name="area" value="([^"]+)"', form)
        assert area is not None
        names = sorted(set(re.findall(r'name="(level_[^"]+)"', form)))
        data = {"csrf_token": token, "area": area.group(1), "go": "next",
                **{name: level for name in names}}
        data[f"evidence_{names[0].removeprefix('level_')}"] = EVIDENCE
        saved = client.post(f"/readiness/{assessment_id}", data=data)
        assert saved.status_code == 303, saved.text
        location = saved.headers["location"]
        if location.endswith("/result"):
            return assessment_id
    raise AssertionError("the questionnaire never ended")


@pytest.fixture(scope="module")
def two(web_server: Server) -> tuple[str, str]:
    """Two complete assessments of one administration: every level 1, then every level 2."""
    client = signed_in(web_server, "analyst")
    return (answer_everything(client, "Testland", "1"),
            answer_everything(client, "Testland", "2"))


def cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body cell of the table ``table_id``, row by row."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert table is not None, f"no table {table_id}"
    body = table.group(1).split("<tbody>")[1]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r,
                                                                     re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_report_page_shows_the_services_scores(web_server: Server,
                                                   two: tuple[str, str]) -> None:
    client = signed_in(web_server, "auditor")  # reports:read is enough to read it
    _, later = two
    scored = readiness.score_assessment(readiness.get_assessment(web_server.workspace, later))
    texts = Catalogue.load("en")
    page = client.get(f"/readiness/{later}/report")
    assert page.status_code == 200
    html = page.text
    assert f"{scored.profile.overall:.0f} / 100" in html
    assert texts.stage_title(scored.profile.stage) in html
    assert cells(html, "areas") == [
        [texts.area_title(a.area), f"{a.score:.0f}", f"{a.answered}/{a.questions}",
         str(a.unknown)] for a in scored.profile.areas]
    assert html.count('<polygon class="series"') == 1  # the radar of the areas
    assert EVIDENCE in html
    for question in scored.questionnaire.questions:
        assert texts.question_text(question.id).replace("'", "&#39;") in html
    # every action of the service, in its order
    assert scored.actions
    assert [row[0] for row in cells(html, "actions")] == [str(a.priority)
                                                          for a in scored.actions]
    # a page of the workspace: its menu, and the API's file only as a download
    assert '<nav aria-label=' in html and 'download="readiness-' in html
    result = client.get(f"/readiness/{later}/result").text
    assert f'href="/readiness/{later}/report"' in result
    assert "/api/v1/readiness" not in result


def test_the_report_in_french(web_server: Server, two: tuple[str, str]) -> None:
    client = signed_in(web_server, "analyst")
    _, later = two
    scored = readiness.score_assessment(readiness.get_assessment(web_server.workspace, later))
    french = Catalogue.load("fr")
    html = client.get(f"/readiness/{later}/report?lang=fr").text
    assert '<html lang="fr"' in html
    assert french.ui("title").replace("'", "&#39;") in html
    assert [row[0] for row in cells(html, "areas")] == [
        french.area_title(a.area).replace("'", "&#39;") for a in scored.profile.areas]
    assert "Score par domaine" in html


def test_the_comparison_pages_show_the_services_changes(web_server: Server,
                                                        two: tuple[str, str]) -> None:
    client = signed_in(web_server, "analyst")
    first, later = two
    _, _, comparison = readiness.compare_assessments(web_server.workspace, first, later)
    texts = Catalogue.load("en")
    expected = [[texts.area_title(a.area), f"{a.before:.0f}", f"{a.after:.0f}",
                 f"{a.change:+.0f}"] for a in comparison.areas]
    from_result = client.get(f"/readiness/{later}/compare", params={"before": first}).text
    picked = client.get("/readiness/compare", params={"before": first, "after": later})
    assert picked.status_code == 200
    for html in (from_result, picked.text):
        assert cells(html, "area-changes") == expected
        assert (f"{comparison.overall_before:.0f} → {comparison.overall_after:.0f}"
                in html)
        assert html.count('<polygon class="series"') == 2  # before and after
        changed = cells(html, "question-changes")
        assert len(changed) == len(comparison.questions) > 0
        assert {(row[2], row[3]) for row in changed} == {("1", "2")}
    # the readiness page offers the comparison of any two assessments
    home = client.get("/readiness").text
    assert 'action="/readiness/compare"' in home
    # by default the newest (after) against the one before it (before)
    listed = [s.id for s in readiness.list_assessments(web_server.workspace)]
    for name, default in (("before", listed[-2]), ("after", listed[-1])):
        select = re.search(rf'<select name="{name}">(.*?)</select>', home, re.S)
        assert select is not None
        assert f'<option value="{default}" selected>' in select.group(1)
    french = client.get("/readiness/compare", params={"before": first, "after": later,
                                                      "lang": "fr"}).text
    assert "Réponses modifiées" in french and "Score par domaine" in french


def test_an_unknown_assessment_is_a_plain_not_found_page(web_server: Server) -> None:
    client = signed_in(web_server, "analyst")
    assert client.get("/readiness/nope-0000/report").status_code == 404
    assert client.get("/readiness/compare",
                      params={"before": "nope", "after": "nope-2"}).status_code == 404
    officer = signed_in(web_server, "officer")
    assert officer.get("/readiness/compare", params={"before": "a", "after": "b"}
                       ).status_code == 403


def test_the_radar_places_the_services_scores() -> None:
    values: list[Any] = [100.0, 50.0, 0.0, 25.0]
    chart = radar(["a", "b", "c", "d"], [("x", values)])
    geometry = radar_geometry(values, 360.0)
    assert chart.shapes[0][2] == " ".join(f"{x:.1f},{y:.1f}" for x, y in geometry.values)
    assert chart.rings[-1] == " ".join(f"{x:.1f},{y:.1f}" for x, y in geometry.axes)
    assert [label[3] for label in chart.labels] == ["a", "b", "c", "d"]
    both = radar(["a", "b", "c", "d"], [("before", values), ("after", [100.0] * 4)])
    assert [s[0] for s in both.shapes] == ["before", "after"] and both.shapes[0][1] != \
        both.shapes[1][1]
    with pytest.raises(ValueError):
        radar(["a"], [])
