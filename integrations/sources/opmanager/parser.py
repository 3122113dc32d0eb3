"""ManageEngine OpManager's "Invoke a Webhook" notification, with the body the set-up gives.

OpManager posts whatever body its profile holds, its ``$variables`` filled in. The console's
set-up (as the knowledge base's) gives :data:`BODY_TEMPLATE`: every value a string.

* ``alert_key``: ``alarmid`` (OpManager's alarm, the same from raise to clear). Required.
* ``kind``: ``severity`` ``Clear`` resolves; any other fires.
* ``severity``: ``severity`` (``$stringseverity``) by the knowledge base's table: Critical and
  Service Down critical, Trouble warning, Attention info; anything else warning.
* ``title``: ``message``, else "<displayName>: <category>", else "OpManager alarm".
* ``description``: ``message``, then the last polled value, event type and time as sent.
* ``labels``: ``displayName`` (as ``device``), ``category``, ``entity``, ``eventType`` and every
  ``Device_*``, ``Monitor_*`` and ``Intf_*`` field, in that order, leaving out values OpManager
  left as ``$variable`` (a variable that does not apply to this alarm) or empty.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_labels,
    get_str,
    require_object,
    severity_from_table,
    to_text,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABELS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
)

SEVERITY_TABLE = (
    ("Critical", Severity.CRITICAL),
    ("Service Down", Severity.CRITICAL),
    ("Trouble", Severity.WARNING),
    ("Attention", Severity.INFO),
)
CLEAR = "clear"
BODY_TEMPLATE = """{
  "alarmid": "$alarmid",
  "message": "$message",
  "displayName": "$displayName",
  "category": "$category",
  "severity": "$stringseverity",
  "strModTime": "$strModTime",
  "eventType": "$eventType",
  "entity": "$entity",
  "lastPolledValue": "$lastPolledValue",
  "Device_type": "$DeviceField(type)",
  "Device_ipAddress": "$DeviceField(ipAddress)",
  "Monitor_monitorName": "$MonitorField(monitorName)",
  "Monitor_instance": "$MonitorField(instance)",
  "Intf_ifName": "$IntfField(ifName)",
  "Intf_ifAlias": "$IntfField(ifAlias)",
  "Intf_ipAddress": "$IntfField(ipAddress)"
}
"""
_LABEL_FIELDS = (("displayName", "device"), ("category", "category"), ("entity", "entity"))
_LABEL_PREFIXES = ("Device_", "Monitor_", "Intf_")


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of an OpManager webhook (see the module docstring)."""
    body = require_object(payload, None)
    alarm_id = _value(body, "alarmid", required=True)
    severity = _value(body, "severity")
    message = _value(body, "message")
    name, category = _value(body, "displayName"), _value(body, "category")
    fallback = ": ".join(part for part in (name, category) if part)
    return [
        AlertEvent(
            alert_key=alarm_id,
            kind=EventKind.RESOLVED if severity.lower() == CLEAR else EventKind.FIRING,
            title=truncate(message or fallback or "OpManager alarm", MAX_TITLE_CHARS),
            severity=severity_from_table(severity, SEVERITY_TABLE),
            raw_severity=severity,
            description=truncate(_description(body, message), MAX_DESCRIPTION_CHARS),
            labels=_labels(body),
        )
    ]


def recognises(payload: Any) -> bool:
    """The set-up's body: ``alarmid``, ``displayName`` and ``strModTime``."""
    return isinstance(payload, dict) and {"alarmid", "displayName", "strModTime"} <= payload.keys()


def _value(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    raw = body.get(key)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return to_text(raw)
    text = get_str(body, key, field=key, required=required).strip()
    if text.startswith("$"):  # OpManager left a variable that does not apply
        if required:
            raise PayloadError(f"{key} is OpManager's unfilled {text!r}", field=key)
        return ""
    return text


def _description(body: dict[str, Any], message: str) -> str:
    details = [
        ("Last polled value", _value(body, "lastPolledValue")),
        ("Event type", _value(body, "eventType")),
        ("Time", _value(body, "strModTime")),
    ]
    lines = [f"{name}: {value}" for name, value in details if value]
    return "\n".join([message, *lines] if message else lines)


def _labels(body: dict[str, Any]) -> dict[str, str]:
    labels = {label: value for key, label in _LABEL_FIELDS if (value := _value(body, key))}
    if value := _value(body, "eventType"):
        labels["event_type"] = value
    for key in body:
        if len(labels) >= MAX_LABELS:
            break
        if key.startswith(_LABEL_PREFIXES) and (value := _value(body, key)):
            labels[key] = value
    return clean_labels(labels, field="labels", lenient=True)
