"""A webhook receiver on 127.0.0.1 (a threaded ``http.server``) that verifies every request
with the ``standardwebhooks`` library, as a real receiver would, and answers as told."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

# Given the request's number (from 1), the status and headers to answer with.
Answerer = Callable[[int], tuple[int, dict[str, str]]]


def always_ok(number: int) -> tuple[int, dict[str, str]]:
    return 200, {}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    verified_with: list[str] = field(default_factory=list)

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """``with Receiver(secrets=[...]) as receiver``: ``receiver.url`` takes POSTs; each one is
    kept in ``received`` with the secrets (of ``secrets``) it verified with."""

    def __init__(self, secrets: list[str] | None = None, answer: Answerer = always_ok):
        self.secrets = list(secrets or [])
        self.answer = answer
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._take(self, body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?team=payments"

    def _take(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = dict(handler.headers.items())
        with self._lock:
            status, extra = self.answer(len(self.received) + 1)
            verified = [s for s in self.secrets if _verifies(s, body, headers)]
            self.received.append(Received(headers, body, status, verified))
        handler.send_response(status)
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    def accepted(self) -> list[dict[str, Any]]:
        """The events of the requests answered 2xx, in arrival order."""
        return [r.event for r in self.received if 200 <= r.status < 300]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True
