"""Web workspace page times: every main page of a `clearlane demo` workspace rendered by a
real `clearlane serve`, one request at a time, per page p50 / p95 against the 300 ms target;
and the officer's queue on a workspace of 1 M declarations.

    python -m benchmarks.web                       # 200,000 + 1,000,000 items (minutes)
    python -m benchmarks.web --items 20000 --queue-items 0 --no-report   # a smoke run
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks._report import write_section

TARGET_MS = 300.0
ROOT = Path(__file__).resolve().parents[1]
ROLES = ("officer", "analyst", "auditor", "admin")
# (page, role, path); "@case" and "@declaration" are resolved from the officer's queue
PAGES: tuple[tuple[str, str, str], ...] = (
    ("queue", "officer", "/queue"),
    ("queue, red, by revenue (htmx rows)", "officer", "/queue?lane=red&sort=revenue"),
    ("case", "officer", "@case"),
    ("declaration", "officer", "@declaration"),
    ("overview", "analyst", "/overview"),
    ("map of origins (fraud rate)", "analyst", "/maps?layer=fraud_rate"),
    ("routes map", "analyst", "/maps/flows"),
    ("origins GeoJSON", "analyst", "/maps/origins.geojson"),
    ("performance", "analyst", "/performance"),
    ("models", "analyst", "/models"),
    ("model", "analyst", "@model"),
    ("rules", "analyst", "/rules"),
    ("data quality", "analyst", "/quality"),
    ("quarantine", "analyst", "/quarantine"),
    ("HS assistant (search)", "analyst", "/hs?search=mobile+telephones"),
    ("value bands (HS 8517)", "analyst", "/valuation?hs_code=8517"),
    ("readiness", "analyst", "/readiness"),
    ("readiness report", "analyst", "@readiness-report"),
    ("two readiness assessments compared", "analyst", "@readiness-compare"),
    ("audit log", "auditor", "/audit"),
    ("users", "admin", "/admin/users"),
)


def run(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, "-m", "clearlane.cli.main", *args], check=True,
                   stdout=subprocess.DEVNULL, env=env)


def build(root: Path, items: int) -> Path:
    """A demo workspace of ``items`` declaration items with value bands."""
    path = root / f"ws-{items}"
    run("demo", "--workspace", str(path), "--items", str(items))
    run("valuation", "build", "--workspace", str(path))
    return path


def busiest_office(path: Path) -> str:
    """The office with the most alerts (opened first if the workspace has none yet)."""
    from clearlane.services.alert_opening import sync_alerts
    from clearlane.store.workspace import Workspace

    workspace = Workspace.open(path)
    sync_alerts(workspace)
    row = workspace.query("SELECT office_id, count(*) AS n FROM alerts GROUP BY ALL "
                          "ORDER BY n DESC, office_id LIMIT 1")
    return str(row["office_id"][0])


def add_users(path: Path, office: str) -> dict[str, str]:
    from clearlane.services import accounts
    from clearlane.store.workspace import Workspace

    workspace = Workspace.open(path)
    passwords = {}
    for role in ROLES:
        password = secrets.token_urlsafe(18)
        accounts.add_user(workspace, f"bench-{role}", role, password,
                          [office] if role == "officer" else [])
        passwords[role] = password
    return passwords


def serve(path: Path, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "CLEARLANE_WORKSPACE": str(path), "CLEARLANE_PORT": str(port),
           "CLEARLANE_SECRET_KEY": secrets.token_hex(32),
           "CLEARLANE_AUDIT_KEY": str(root / "audit.pem"),
           "CLEARLANE_AUDIT_CHECKPOINT_DIR": str(root)}
    process = subprocess.Popen([sys.executable, "-m", "clearlane.cli.main", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def signed_in(url: str, role: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
    form = client.get("/login").text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"name": f"bench-{role}", "password": password,
                                         "csrf_token": token})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in of bench-{role} failed: {answer.status_code}")
    return client


def resolve(client: httpx.Client, path: str) -> str:
    if path in ("@case", "@declaration"):
        queue = client.get("/queue").text
        case = "/cases/" + queue.split('href="/cases/', 1)[1].split('"', 1)[0]
        if path == "@case":
            return case
        page = client.get(case).text
        return "/declarations/" + page.split('href="/declarations/', 1)[1].split('"', 1)[0]
    if path in ("@readiness-report", "@readiness-compare"):
        listing = client.get("/readiness").text
        ids = [part.split('"', 1)[0] for part in listing.split('href="/readiness/')[1:]
               if "/report" in part.split('"', 1)[0]]
        ids = [i.split("/", 1)[0] for i in ids]
        if path == "@readiness-report":
            return f"/readiness/{ids[-1]}/report"
        return f"/readiness/compare?before={ids[0]}&after={ids[-1]}"
    if path == "@model":
        listing = client.get("/models").text
        return "/models/" + listing.split('href="/models/', 1)[1].split('"', 1)[0]
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_pages(url: str, passwords: dict[str, str], pages: tuple[tuple[str, str, str], ...],
               repeats: int) -> list[tuple[str, float, float, float]]:
    clients = {role: signed_in(url, role, passwords[role]) for role in ROLES}
    rows = []
    for name, role, path in pages:
        client = clients[role]
        target = resolve(client, path)
        headers = {"HX-Request": "true"} if "htmx" in name else {}
        started = time.perf_counter()  # the first call fills the caches, as each new day does
        client.get(target, headers=headers)
        first = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            answer = client.get(target, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise RuntimeError(f"{target}: HTTP {answer.status_code}")
        rows.append((name, first, percentile(times, 0.5), percentile(times, 0.95)))
    return rows


def assessments(path: Path) -> None:
    """The two illustrative readiness assessments of docs/examples, for the report and
    comparison pages (imported into the benchmark's own workspace copy)."""
    from clearlane.services.readiness import import_answers, list_assessments
    from clearlane.store.workspace import Workspace

    workspace = Workspace.open(path)
    if len(list_assessments(workspace)) < 2:
        for name in ("readiness-example-2025.yaml", "readiness-example-2026.yaml"):
            import_answers(workspace, ROOT / "docs" / "examples" / name)


def measure(root: Path, items: int, pages: tuple[tuple[str, str, str], ...],
            repeats: int, workspace: Path | None
            ) -> tuple[list[tuple[str, float, float, float]], float]:
    started = time.perf_counter()
    if workspace is not None:
        path = root / f"ws-copy-{items}"
        shutil.copytree(workspace, path)
    else:
        path = build(root, items)
    built = time.perf_counter() - started
    passwords = add_users(path, busiest_office(path))
    assessments(path)
    process, url = serve(path, root)
    try:
        return time_pages(url, passwords, pages, repeats), built
    finally:
        process.terminate()
        process.wait(timeout=60)


def table(rows: list[tuple[str, float, float, float]]) -> str:
    lines = ["| page | first request (ms) | p50 (ms) | p95 (ms) | target p95 < 300 ms |",
             "|---|---:|---:|---:|---|"]
    lines += [f"| {name} | {first:.0f} | {p50:.0f} | {p95:.0f} | "
              f"{'**met**' if p95 < TARGET_MS else '**not met**'} |"
              for name, first, p50, p95 in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--queue-items", type=int, default=1_000_000,
                        help="items of the workspace the officer's queue is timed on (0: skip)")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--workspace", type=Path, default=None,
                        help="time a copy of this demo workspace instead of building one")
    parser.add_argument("--queue-workspace", type=Path, default=None,
                        help="time the queue on a copy of this workspace (e.g. the 1 M one "
                             "`python -m benchmarks.officer_queue` caches) instead of building one")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.web " + " ".join(argv if argv is not None else sys.argv[1:])
    root = Path(tempfile.mkdtemp(prefix="clearlane-web-bench-"))
    try:
        rows, built = measure(root, args.items, PAGES, args.repeats, args.workspace)
        made = (f"a copy of the `clearlane demo --items {args.items:,}` workspace "
                f"{args.workspace} (with `valuation build`)" if args.workspace else
                f"a `clearlane demo --items {args.items:,}` workspace (with `valuation build`; "
                f"built in {built:.0f} s)")
        body = (f"Every main page of {made}, served by `clearlane serve` and "
                f"asked for {args.repeats} times in a row after a first request, signed in with "
                "the role that uses it (the officer scoped to the office with the most "
                "alerts). Times are the full HTTP round trip on localhost. The first request "
                "is shown apart: it fills what the server keeps between requests (the data "
                "quality report, kept until the data changes; the HS nomenclature), as the "
                "first request after an ingest does.\n\n" + table(rows))
        if args.queue_items:
            queue_pages = tuple(p for p in PAGES if p[1] == "officer" and "queue" in p[0])
            big, built_big = measure(root, args.queue_items, queue_pages, args.repeats,
                                     args.queue_workspace)
            source = (f"a copy of {args.queue_workspace.name} ({args.queue_items:,} items)"
                      if args.queue_workspace else
                      f"a `clearlane demo --items {args.queue_items:,}` workspace (built in "
                      f"{built_big:.0f} s)")
            body += f"\n\nThe officer's queue on {source}:\n\n" + table(big)
        print(body)
        if not args.no_report:
            write_section("web", "Web workspace: page times", command, body)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
