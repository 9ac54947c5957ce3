"""A real webhook receiver for the notification tests: an HTTP server on a free localhost port,
in a thread, that verifies each delivery's signature and answers the status codes it is told
to (200 once the script runs out)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from clearlane.cases.webhooks import SIGNATURE_HEADER, verify_signature
from clearlane.store.workspace import Workspace

SECRET = "s" * 40
"""The webhook secret of the tests (at least 32 characters)."""
T0 = datetime(2026, 12, 6, 8, 0)
"""When :func:`lodge` lodges."""


def lodge(workspace: Workspace, declaration_id: str, lane: str,
          reasons: list[dict[str, Any]] | None = None) -> None:
    """A lodgement answer, as `declarations:assess` stores it (the dispatcher opens its alert)."""
    answer = {"lane": lane, "expected_revenue": 2500.0, "fraud_probability": 0.6,
              "reasons": reasons or [{"code": "MODEL", "text": f"{lane} by the model",
                                      "weight": 1.0, "evidence": {}}]}
    with workspace.transaction() as con:
        con.execute("INSERT INTO lodgements VALUES (?, 1, 'api-b1', ?, ?, ?)",
                    [declaration_id, T0, lane, json.dumps(answer)])


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    answered: int


@dataclass
class Receiver:
    """The receiver's URL, what it received (in order) and the status codes still to answer."""

    url: str
    secret: str
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The deliveries once at least ``count`` arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} deliveries received, {count} expected")


@contextmanager
def webhook_receiver(secret: str = SECRET, script: list[int] | None = None
                     ) -> Iterator[Receiver]:
    """A receiver at ``http://127.0.0.1:PORT/hook`` until the block ends."""
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver: Receiver = state["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = verify_signature(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""),
                                  body, time.time())
            with receiver.lock:
                code = receiver.script.pop(0) if receiver.script else 200
                receiver.received.append(Received(self.path, dict(self.headers.items()), body,
                                                  ok, code))
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet tests

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", secret,
                        list(script or []))
    state["receiver"] = receiver
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
