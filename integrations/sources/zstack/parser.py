"""ZStack Cloud alarms, sent by a Webhook endpoint of Cloud Monitoring (Platform O&M → Cloud
Monitoring → Endpoint). ZStack posts one JSON object per resource alarm (which also reports its
recovery) or event alarm (which does not).

Field mapping
    * alert_key: :func:`stable_key` of the alarm (``alarmUuid``; for an event alarm
      ``subscriptionUuid`` and ``eventName``) and the resource (``resourceUuid``).
    * kind: ``alarmStatus`` ``OK`` resolves; ``Alarm`` fires, and so does an event alarm.
    * severity: ``emergencyLevel`` through the knowledge base's table (``Emergent`` critical,
      ``Major`` warning, ``Info`` info); ZStack's API words ``Important`` and ``Normal`` are the
      same levels as ``Major`` and ``Info``.
    * title: ``alarmName`` (else ``eventName``), then ``resourceName`` after a dash.
    * description: the metric, its current value and the threshold (``metricName``,
      ``currentValue``, ``comparisonOperator``, ``threshold``), then ``message``.
    * labels: ``labels`` (an object or ZStack's ``[{"key", "value"}]`` list), then
      ``namespace``, ``metricName``, ``resourceUuid``, ``resourceName``, ``resourceType``.
    * time: ``time`` (Unix milliseconds or seconds).

ZStack's "Send Test Message" posts a body with none of these fields: :func:`is_test_message`
tells it apart so that the source answers 200 without storing anything.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    at,
    clean_labels,
    first_nonblank,
    json_type,
    merge_extra_labels,
    parse_epoch_time,
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

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("Emergent", Severity.CRITICAL),
    ("Major", Severity.WARNING),
    ("Info", Severity.INFO),
)
API_LEVELS = {"important": "Major", "normal": "Info"}
ALARM_FIELDS = ("alarmUuid", "alarmName", "subscriptionUuid", "eventName")
_STATUSES = {"alarm": EventKind.FIRING, "ok": EventKind.RESOLVED}
_LABEL_FIELDS = ("namespace", "metricName", "resourceUuid", "resourceName", "resourceType")


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a push (see the module docstring)."""
    body = require_object(payload, None)
    fields = {
        key: _text(value) for key, value in body.items() if not isinstance(value, dict | list)
    }
    alarm = _alarm_identity(fields)
    kind = _kind(fields)
    raw_severity = fields.get("emergencyLevel", "")
    level = API_LEVELS.get(raw_severity.lower(), raw_severity)
    when = parse_epoch_time(body.get("time"), field="time")
    return [
        AlertEvent(
            alert_key=stable_key("zstack", *alarm, fields.get("resourceUuid", "")),
            kind=kind,
            title=truncate(_title(fields), MAX_TITLE_CHARS),
            severity=severity_from_table(level, SEVERITY_TABLE),
            raw_severity=raw_severity,
            description=truncate(_description(fields), MAX_DESCRIPTION_CHARS),
            labels=merge_extra_labels(
                _labels(body.get("labels")),
                {key: fields[key] for key in _LABEL_FIELDS if fields.get(key)},
            ),
            starts_at=when if kind == EventKind.FIRING else None,
            ends_at=when if kind == EventKind.RESOLVED else None,
        )
    ]


def recognises(payload: Any) -> bool:
    """ZStack's alarm fields: ``emergencyLevel`` with an alarm or event UUID."""
    return (
        isinstance(payload, dict)
        and "emergencyLevel" in payload
        and ("alarmUuid" in payload or "subscriptionUuid" in payload)
    )


def is_test_message(payload: Any) -> bool:
    """ZStack's "Send Test Message": an object of texts, none an alarm field, one saying test."""
    return (
        isinstance(payload, dict)
        and bool(payload)
        and not any(key in payload for key in (*ALARM_FIELDS, "emergencyLevel", "alarmStatus"))
        and all(isinstance(value, str | int | float | bool) for value in payload.values())
        and any("test" in str(value).lower() for value in payload.values())
    )


def _text(value: Any) -> str:
    return "" if value is None else to_text(value).strip()


def _alarm_identity(fields: dict[str, str]) -> tuple[str, ...]:
    if fields.get("alarmUuid"):
        return ("alarm", fields["alarmUuid"])
    if fields.get("subscriptionUuid") or fields.get("eventName"):
        return ("event", fields.get("subscriptionUuid", ""), fields.get("eventName", ""))
    raise PayloadError(
        "alarmUuid is required (or, for an event alarm, subscriptionUuid and eventName)",
        field="alarmUuid",
    )


def _kind(fields: dict[str, str]) -> EventKind:
    status = fields.get("alarmStatus", "")
    if not status:
        return EventKind.FIRING
    try:
        return _STATUSES[status.lower()]
    except KeyError:
        raise PayloadError(
            f"alarmStatus must be Alarm or OK, not {truncate(status, 40)!r}", field="alarmStatus"
        ) from None


def _title(fields: dict[str, str]) -> str:
    name = first_nonblank(fields.get("alarmName", ""), fields.get("eventName", ""), "ZStack alarm")
    resource = fields.get("resourceName", "")
    return f"{name} - {resource}" if resource else name


def _description(fields: dict[str, str]) -> str:
    lines = []
    metric, value = fields.get("metricName", ""), fields.get("currentValue", "")
    if metric and value:
        condition = " ".join(
            part for part in (fields.get("comparisonOperator"), fields.get("threshold")) if part
        )
        lines.append(f"{metric}: {value}" + (f" (alarm when {condition})" if condition else ""))
    if fields.get("message"):
        lines.append(fields["message"])
    return "\n".join(lines)


def _labels(raw: Any) -> dict[str, str]:
    """``labels`` as an object, or ZStack's list of ``{"key": ..., "value": ...}``."""
    if raw is None or isinstance(raw, dict):
        return clean_labels(raw, field="labels", lenient=True)
    if not isinstance(raw, list):
        raise PayloadError(
            f"labels must be an object or a list of key/value objects, not {json_type(raw)}",
            field="labels",
        )
    pairs = {}
    for index, item in enumerate(raw):
        entry = require_object(item, at("labels", index))
        if "key" not in entry:
            raise PayloadError(f"{at('labels', index)}.key is required", field=at("labels", index))
        pairs[_text(entry["key"])] = entry.get("value")
    return clean_labels(pairs, field="labels", lenient=True)
