"""The sandbox's long connection (长连接), the way Feishu offers it to custom apps.

What the official SDK's client (``lark_oapi.ws.Client``) does, and what the sandbox answers:

1. ``POST <domain>/callback/ws/endpoint`` with ``{"AppID", "AppSecret"}``: ``endpoint`` checks
   the credentials and answers ``{"code": 0, "data": {"URL": "ws://.../ws/v2?device_id=...&
   service_id=...&ticket=...", "ClientConfig": {...}}}``; the ticket is signed here and checked
   by the socket server without a database round trip.
2. The client opens that WebSocket (``socket_server``), pings, and answers each event frame
   with a response frame.

An app whose subscription mode is "long connection" gets its events and new-format card
callbacks as ``SocketPush`` rows (``push``), which the socket server hands to one connected
client; ``push`` waits for the answer as Feishu waits for an HTTP answer (3 s). Old-format card
callbacks never travel this way (Feishu sends them to the message card request URL only).

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
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.feishu_sandbox.models import SandboxApp, SocketPush

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
# Feishu waits 3 s for the answer to a card callback.
ANSWER_TIMEOUT_SECONDS = 3.0
POLL_SECONDS = 0.03


def socket_base_url() -> str:
    return f"ws://{settings.FEISHU_SANDBOX_SOCKET_ADDRESS}"


# --- Tickets ----------------------------------------------------------------------------------


def _sign(body: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"sandbox-socket:" + body.encode(), hashlib.sha256
    ).hexdigest()


def make_ticket(app_id: str, device_id: str, *, now: float | None = None) -> str:
    expires = int((now or time.time()) + TICKET_LIFETIME_SECONDS)
    body = base64.urlsafe_b64encode(json.dumps([app_id, device_id, expires]).encode()).decode()
    return f"{body}.{_sign(body)}"


def read_ticket(ticket: str, device_id: str) -> str | None:
    """The App ID a valid, unexpired ticket for ``device_id`` was made for, else None."""
    body, _, signature = ticket.partition(".")
    if not body or not hmac.compare_digest(signature.encode(), _sign(body).encode()):
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
        f"{socket_base_url()}/ws/v2?device_id={device_id}&service_id={service_id}"
        f"&ticket={make_ticket(app.app_id, device_id)}"
    )
    return JsonResponse(
        {"code": OK, "msg": "ok", "data": {"URL": url, "ClientConfig": CLIENT_CONFIG}}
    )


# --- Pushing over the socket ------------------------------------------------------------------


def push(app: SandboxApp, payload: dict, *, timeout: float = ANSWER_TIMEOUT_SECONDS) -> SocketPush:
    """Queue ``payload`` for one of the app's connected clients and wait for its answer (or
    for ``timeout``: the row is then failed, so that a late client does not act on it)."""
    row = SocketPush.objects.create(app=app, payload=json.dumps(payload, ensure_ascii=False))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        row.refresh_from_db()
        if row.state in (SocketPush.State.ANSWERED, SocketPush.State.FAILED):
            return row
    SocketPush.objects.filter(
        pk=row.pk, state__in=[SocketPush.State.PENDING, SocketPush.State.SENT]
    ).update(
        state=SocketPush.State.FAILED,
        error="no client of this app answered within 3 s",
        answered_at=timezone.now(),
    )
    row.refresh_from_db()
    return row


# --- What the socket server calls (from its worker threads) -----------------------------------


def take_pending(app_ids: list[str], *, limit: int = 50) -> list[SocketPush]:
    """Pending pushes of apps with a connected client, marked sent (each is taken once)."""
    if not app_ids:
        return []
    with transaction.atomic():
        rows = list(
            SocketPush.objects.select_for_update(skip_locked=True)
            .filter(state=SocketPush.State.PENDING, app__app_id__in=app_ids)
            .select_related("app")[:limit]
        )
        SocketPush.objects.filter(pk__in=[r.pk for r in rows]).update(state=SocketPush.State.SENT)
    return rows


def record_answer(push_id: int, device_id: str, code: int | None, answer: str, error: str) -> None:
    state = SocketPush.State.ANSWERED if code is not None else SocketPush.State.FAILED
    SocketPush.objects.filter(pk=push_id, state=SocketPush.State.SENT).update(
        state=state,
        answer_code=code,
        answer=answer[:65536],
        error=error[:300],
        device_id=device_id,
        answered_at=timezone.now(),
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
