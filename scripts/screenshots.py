"""Screenshots of the web workspace's main pages into docs/img/, for the user guide.

Serves a workspace (default: the `make demo` one) on a local port in this process, signs in
as one demo user per role (created on first use, with a random password that is never
printed) in Debian's Chromium driven by Playwright, and saves each page as
``docs/img/web-<name>.png``. Run with ``make screenshots`` (after ``make demo``).
"""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from clearlane.errors import ConflictError
from clearlane.services import accounts
from clearlane.settings import Settings
from clearlane.store.workspace import Workspace
from clearlane.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# (file name, role, path): the pages of the user guide (docs/web.md)
PAGES: tuple[tuple[str, str, str], ...] = (
    ("login", "", "/login"),
    ("queue", "officer", "/queue"),
    ("case", "officer", "@case"),
    ("declaration", "officer", "@declaration"),
    ("overview", "analyst", "/overview"),
    ("maps", "analyst", "/maps?layer=fraud_rate"),
    ("flows", "analyst", "/maps/flows"),
    ("performance", "analyst", "/performance"),
    ("models", "analyst", "@model"),
    ("rules", "analyst", "/rules"),
    ("quality", "analyst", "/quality"),
    ("hs", "analyst", "/hs?search=mobile+telephones"),
    ("valuation", "analyst", "@bands"),
    ("readiness", "analyst", "/readiness"),
    ("readiness-report", "analyst", "@readiness-report"),
    ("readiness-compare", "analyst", "@readiness-compare"),
    ("audit", "auditor", "/audit?verify=true"),
    ("users", "admin", "/admin/users"),
    ("queue-fr", "officer", "/queue?lang=fr"),
)


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("the server did not start (is the workspace served elsewhere?)")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def busiest_office(workspace: Workspace) -> str:
    from clearlane.services.alert_opening import sync_alerts

    sync_alerts(workspace)
    row = workspace.query("SELECT office_id, count(*) AS n FROM alerts WHERE status <> 'closed' "
                          "GROUP BY ALL ORDER BY n DESC, office_id LIMIT 1")
    if row.height == 0:
        raise SystemExit("no alert in this workspace: run `make demo` first (it selects a week)")
    return str(row["office_id"][0])


def demo_users(workspace: Workspace, office: str) -> dict[str, str]:
    """One user per role for the screenshots (``screens-<role>``), with a fresh password."""
    passwords = {}
    for role in ("officer", "analyst", "auditor", "admin"):
        name, password = f"screens-{role}", secrets.token_urlsafe(18)
        try:
            accounts.add_user(workspace, name, role, password,
                              [office] if role == "officer" else [])
        except ConflictError:
            accounts.set_password(workspace, name, password)
        passwords[role] = password
    return passwords


EXAMPLE_ASSESSMENTS = (ROOT / "docs" / "examples" / "readiness-example-2025.yaml",
                       ROOT / "docs" / "examples" / "readiness-example-2026.yaml")


def example_assessments(workspace: Workspace) -> None:
    """Two illustrative readiness assessments (docs/examples) for the report and comparison
    pages, imported only when the workspace has fewer than two of its own."""
    from clearlane.services.readiness import import_answers, list_assessments

    if len(list_assessments(workspace)) >= 2:
        return
    for path in EXAMPLE_ASSESSMENTS:
        imported = import_answers(workspace, path)
        print(f"imported the illustrative readiness assessment {imported.id} from "
              f"{path.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=ROOT / "clearlane-workspace")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    workspace = Workspace.open(args.workspace)
    office = busiest_office(workspace)
    passwords = demo_users(workspace, office)
    example_assessments(workspace)
    settings = Settings(workspace=args.workspace, secret_key=SecretStr(secrets.token_hex(32)))
    args.out.mkdir(parents=True, exist_ok=True)
    with served(settings) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts = {}
        for name, role, path in PAGES:
            if role not in contexts:
                context = browser.new_context(base_url=url, viewport={"width": 1280,
                                                                      "height": 800})
                page = context.new_page()
                if role:
                    page.goto("/login")
                    page.fill("input[name=name]", f"screens-{role}")
                    page.fill("input[name=password]", passwords[role])
                    page.click("button[type=submit]")
                    page.wait_for_load_state()
                contexts[role] = page
            page = contexts[role]
            address = resolve(page, path)
            if not address:
                print(f"skipped web-{name}.png: the workspace has too few readiness "
                      "assessments (answer two on /readiness first)")
                continue
            page.goto(address)
            page.wait_for_load_state("networkidle")
            target = args.out / f"web-{name}.png"
            page.screenshot(path=str(target), full_page=False)
            print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        browser.close()
    return 0


def resolve(page: object, path: str) -> str:
    """A page whose address depends on the data (``@case``: the first alert of the queue);
    "" when the data has none."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    if path == "@case":
        page.goto("/queue")
        return str(page.locator("table.queue a").first.get_attribute("href"))
    if path == "@declaration":
        page.goto("/queue")
        case = str(page.locator("table.queue a").first.get_attribute("href"))
        page.goto(case)
        return str(page.locator("a[href^='/declarations/']").first.get_attribute("href"))
    if path == "@model":
        page.goto("/models")
        link = page.locator("a[href^='/models/']").first
        return str(link.get_attribute("href")) if link.count() else "/models"
    if path in ("@readiness-report", "@readiness-compare"):
        # the newest assessment's report, and its comparison with the one before it (the
        # readiness page lists them oldest first); "" (no screenshot) when there are too few
        page.goto("/readiness")
        reports = page.locator("a[href$='/report']")
        n = reports.count()
        if n < (1 if path == "@readiness-report" else 2):
            return ""
        if path == "@readiness-report":
            return str(reports.nth(n - 1).get_attribute("href"))
        before, after = (str(reports.nth(i).get_attribute("href")).split("/")[2]
                         for i in (n - 2, n - 1))
        return f"/readiness/compare?before={before}&after={after}"
    if path == "@bands":
        page.goto("/hs?search=mobile+telephones")
        return "/valuation?hs_code=8517"
    return path


if __name__ == "__main__":
    sys.exit(main())
