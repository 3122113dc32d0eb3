"""Graylog's HTTP notification (Graylog 3.1 and later): one event of an event definition.

* ``alert_key``: :func:`stable_key` of ``event_definition_id`` and ``event.key`` (the values of
  the definition's group-by fields, ``""`` without grouping): one alert per definition and group.
* ``kind``: always firing. Graylog sends nothing when the condition stops holding, so these
  alerts are resolved in the console.
* ``severity``: ``event.priority`` by the knowledge base's table: 3 critical, 2 warning, 1 info;
  4 (Graylog 6's "critical") critical too; anything else warning.
* ``title``: ``event_definition_title``, else ``event.message``, else "Graylog event".
* ``description``: ``event.message``, the definition's description, then how many backlog
  messages came with it.
* ``labels``: ``event.fields`` (numbers and booleans as text), then ``source`` and
  ``event_definition_type`` in free slots.
* ``starts_at``: ``event.timestamp``.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_labels,
    get_list,
    get_str,
    json_type,
    merge_extra_labels,
    optional_object,
    parse_time,
    require_object,
    severity_from_table,
    to_text,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
    stable_key,
)

SEVERITY_TABLE = (
    ("3", Severity.CRITICAL),
    ("2", Severity.WARNING),
    ("1", Severity.INFO),
)
# Graylog 6.x added priority 4, "Critical"; the knowledge base's table predates it.
_FULL_TABLE = (("4", Severity.CRITICAL), *SEVERITY_TABLE)


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a Graylog HTTP notification (see the module docstring)."""
    body = require_object(payload, None)
    definition = get_str(body, "event_definition_id", field="event_definition_id", required=True)
    if not isinstance(body.get("event"), dict):
        raise PayloadError(
            f"event must be a JSON object, not {json_type(body.get('event'))}", field="event"
        )
    event = body["event"]
    message = get_str(event, "message", field="event.message").strip()
    priority = _priority(event)
    title = (
        get_str(body, "event_definition_title", field="event_definition_title").strip()
        or message
        or "Graylog event"
    )
    extra = {
        "source": get_str(event, "source", field="event.source"),
        "event_definition_type": get_str(
            body, "event_definition_type", field="event_definition_type"
        ),
    }
    labels = clean_labels(
        optional_object(event, "fields", field="event.fields"), field="event.fields", lenient=True
    )
    return [
        AlertEvent(
            alert_key=stable_key("graylog", definition.strip(), _key(event)),
            kind=EventKind.FIRING,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=severity_from_table(priority, _FULL_TABLE),
            raw_severity=priority,
            description=truncate(_description(body, message), MAX_DESCRIPTION_CHARS),
            labels=merge_extra_labels(labels, {k: v for k, v in extra.items() if v}),
            starts_at=parse_time(event.get("timestamp"), field="event.timestamp"),
        )
    ]


def recognises(payload: Any) -> bool:
    """Graylog's notification: ``event_definition_id`` and an ``event`` object."""
    return (
        isinstance(payload, dict)
        and "event_definition_id" in payload
        and isinstance(payload.get("event"), dict)
    )


def _priority(event: dict[str, Any]) -> str:
    value = event.get("priority")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(
            f"event.priority must be a number, not {json_type(value)}", field="event.priority"
        )
    return str(value).strip()


def _key(event: dict[str, Any]) -> str:
    value = event.get("key")
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise PayloadError(f"event.key must be a string, not {json_type(value)}", field="event.key")
    return to_text(value)


def _description(body: dict[str, Any], message: str) -> str:
    parts = [
        message,
        get_str(body, "event_definition_description", field="event_definition_description"),
    ]
    backlog = get_list(body, "backlog", field="backlog")
    if backlog:
        parts.append(f"{len(backlog)} message(s) in the backlog.")
    return "\n\n".join(part.strip() for part in parts if part.strip())
