"""The project's URLs plus a recording endpoint that stands in for the console's callback URL.

Tests mount it with ``@pytest.mark.urls("tests.feishu.sandbox.receiver_urls")`` and point a
sandbox app's request URLs at ``live_server.url + "/test-receiver/<name>"``: every request is
kept (raw bytes and headers) and answered as the test configured, so a test can check exactly
what the sandbox sent and what it did with the answer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from integrations.feishu.client import crypto
from oncall.urls import urlpatterns as project_urlpatterns


@dataclass
class Received:
    name: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """What the endpoint answers, and what it received (shared with the live server thread)."""

    status: int = 200
    body: bytes = b"{}"
    delay: float = 0.0
    # When set, answer URL verification challenges (decrypted with this key, if non-empty).
    echo_key: str | None = None
    received: list[Received] = field(default_factory=list)

    def reset(self) -> None:
        self.status, self.body, self.delay, self.echo_key = 200, b"{}", 0.0, None
        self.received.clear()

    def answer(self, status: int = 200, payload: object = None, *, raw: bytes | None = None):
        self.status = status
        self.body = raw if raw is not None else json.dumps(payload or {}).encode()

    def url(self, live_server_url: str, name: str = "callback") -> str:
        return f"{live_server_url}/test-receiver/{name}"

    def only(self) -> Received:
        assert len(self.received) == 1, f"expected one request, got {len(self.received)}"
        return self.received[0]


RECEIVER = Receiver()


def _challenge_answer(body: bytes, key: str) -> bytes:
    payload = json.loads(body)
    if "encrypt" in payload:
        payload = json.loads(crypto.decrypt(key, payload["encrypt"]))
    return json.dumps({"challenge": payload.get("challenge")}).encode()


@csrf_exempt
def record(request: HttpRequest, name: str) -> HttpResponse:
    RECEIVER.received.append(Received(name, request.body, dict(request.headers)))
    if RECEIVER.delay:
        time.sleep(RECEIVER.delay)
    body = RECEIVER.body
    if RECEIVER.echo_key is not None:
        body = _challenge_answer(request.body, RECEIVER.echo_key)
    return HttpResponse(body, status=RECEIVER.status, content_type="application/json")


urlpatterns = [*project_urlpatterns, path("test-receiver/<str:name>", record)]
