"""The officer's path in a real browser (Debian's Chromium driven by Playwright): sign in,
take the next alert, close it with the outcome, and see the label recorded."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import PASSWORD, Server
from tests.web.conftest import SECOND_ANALYST, OffSiteRequests


def sign_in(page: Any, name: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_officer_goes_from_the_queue_to_a_closed_case(page: Any, web_server: Server) -> None:
    sign_in(page, "officer")
    page.wait_for_url("**/queue")
    assert page.locator("table.queue tbody tr").count() > 0
    page.get_by_role("button", name="Take the next alert").click()
    page.wait_for_url("**/cases/A*")
    alert_id = page.url.rsplit("/", 1)[1]
    assert "locked (officer)" in page.locator("#case-status").inner_text()
    page.get_by_label("Comment").fill("Seals intact; opened container 2.")
    page.get_by_role("button", name="Add the comment").click()
    page.wait_for_url(f"**/cases/{alert_id}")
    assert "Seals intact; opened container 2." in page.locator("ul.events").inner_text()
    page.get_by_label("Fraud found", exact=True).check()
    page.get_by_label("Revenue recovered (national currency)").fill("125000")
    page.get_by_label("Finding", exact=True).fill("Undervalued by half")
    page.get_by_role("button", name="Close the case").click()
    page.wait_for_url(f"**/cases/{alert_id}")
    assert "closed" in page.locator("#case-status").inner_text()
    # the outcome is a label now, as `clearlane outcomes record` stores it
    with web_server.client("officer") as api:
        case = api.get(f"/api/v1/cases/{alert_id}").json()
        declaration = api.get(f"/api/v1/declarations/{case['alert']['declaration_id']}")
    assert declaration.status_code == 200, declaration.text
    item = next(i for i in declaration.json()["items"]
                if i["item_no"] == case["alert"]["item_no"])
    assert item["fields"]["fraud"] is True
    assert item["fields"]["revenue_recovered"] == 125000
    assert item["fields"]["inspected"] is True


def test_htmx_filters_the_queue_without_reloading(page: Any, web_server: Server) -> None:
    sign_in(page, "officer")
    page.wait_for_url("**/queue")
    page.locator("select[name=lane]").select_option("yellow")
    page.wait_for_url("**/queue?*lane=yellow*")
    assert page.locator("#queue-rows .lane-red").count() == 0


def test_french_pages(page: Any, web_server: Server) -> None:
    page.goto("/login?lang=fr")
    page.get_by_label("Nom d'utilisateur").fill("officer")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/queue")
    assert page.get_by_role("heading", name="File de travail").is_visible()


def test_readiness_form_is_saved_and_resumed(page: Any, web_server: Server) -> None:
    sign_in(page, "analyst")
    page.goto("/readiness")
    page.get_by_label("Name of the administration").fill("Customs of Testland")
    page.get_by_role("button", name="Start an assessment").click()
    page.wait_for_url("**/readiness/*")
    form_url = page.url
    first = page.locator("form.readiness fieldset").first
    first.locator("input[type=radio][value='2']").check()
    first.locator("input[name^=evidence_]").fill("Risk unit charter, 2024")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    # resumed later, in a new session: the answer and its evidence are there
    page.context.clear_cookies()
    sign_in(page, "analyst")
    page.goto(form_url)
    first = page.locator("form.readiness fieldset").first
    assert first.locator("input[type=radio][value='2']").is_checked()
    assert first.locator("input[name^=evidence_]").input_value() == "Risk unit charter, 2024"
    page.get_by_role("button", name="Save and go to the next area").click()
    page.wait_for_load_state()
    assert "area=" in page.url or page.url.endswith("/result")
    # its report is a page of the workspace: the radar, a score per area, the evidence
    page.goto(form_url.split("?")[0] + "/report")
    report = page.locator("#readiness-report")
    assert report.locator("svg.radar").is_visible()
    rows = report.locator("#areas tbody tr")
    assert rows.count() == report.locator("svg.radar text").count() > 1
    shape = report.locator("svg.radar polygon.series").get_attribute("points") or ""
    assert len(shape.split()) == rows.count()  # one vertex per area
    assert "Risk unit charter, 2024" in report.inner_text()
    assert page.get_by_role("navigation", name="Main menu").is_visible()


def test_reading_works_with_javascript_off(browser: Any, web_server: Server) -> None:
    context = browser.new_context(base_url=web_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "officer")
        page.wait_for_url("**/queue")
        assert page.locator("table.queue tbody tr").count() > 0
        page.locator("select[name=lane]").select_option("yellow")
        page.get_by_role("button", name="Apply").click()  # the <noscript> button
        page.wait_for_url("**/queue?*lane=yellow*")
        assert page.locator("table.queue .lane-red").count() == 0
    finally:
        context.close()


def test_an_analyst_drafts_and_backtests_a_rule_set_a_second_analyst_publishes_it(
        browser: Any, page: Any, web_server: Server) -> None:
    from clearlane.cli.demo import EXAMPLE_RULES

    sign_in(page, "analyst")
    page.goto("/rules")
    page.get_by_label("Rule set (YAML)").fill(EXAMPLE_RULES.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Save as a draft").click()
    page.wait_for_url("**/rules/*")
    draft_url = page.url
    assert "draft" in page.get_by_role("heading", level=1).inner_text()
    page.get_by_role("button", name="Back-test").click()
    page.wait_for_url(draft_url)
    assert "hit rate" in page.locator("#backtest-summary").inner_text()
    # four eyes: she holds rules:publish, but not for her own draft
    own = page.get_by_role("button", name="Publish this version")
    assert own.count() == 1 and own.is_disabled()
    assert "second person" in page.locator("#four-eyes").inner_text()
    colleague = browser.new_context(base_url=web_server.url)
    watcher = OffSiteRequests(web_server.url)
    colleague.on("request", watcher)
    try:
        second = colleague.new_page()
        sign_in(second, SECOND_ANALYST)
        second.wait_for_url("**/home")
        second.goto(draft_url)
        assert second.locator("#four-eyes").count() == 0
        second.get_by_role("button", name="Publish this version").click()
        second.wait_for_url(draft_url)
        assert "published" in second.get_by_role("heading", level=1).inner_text()
        assert f"user:{SECOND_ANALYST}" in second.locator("dl.facts").inner_text()
    finally:
        colleague.close()
    assert watcher.urls == []
    page.goto("/rules")
    assert "Published now:" in page.locator("main").inner_text()
