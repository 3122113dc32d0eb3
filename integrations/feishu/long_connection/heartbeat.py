"""Writing and reading an app's ``ConnectionHeartbeat``: what ``feishu_connect`` saw of its long
connection, and whether the admin page and the API call it up."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Case, DateTimeField, F, Value, When
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from integrations.feishu.models import ConnectionHeartbeat, FeishuApp, InboundMode

# A heartbeat older than this many intervals means the process is gone (killed, or its host).
STALE_AFTER_INTERVALS = 4


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _write(app_pk: int, **fields: object) -> None:
    fields["process"] = this_process()
    ConnectionHeartbeat.objects.update_or_create(app_id=app_pk, defaults=fields)


def record_connected(app_pk: int) -> None:
    now = timezone.now()
    _write(app_pk, connected=True, connected_at=now, heartbeat_at=now, last_error="")


def record_disconnected(app_pk: int, error: str = "") -> None:
    fields: dict[str, object] = {"connected": False}
    if error:
        fields["last_error"] = error[:300]
    _write(app_pk, **fields)


def record_message(app_pk: int, at: datetime) -> None:
    """A message arrived at ``at`` (the first since connecting, or since the last heartbeat:
    the client writes at most one a heartbeat interval, ``ConsoleWsClient``)."""
    _write(app_pk, connected=True, heartbeat_at=at, last_message_at=at)


def record_alive(last_messages: Mapping[int, datetime | None]) -> None:
    """The sockets of these apps (the keys) are open now; each app's last message, where one
    came (kept in memory by its client between heartbeats). One UPDATE for all."""
    fields: dict[str, Any] = {
        "connected": True,
        "heartbeat_at": timezone.now(),
        "process": this_process(),
    }
    received = [When(app_id=pk, then=Value(at)) for pk, at in last_messages.items() if at]
    if received:
        fields["last_message_at"] = Case(
            *received, default=F("last_message_at"), output_field=DateTimeField()
        )
    ConnectionHeartbeat.objects.filter(app_id__in=list(last_messages)).update(**fields)


@dataclass(frozen=True)
class ConnectionStatus:
    """What the admin page and the API say about an app's long connection."""

    state: str  # "up", "down", or "not_used" (request-URL mode)
    message: str
    connected_at: datetime | None = None
    heartbeat_at: datetime | None = None
    last_message_at: datetime | None = None
    last_error: str = ""


def _heartbeat_of(app: FeishuApp) -> ConnectionHeartbeat | None:
    """The row as joined by the admin's list (``select_related``), else read now: a cached one
    would show a connection as it was when the app was loaded."""
    if FeishuApp.heartbeat.related.is_cached(app):
        return getattr(app, "heartbeat", None)
    return ConnectionHeartbeat.objects.filter(app_id=app.pk).first()


def connection_status(app: FeishuApp) -> ConnectionStatus:
    if app.inbound_mode != InboundMode.LONG_CONNECTION:
        return ConnectionStatus("not_used", _("Not used: Feishu calls the request URLs."))
    beat = _heartbeat_of(app)
    if beat is None:
        return ConnectionStatus(
            "down", _("Never connected: run “python manage.py feishu_connect”.")
        )
    stale = timedelta(seconds=settings.FEISHU_CONNECT_HEARTBEAT_SECONDS * STALE_AFTER_INTERVALS)
    fresh = beat.heartbeat_at is not None and timezone.now() - beat.heartbeat_at < stale
    times = {
        "connected_at": beat.connected_at,
        "heartbeat_at": beat.heartbeat_at,
        "last_message_at": beat.last_message_at,
        "last_error": beat.last_error,
    }
    if beat.connected and fresh:
        return ConnectionStatus(
            "up", _("Connected (%(process)s).") % {"process": beat.process}, **times
        )
    if beat.connected:
        message = _(
            "No heartbeat since %(time)s: is “python manage.py feishu_connect” running?"
        ) % {"time": formats.date_format(timezone.localtime(beat.heartbeat_at), "DATETIME_FORMAT")}
    else:
        message = _("Not connected.") + (f" {beat.last_error}" if beat.last_error else "")
    return ConnectionStatus("down", message, **times)
