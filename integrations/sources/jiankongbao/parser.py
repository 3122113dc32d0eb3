"""Jiankongbao (监控宝, Cloudwise) alarms, posted by a URL callback (POST; JSON, or form
fields, which the core hands over as strings).

One callback is one message about one monitoring task:

* ``alert_key``: ``jiankongbao:<task_id>`` (the monitoring task; each message has its own
  ``msg_id``).
* ``kind``: ``message_status`` 1 (alarm) fires, 2 (recovery) resolves; anything else is a
  ``PayloadError``.
* ``severity``: ``message_type`` 1 (fault) warning, 2 (reminder) info (the knowledge base's
  table); another type is a warning.
* ``title``: ``task_name``, else ``task_summary``, else "Jiankongbao task <task_id>".
* ``description``: ``content``, URL-decoded when it still is encoded (Jiankongbao encodes it).
* ``labels``: ``task_id``, ``task_type``, ``task_summary``, ``server_id``.
* ``starts_at``: ``fault_time`` (Unix seconds) of an alarm.

:func:`signature` is the ``token`` Jiankongbao adds when a callback token is set (checked by
the source when the admin stores that token as the signing secret).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import unquote_plus

from integrations.sources.common import (
    get_str,
    json_type,
    parse_epoch_time,
    require_object,
    severity_from_table,
    to_text,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
)

MESSAGE_TYPES = {"1": Severity.WARNING, "2": Severity.INFO}
MESSAGE_TYPE_NAMES = {"1": "fault", "2": "reminder"}
STATUSES = {"1": EventKind.FIRING, "2": EventKind.RESOLVED}
LABEL_FIELDS = ("task_id", "task_type", "task_summary", "server_id")
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


def recognises(payload: Any) -> bool:
    """A URL callback: a message id and a task id beside the message status."""
    return isinstance(payload, dict) and {"msg_id", "task_id", "message_status"} <= payload.keys()


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one Jiankongbao URL callback (see the module docstring)."""
    body = require_object(payload, None)
    task_id = field_text(body, "task_id", required=True)
    kind = _kind(body)
    message_type = field_text(body, "message_type")
    title = (
        field_text(body, "task_name")
        or field_text(body, "task_summary")
        or f"Jiankongbao task {task_id}"
    )
    return [
        AlertEvent(
            alert_key=f"jiankongbao:{task_id}",
            kind=kind,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=severity_from_table(message_type, MESSAGE_TYPES),
            raw_severity=MESSAGE_TYPE_NAMES.get(message_type, message_type),
            description=truncate(_content(body), MAX_DESCRIPTION_CHARS),
            labels={
                key: truncate(value, MAX_LABEL_VALUE_CHARS)
                for key in LABEL_FIELDS
                if (value := field_text(body, key))
            },
            starts_at=(
                parse_epoch_time(body.get("fault_time"), field="fault_time")
                if kind == EventKind.FIRING
                else None
            ),
        )
    ]


def signature(body: dict[str, Any], callback_token: str) -> str:
    """MD5 of ``msg_id``, ``task_id``, ``fault_time`` and the callback token, joined."""
    parts = [field_text(body, key) for key in ("msg_id", "task_id", "fault_time")]
    return hashlib.md5("".join([*parts, callback_token]).encode()).hexdigest()  # noqa: S324


def field_text(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    """A field as stripped text: form posts give strings, JSON posts numbers or strings."""
    value = body.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is not None and not isinstance(value, str):
        raise PayloadError(f"{key} must be a string or a number, not {json_type(value)}", field=key)
    return get_str(body, key, field=key, required=required).strip()


def _kind(body: dict[str, Any]) -> EventKind:
    status = field_text(body, "message_status", required=True)
    try:
        return STATUSES[status]
    except KeyError:
        raise PayloadError(
            f"message_status must be 1 (alarm) or 2 (recovery), not {truncate(status, 40)!r}",
            field="message_status",
        ) from None


def _content(body: dict[str, Any]) -> str:
    content = to_text(body.get("content") or "")
    return unquote_plus(content).strip() if _ENCODED.search(content) else content.strip()
