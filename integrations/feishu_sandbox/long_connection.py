"""The sandbox's long connection (长连接), the way Feishu offers it to custom apps.

What the official SDK's client (``lark_oapi.ws.Client``) does, and what the sandbox answers:

1. ``POST <domain>/callback/ws/endpoint`` with ``{"AppID", "AppSecret"}``: ``endpoint`` checks
   the credentials and answers ``{"code": 0, "data": {"URL": "ws://.../ws/v2?device_id=...&
   service_id=...&ticket=...", "ClientConfig": {...}}}``; the ticket is signed here and checked
   by the socket server without a database round trip.
2. The client opens that WebSocket (``socket_server``), pings, and answers each event frame
   with a response frame.

An app whose subscription mode is "long connection" gets its events and new-format card
callbacks through ``push``: the web process (where the click or event happens) opens a relay
WebSocket to the socket server (``RELAY_PATH``, with a ticket of its own), sends the payload and
waits for the answer, which the server relays from one connected client; Feishu waits 3 s for an
HTTP answer, and so does the server for the client's. No database between them, and no polling.
Old-format card callbacks never travel this way (Feishu sends them to the message card request
URL only).

When several clients of one app are connected, Feishu delivers each event to one of them, not
to all (its long-connection guide: "cluster mode, no broadcast"); the sandbox picks one at
random.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from integrations.feishu_sandbox.models import SandboxApp
from integrations.feishu_sandbox.push_answers import ANSWER_TIMEOUT_SECONDS

# The codes the SDK reads from the endpoint's answer (lark_oapi/ws/const.py): 0 is success;
# 1 (system busy) and 1000040343 (internal error) make it retry; anything else stops it.
OK = 0
APP_SECRET_INVALID = 10014
INVALID_PARAM = 10003
# What the sandbox's clients are told (Feishu: reconnect forever every 120 s with up to 30 s
# of jitter, ping every 120 s). Shorter here so that a restarted sandbox is found again fast.
CLIENT_CONFIG = {
    "ReconnectCount": -1,
    "ReconnectInterval": 5,
    "ReconnectNonce": 2,
    "PingInterval": 20,
}
TICKET_LIFETIME_SECONDS = 300
# Where the web process hands a push to the socket server; a ticket's purpose says which of
# the two paths it opens.
CLIENT_PATH, RELAY_PATH = "/ws/v2", "/relay"
CLIENT, RELAY = "client", "relay"


def socket_base_url() -> str:
    return f"ws://{settings.FEISHU_SANDBOX_SOCKET_ADDRESS}"


# --- Tickets ----------------------------------------------------------------------------------


def _sign(body: str, purpose: str) -> str:
    message = f"sandbox-socket:{purpose}:{body}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def make_ticket(
    app_id: str, device_id: str, *, purpose: str = CLIENT, now: float | None = None
) -> str:
    """A client's ticket (``CLIENT``, for ``CLIENT_PATH``) or the web process's (``RELAY``)."""
    expires = int((now or time.time()) + TICKET_LIFETIME_SECONDS)
    body = base64.urlsafe_b64encode(json.dumps([app_id, device_id, expires]).encode()).decode()
    return f"{body}.{_sign(body, purpose)}"


def read_ticket(ticket: str, device_id: str, *, purpose: str = CLIENT) -> str | None:
    """The App ID a valid, unexpired ticket for ``device_id`` and ``purpose`` was made for,
    else None."""
    body, _, signature = ticket.partition(".")
    if not body or not hmac.compare_digest(signature.encode(), _sign(body, purpose).encode()):
        return None
    try:
        app_id, for_device, expires = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, TypeError):
        return None
    if for_device != device_id or expires < time.time():
        return None
    return app_id


# --- The endpoint -----------------------------------------------------------------------------


@csrf_exempt
@require_POST
def endpoint(request: HttpRequest) -> JsonResponse:
    """``POST /callback/ws/endpoint``: where the app's client should connect."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"code": INVALID_PARAM, "msg": "invalid param"})
    app_id, app_secret = body.get("AppID"), body.get("AppSecret")
    app = SandboxApp.objects.filter(app_id=app_id).first() if isinstance(app_id, str) else None
    if app is None or not isinstance(app_secret, str):
        return JsonResponse({"code": INVALID_PARAM, "msg": "invalid param"})
    if not hmac.compare_digest(app_secret.encode(), app.app_secret.encode()):
        return JsonResponse({"code": APP_SECRET_INVALID, "msg": "app secret invalid"})
    device_id = secrets.token_hex(8)
    service_id = str(int.from_bytes(hashlib.sha256(app.app_id.encode()).digest()[:3], "big"))
    url = (
        f"{socket_base_url()}{CLIENT_PATH}?device_id={device_id}&service_id={service_id}"
        f"&ticket={make_ticket(app.app_id, device_id)}"
    )
    return JsonResponse(
        {"code": OK, "msg": "ok", "data": {"URL": url, "ClientConfig": CLIENT_CONFIG}}
    )


# --- Pushing over the socket ------------------------------------------------------------------


@dataclass(frozen=True)
class SocketAnswer:
    """What came back for one push: the client's code and decoded answer, or an error."""

    code: int | None = None
    answer: str = ""
    error: str = ""
    device_id: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> SocketAnswer:
        fields = json.loads(text)
        return cls(fields["code"], fields["answer"], fields["error"], fields["device_id"])


# How long the web process waits: the server's own 3 s for the client, and a margin for the
# relay itself, so that the server's reason (``NO_ANSWER``) is what comes back.
RELAY_MARGIN_SECONDS = 2.0


def push(app: SandboxApp, payload: dict) -> SocketAnswer:
    """Hand ``payload`` to one of the app's connected clients through the socket server and
    wait for its answer (3 s, as Feishu waits; a later answer is ignored)."""
    ticket = make_ticket(app.app_id, "", purpose=RELAY)
    url = f"{socket_base_url()}{RELAY_PATH}?ticket={ticket}"
    wait = ANSWER_TIMEOUT_SECONDS + RELAY_MARGIN_SECONDS
    try:
        # proxy=None: websockets would otherwise honour HTTP(S)_PROXY for this local hop.
        with connect(url, proxy=None, open_timeout=wait, close_timeout=1) as relay:
            relay.send(json.dumps(payload, ensure_ascii=False))
            return SocketAnswer.from_json(relay.recv(timeout=wait))
    except TimeoutError:
        return SocketAnswer(error="the long-connection server did not answer in time")
    except (OSError, InvalidHandshake, ConnectionClosed):
        return SocketAnswer(
            error="the sandbox's long-connection server is not running (manage.py sandbox_socket)"
        )


def decode_answer(frame_payload: bytes) -> tuple[int, str]:
    """The SDK's response frame payload, ``{"code": 200, "data": "<base64 of JSON>"}``."""
    try:
        response: Any = json.loads(frame_payload)
    except ValueError:
        return 500, ""
    if not isinstance(response, dict):
        return 500, ""
    code = response.get("code") if isinstance(response.get("code"), int) else 500
    data = response.get("data")
    if not isinstance(data, str) or not data:
        return code, ""
    try:
        return code, base64.b64decode(data).decode("utf-8", errors="replace")
    except ValueError:
        return code, ""
