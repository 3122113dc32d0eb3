"""Volcengine Log Service (TLS) alarms, posted by a notification group's custom webhook with
the content template the set-up guide gives (``CONTENT_TEMPLATE`` in ``source.py``: TLS's
template variables, one JSON key each).

One notification is one event:

* ``alert_key``: ``volc_tls:<AlarmID>`` (the alarm policy).
* ``kind``: ``NotifyType`` 1 fires, 2 (recovery) resolves; anything else is a
  ``PayloadError``.
* ``severity``: ``Severity`` ``critical`` critical, ``warning`` warning, ``info`` info
  (case-insensitive; the knowledge base's table); an unknown one is a warning.
* ``title``: ``Alarm`` (the policy's name), else "TLS alarm".
* ``description``: the ``Condition``, the ``TriggerParams`` and the number of results
  (``FireResultsCount``), one per line.
* ``labels``: ``ProjectName``, ``AlarmTopicName``, ``Topics``, ``Region``, ``AccountID``.
* ``links``: ``DetailUrl`` ("Alarm details").
* ``starts_at``: ``NotifyTimeUnix`` of a firing notification (TLS gives no first-trigger time).
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    get_str,
    optional_link,
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

LEVELS = {"critical": Severity.CRITICAL, "warning": Severity.WARNING, "info": Severity.INFO}
NOTIFY_TYPES = {"1": EventKind.FIRING, "2": EventKind.RESOLVED}
LABEL_FIELDS = ("ProjectName", "AlarmTopicName", "Topics", "Region", "AccountID")


def recognises(payload: Any) -> bool:
    """The set-up guide's body: an alarm id, the alarm's topic name and a notify type."""
    return isinstance(payload, dict) and {"AlarmID", "AlarmTopicName", "NotifyType"} <= (
        payload.keys()
    )


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one TLS alarm notification (see the module docstring)."""
    body = require_object(payload, None)
    alarm_id = get_str(body, "AlarmID", field="AlarmID", required=True).strip()
    severity = get_str(body, "Severity", field="Severity").strip()
    kind = _kind(body)
    title = get_str(body, "Alarm", field="Alarm").strip() or "TLS alarm"
    notified = parse_epoch_time(body.get("NotifyTimeUnix"), field="NotifyTimeUnix")
    return [
        AlertEvent(
            alert_key=f"volc_tls:{alarm_id}",
            kind=kind,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=severity_from_table(severity, LEVELS),
            raw_severity=severity,
            description=truncate(_description(body), MAX_DESCRIPTION_CHARS),
            labels={
                key: truncate(to_text(body[key]), MAX_LABEL_VALUE_CHARS)
                for key in LABEL_FIELDS
                if body.get(key) not in (None, "")
            },
            links=optional_link(body.get("DetailUrl"), "Alarm details"),
            starts_at=notified if kind == EventKind.FIRING else None,
        )
    ]


def _kind(body: dict[str, Any]) -> EventKind:
    raw = body.get("NotifyType")
    kind = NOTIFY_TYPES.get(to_text(raw).strip().strip('"'))
    if kind is None:
        raise PayloadError(
            f"NotifyType must be 1 (alarm) or 2 (recovery), not {truncate(to_text(raw), 40)}",
            field="NotifyType",
        )
    return kind


def _description(body: dict[str, Any]) -> str:
    lines = []
    condition = get_str(body, "Condition", field="Condition").strip()
    if condition:
        lines.append(f"Condition: {condition}")
    if body.get("TriggerParams") not in (None, "", {}, []):
        lines.append(f"Trigger parameters: {to_text(body['TriggerParams'])}")
    if body.get("FireResultsCount") not in (None, ""):
        lines.append(f"Results: {to_text(body['FireResultsCount'])}")
    return "\n".join(lines)
