"""The sandbox's Stream mode (Stream 模式), the way DingTalk offers it, for the official
``dingtalk-stream`` client unchanged (only its host pointed here):

1. ``POST v1.0/gateway/connections/open`` with ``{clientId, clientSecret, subscriptions, ua,
   localIp}``: ``open_connection`` checks the credentials and answers ``{"endpoint":
   "ws://<DINGTALK_SANDBOX_STREAM_ADDRESS>/connect", "ticket": ...}``; the client opens
   ``endpoint?ticket=...``. The ticket is signed here, names the app, lives 90 s and opens one
   connection (the Stream server remembers the tickets it accepted).
2. Over the WebSocket the server sends JSON messages, ``{"specVersion": "1.0", "type":
   "EVENT", "headers": {messageId, topic, eventId, eventType, eventBornTime, eventCorpId, ...},
   "data": "<the event's JSON>"}``, and the client acknowledges each with ``{"code": 200,
   "headers": {"messageId"}, "message", "data"}``.

The sandbox's pages deliver an app's events, and card clicks (``callback_message``, the
callback topic ``/v1.0/card/instances/callback``, answered with ``{"response": ...}`` in the
acknowledgement's data), this way when its push method is Stream (``deliver``): the web process
opens a relay WebSocket to the Stream server (``RELAY_PATH``, with a ticket of its own), sends
the message and waits for the acknowledgement, which the server relays from one connected
client (DingTalk delivers each event to one of an app's connections).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from integrations.dingtalk_sandbox.api import error
from integrations.dingtalk_sandbox.models import SandboxApp

TICKET_LIFETIME_SECONDS = 90
CLIENT_PATH, RELAY_PATH = "/connect", "/relay"
CLIENT, RELAY = "client", "relay"
# How long a delivery waits for the client's acknowledgement, and the relay for the server.
ACK_TIMEOUT_SECONDS = 5.0
RELAY_MARGIN_SECONDS = 2.0


def socket_base_url() -> str:
    return f"ws://{settings.DINGTALK_SANDBOX_STREAM_ADDRESS}"


# --- Tickets ----------------------------------------------------------------------------------


def _sign(body: str, purpose: str) -> str:
    message = f"dingtalk-sandbox-stream:{purpose}:{body}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def make_ticket(client_id: str, *, purpose: str = CLIENT, now: float | None = None) -> str:
    expires = int((now or time.time()) + TICKET_LIFETIME_SECONDS)
    nonce = uuid.uuid4().hex
    body = base64.urlsafe_b64encode(json.dumps([client_id, expires, nonce]).encode()).decode()
    return f"{body}.{_sign(body, purpose)}"


def read_ticket(ticket: str, *, purpose: str = CLIENT) -> str | None:
    """The Client ID a valid, unexpired ticket for ``purpose`` was made for, else None."""
    body, _, signature = ticket.partition(".")
    if not body or not hmac.compare_digest(signature.encode(), _sign(body, purpose).encode()):
        return None
    try:
        client_id, expires, _nonce = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(client_id, str) or not isinstance(expires, int) or expires < time.time():
        return None
    return client_id


# --- The connection endpoint ------------------------------------------------------------------


@csrf_exempt
@require_POST
def open_connection(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalidParameter", "the body is not JSON")
    if not isinstance(body, dict):
        return error(400, "invalidParameter", "the body must be a JSON object")
    client_id, client_secret = body.get("clientId"), body.get("clientSecret")
    app = (
        SandboxApp.objects.filter(client_id=client_id).first()
        if isinstance(client_id, str)
        else None
    )
    secret = client_secret.encode() if isinstance(client_secret, str) else b""
    if app is None or not hmac.compare_digest(secret, app.client_secret.encode()):
        return error(400, "invalidClientIdOrSecret", "the clientId or clientSecret is wrong")
    if not isinstance(body.get("subscriptions"), list) or not body["subscriptions"]:
        return error(400, "invalidParameter", "subscriptions is required")
    endpoint = socket_base_url() + CLIENT_PATH
    return JsonResponse({"endpoint": endpoint, "ticket": make_ticket(app.client_id)})


# --- Delivering over the Stream -----------------------------------------------------------------


@dataclass(frozen=True)
class StreamAnswer:
    """The client's acknowledgement of one message (its code and message), or an error."""

    code: int | None = None
    message: str = ""
    error: str = ""
    # The acknowledgement's data (JSON text): a callback's answer, ``{"response": ...}``.
    data: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> StreamAnswer:
        fields = json.loads(text)
        return cls(
            fields.get("code"),
            fields.get("message") or "",
            fields.get("error") or "",
            fields.get("data") or "",
        )

    @property
    def ok(self) -> bool:
        return self.code == 200


def event_message(app: SandboxApp, event: dict[str, Any]) -> dict[str, Any]:
    """An HTTP push body (``push``'s events: flat, with ``EventType`` and ``eventId``) as the
    Stream message DingTalk sends for it: the envelope's fields in the headers, the event's
    own fields in ``data``."""
    envelope = {"EventType", "EventTime", "CorpId", "BizId", "eventId"}
    now_ms = int(time.time() * 1000)
    headers = {
        "appId": app.client_id,
        "connectionId": "",
        "contentType": "application/json",
        "messageId": uuid.uuid4().hex,
        "time": str(now_ms),
        "topic": "*",
        "eventId": str(event.get("eventId") or uuid.uuid4().hex),
        "eventType": str(event.get("EventType") or ""),
        "eventBornTime": str(event.get("EventTime") or now_ms),
        "eventCorpId": app.corp_id,
        "eventUnifiedAppId": app.client_id,
    }
    data = {key: value for key, value in event.items() if key not in envelope}
    return {"specVersion": "1.0", "type": "EVENT", "headers": headers, "data": json.dumps(data)}


def callback_message(app: SandboxApp, topic: str, data: dict[str, Any]) -> dict[str, Any]:
    """A callback (``type`` CALLBACK) of ``topic`` as DingTalk sends it over the Stream: a
    card click's fields, as its HTTP callback has them, in ``data``."""
    headers = {
        "appId": app.client_id,
        "connectionId": "",
        "contentType": "application/json",
        "messageId": uuid.uuid4().hex,
        "time": str(int(time.time() * 1000)),
        "topic": topic,
    }
    return {"specVersion": "1.0", "type": "CALLBACK", "headers": headers, "data": json.dumps(data)}


def deliver(app: SandboxApp, message: dict[str, Any]) -> StreamAnswer:
    """Hand ``message`` to one of the app's connected clients through the Stream server and
    wait for its acknowledgement."""
    url = f"{socket_base_url()}{RELAY_PATH}?ticket={make_ticket(app.client_id, purpose=RELAY)}"
    wait = ACK_TIMEOUT_SECONDS + RELAY_MARGIN_SECONDS
    try:
        # proxy=None: websockets would otherwise honour HTTP(S)_PROXY for this local hop.
        with connect(url, proxy=None, open_timeout=wait, close_timeout=1) as relay:
            relay.send(json.dumps(message, ensure_ascii=False))
            return StreamAnswer.from_json(relay.recv(timeout=wait))
    except TimeoutError:
        return StreamAnswer(error="the Stream server did not answer in time")
    except (OSError, InvalidHandshake, ConnectionClosed):
        return StreamAnswer(
            error="the sandbox's Stream server is not running (manage.py dingtalk_sandbox_stream)"
        )
