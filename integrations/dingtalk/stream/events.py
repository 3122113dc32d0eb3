"""What the console does with an event that arrived by Stream: the same as with an HTTP push
(``inbound.events``), with the same receipts, so an event is acted on once however often, and
by whichever way, DingTalk delivers it.

Stream messages carry no signature: the connection is the authentication (the ticket DingTalk
issued for the app's Client ID and Client Secret, over TLS). What remains to refuse is a replay
and a stale event: an ``eventId`` already received is answered OK and not acted on again, and an
event born longer ago than ``DINGTALK_EVENT_MAX_SKEW_SECONDS`` (the HTTP push's window, which the
receipts outlive) is answered OK and ignored, since its receipt may already be gone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.dingtalk.inbound import events
from integrations.dingtalk.models import DingTalkApp, EventReceipt

logger = logging.getLogger(__name__)

EVENT_ID_MAX = 100


@dataclass(frozen=True)
class StreamEvent:
    """One event message: its headers' ``eventId``, ``eventType`` and ``eventBornTime`` (ms),
    and its data (the event's fields, as an HTTP push has them next to ``EventType``)."""

    event_id: str
    event_type: str
    born_ms: int | None
    data: dict[str, Any]


class Outcome:
    ACTED = "acted"
    REPEATED = "repeated"
    STALE = "stale"
    NOT_HANDLED = "not handled"
    MALFORMED = "malformed"
    UNKNOWN_APP = "unknown app"


def accept(app_pk: int, event: StreamEvent, *, now: float | None = None) -> str:
    """Act on one Stream event once; what happened (an ``Outcome``). Raises nothing for bad
    input: the connection must go on for the next event."""
    app = DingTalkApp.objects.filter(pk=app_pk, enabled=True).first()
    if app is None:
        return Outcome.UNKNOWN_APP
    if not event.event_id or not event.event_type:
        return Outcome.MALFORMED
    if is_stale(event.born_ms, time.time() if now is None else now):
        logger.warning(
            "DingTalk app %s: a stale %s event by Stream; ignored", app.pk, event.event_type
        )
        return Outcome.STALE
    try:
        return _act(app, event)
    except ValueError as exc:
        logger.warning("DingTalk app %s: %s by Stream: %s", app.pk, event.event_type, exc)
        return Outcome.MALFORMED


def is_stale(born_ms: int | None, now: float) -> bool:
    return born_ms is not None and now - born_ms / 1000 > settings.DINGTALK_EVENT_MAX_SKEW_SECONDS


def _act(app: DingTalkApp, event: StreamEvent) -> str:
    """The receipt and the handler in one transaction: an event that fails leaves no receipt."""
    with transaction.atomic():
        key = f"event:{event.event_id[:EVENT_ID_MAX]}"
        if not EventReceipt.objects.record_first(app, key, event.event_type):
            logger.info("DingTalk app %s: %s delivered again; not acted on twice", app.pk, key)
            return Outcome.REPEATED
        DingTalkApp.objects.filter(pk=app.pk).update(last_event_at=timezone.now())
        if not events.handle(app, event.event_type, event.data):
            return Outcome.NOT_HANDLED
    return Outcome.ACTED
