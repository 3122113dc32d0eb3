"""A card click that arrived by Stream (the callback topic ``/v1.0/card/instances/callback``):
the same handler as the HTTP card callback (``inbound.card_callback``), the same checks.

The HTTP callback proves its origin with a signature and refuses a signed request seen before;
a Stream message needs no signature (the connection is the authentication, as for events), and
a message DingTalk delivers again (it got no acknowledgement) has the same ``messageId``: its
receipt makes it answered without acting twice. A message older than the events' window
(``DINGTALK_EVENT_MAX_SKEW_SECONDS``) is answered and ignored, its receipt may be gone. The rest
is the HTTP callback's: the card must be one the console sent through this app, the clicker is
looked up by userId among the app's linked accounts, and the lifecycle service decides.

The answer is the HTTP callback's body (``{"toast": ...}``), which the SDK acknowledges as the
callback's ``response``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from integrations.dingtalk.inbound import card_callback
from integrations.dingtalk.inbound.push import Refused
from integrations.dingtalk.models import DingTalkApp, EventReceipt
from integrations.dingtalk.stream.events import is_stale

logger = logging.getLogger(__name__)

TOPIC = "/v1.0/card/instances/callback"
MESSAGE_ID_MAX = 100


@dataclass(frozen=True)
class StreamClick:
    """One callback message: its headers' ``messageId`` and ``time`` (ms), and its data."""

    message_id: str
    sent_ms: int | None
    data: dict[str, Any]


def accept(app_pk: int, click: StreamClick, *, now: float | None = None) -> tuple[bool, dict]:
    """Act on one click once; (usable, the answer's body). Raises nothing for bad input: the
    connection must go on for the next message."""
    app = DingTalkApp.objects.filter(pk=app_pk, enabled=True).first()
    if app is None:
        return False, _error("unknown_app", "This DingTalk app is not enabled in the console.")
    if not click.message_id:
        return False, _error("malformed", "A callback message carries a messageId.")
    if is_stale(click.sent_ms, time.time() if now is None else now):
        logger.warning("DingTalk app %s: a stale card click by Stream; ignored", app.pk)
        return True, _toast("warning", "This click is too old to act on: click again.")
    try:
        track_id, user_id, action = card_callback.click_of(click.data)
    except Refused as refused:
        logger.warning("DingTalk app %s: card click by Stream refused: %s", app.pk, refused.reason)
        return False, _error(refused.code, refused.reason)
    key = f"callback:{click.message_id[:MESSAGE_ID_MAX]}"
    if not EventReceipt.objects.record_first(app, key, "card_callback"):
        return True, _toast("info", "This click was received before; it was acted on once.")
    answer = card_callback.perform(app, track_id, user_id, action)
    return True, json.loads(answer.content)


def _toast(kind: str, text: str) -> dict:
    return {"toast": {"type": kind, "content": text}}


def _error(code: str, reason: str) -> dict:
    return {"error": {"code": code, "message": reason}}
