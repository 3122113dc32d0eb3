"""One app's Stream mode connection, held by the official ``dingtalk-stream`` SDK.

The SDK opens the connection in two steps: ``POST /v1.0/gateway/connections/open`` with the
app's Client ID and Client Secret, which answers a WebSocket endpoint and a ticket, then the
WebSocket itself, which it keeps (pings, reconnects) and reads. The console keeps the SDK's
WebSocket side as it is and replaces only the first step (``open_connection``), so that it goes
through the console's client: the app's own host (DingTalk, the sandbox or the admin's proxy),
the SSRF guard, typed errors, and no secret in a log. The SDK reads its host once, at import,
from an environment variable shared by every app in the process; the console's apps do not all
live on one host.

Events are handed to ``stream.events.accept`` in a worker thread (``sync_to_async``), and
acknowledged with the SDK's codes: 200 when the console has it (acted on, a
repeat, stale, or a type it does not handle: DingTalk must stop re-delivering those), 400 for an
event it cannot use. Card clicks (the callback topic ``/v1.0/card/instances/callback``) go to
``stream.card_clicks.accept`` the same way, their toast returned as the callback's response.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import dingtalk_stream
from asgiref.sync import sync_to_async
from dingtalk_stream import AckMessage, CallbackMessage, DingTalkStreamClient, EventMessage
from django.db import connections

from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkApp
from integrations.dingtalk.stream import card_clicks, events
from integrations.dingtalk.stream.card_clicks import StreamClick
from integrations.dingtalk.stream.events import Outcome, StreamEvent

logger = logging.getLogger(__name__)

UA = f"oncall-console dingtalk-stream/{dingtalk_stream.version.VERSION_STRING}"


def fingerprint(app: DingTalkApp) -> str:
    """What a running connection depends on: a change means reconnecting (hashed, as it holds
    the secret)."""
    hosts = app.hosts
    material = "\0".join((hosts.api, app.corp_id, app.client_id, app.client_secret))
    return hashlib.sha256(material.encode()).hexdigest()


def _accept_in_django(app_pk: int, event: StreamEvent) -> str:
    # Events are rare (a group renamed, a cool app installed): a connection per event costs
    # little and leaves none open in an executor thread nobody else closes.
    try:
        return events.accept(app_pk, event)
    finally:
        connections.close_all()


class ConsoleEventHandler(dingtalk_stream.EventHandler):
    """Every event of the app (topic ``*``) to the console's handlers."""

    def __init__(self, app_pk: int):
        super().__init__()
        self.app_pk = app_pk

    async def process(self, event: EventMessage) -> tuple[int, str]:
        accept = sync_to_async(_accept_in_django, thread_sensitive=False)
        outcome = await accept(self.app_pk, stream_event(event))
        if outcome == Outcome.MALFORMED:
            return AckMessage.STATUS_BAD_REQUEST, outcome
        return AckMessage.STATUS_OK, outcome


def stream_event(event: EventMessage) -> StreamEvent:
    headers = event.headers
    data = event.data if isinstance(event.data, dict) else {}
    return StreamEvent(
        event_id=str(headers.event_id or ""),
        event_type=str(headers.event_type or ""),
        born_ms=headers.event_born_time,
        data=data,
    )


def _click_in_django(app_pk: int, click: StreamClick) -> tuple[bool, dict]:
    try:
        return card_clicks.accept(app_pk, click)
    finally:
        connections.close_all()


class ConsoleCardClickHandler(dingtalk_stream.CallbackHandler):
    """Card clicks (``card_clicks.TOPIC``) to the HTTP card callback's handler; the answer
    (a toast) goes back as the callback's response."""

    def __init__(self, app_pk: int):
        super().__init__()
        self.app_pk = app_pk

    async def process(self, message: CallbackMessage) -> tuple[int, dict]:
        accept = sync_to_async(_click_in_django, thread_sensitive=False)
        usable, answer = await accept(self.app_pk, stream_click(message))
        return (AckMessage.STATUS_OK if usable else AckMessage.STATUS_BAD_REQUEST), answer


def stream_click(message: CallbackMessage) -> StreamClick:
    data: Any = message.data
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError:
            data = {}
    try:
        sent_ms = int(message.headers.time) if message.headers.time else None
    except (TypeError, ValueError):
        sent_ms = None
    return StreamClick(
        message_id=str(message.headers.message_id or ""),
        sent_ms=sent_ms,
        data=data if isinstance(data, dict) else {},
    )


class AppStreamClient(DingTalkStreamClient):
    """The SDK's client for one console app, its connection opened through the console's
    client (see the module's docstring)."""

    def __init__(self, app: DingTalkApp):
        credential = dingtalk_stream.Credential(app.client_id, app.client_secret)
        super().__init__(credential, logger=logging.getLogger("dingtalk_stream.client"))
        self.app_pk = app.pk
        self.api = app.client()
        self.register_all_event_handler(ConsoleEventHandler(app.pk))
        self.register_callback_handler(card_clicks.TOPIC, ConsoleCardClickHandler(app.pk))

    def open_connection(self) -> dict[str, Any] | None:
        """``{"endpoint", "ticket"}``, or None (the SDK then waits and asks again)."""
        topics = [{"type": "EVENT", "topic": "*"}]
        topics += [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]
        try:
            ticket = self.api.open_stream_connection(topics, UA)
        except errors.DingTalkError as exc:
            logger.warning(
                "DingTalk app %s: Stream connection refused (code %s)", self.app_pk, exc.code
            )
            return None
        return {"endpoint": ticket.endpoint, "ticket": ticket.ticket}


def client_for(app: DingTalkApp) -> AppStreamClient:
    return AppStreamClient(app)
