"""Web fixtures: the case tests' served workspace (alerts in the officer's office ABJ01) with a
second analyst (``analyst2``: the four-eyes rule of rule sets needs two), and a real Chromium
(Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.cases_fixtures import selected_workspace
from tests.api.conftest import PASSWORD, Server, test_settings
from tests.api.guard_fixtures import audit_environment, running

from clearlane.services import accounts
from clearlane.web.app import create_app

SECOND_ANALYST = "analyst2"
"""A second analyst user of ``web_server`` (password PASSWORD): publishes what ``analyst``
drafted."""
CHROMIUM = Path("/usr/bin/chromium")
# Chromium started as the probe of this machine starts it: no sandbox as root, nothing
# fetched in the background (the machine has no internet and the tests must prove that the
# pages need none)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One served workspace per test module (building it costs seconds): tests that change
    it work on alerts of their own (``next`` hands each one a different alert)."""
    tmp_path = tmp_path_factory.mktemp("web")
    with audit_environment(tmp_path):
        workspace, tokens = selected_workspace(tmp_path)
        accounts.add_user(workspace, SECOND_ANALYST, "analyst", PASSWORD)
        settings = test_settings(workspace.path)
        with running(workspace, tokens, create_app(settings)) as server:
            yield server


def signed_in(server: Server, name: str, password: str = PASSWORD) -> httpx.Client:
    """An httpx client signed in through the sign-in form, as a browser would be."""
    client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None, form.text
    answer = client.post("/login", data={"name": name, "password": password,
                                         "csrf_token": token.group(1), "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page_html: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert token is not None
    return token.group(1)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless. Missing, the tests fail under `make test` (which installs
    it) and are skipped elsewhere, naming what to install."""
    if not CHROMIUM.exists():
        if os.environ.get("CLEARLANE_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class OffSiteRequests:
    """Every URL a page asked for outside the app (must stay empty)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.urls: list[str] = []

    def __call__(self, request: Any) -> None:
        url = str(request.url)
        if not (url.startswith(self.origin + "/") or url == self.origin
                or url.startswith(("data:", "about:"))):
            self.urls.append(url)


@pytest.fixture
def page(browser: Any, web_server: Server) -> Iterator[Any]:
    """A fresh browser context on the web server; fails the test if any page requested a URL
    outside the app."""
    context = browser.new_context(base_url=web_server.url, locale="en-GB")
    watcher = OffSiteRequests(web_server.url)
    context.on("request", watcher)
    page = context.new_page()
    yield page
    context.close()
    assert watcher.urls == [], f"pages requested URLs outside the app: {watcher.urls}"
