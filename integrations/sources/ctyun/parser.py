"""State Cloud (CTyun, 天翼云) Cloud Eye alarms, sent by an alarm rule's "alarm callback".
One JSON object per alarm and per recovery. (Resources of CTyun's secondary nodes run Huawei's
Cloud Eye: use a ``huawei_ces`` source for those.)

Field mapping
    * kind: ``status`` ``1`` (or ``recovered`` / ``ok`` / 恢复, 已恢复) resolves; ``0`` (or
      ``alarm`` / 告警) fires; missing, fires.
    * alert_key: ``issueID`` (CTyun's alarm issue, shared by the alarm and its recovery); else
      :func:`stable_key` of ``alarmRuleID`` and the resources.
    * severity: ``alarmLevel`` (else ``level``) through the knowledge base's table (``Urgent``
      critical, ``Warning`` warning, ``Normal`` info); the console's words 紧急, 警示, 普通
      and CTyun's numbers 1, 2, 3 are the same levels.
    * title: ``alarmRuleName`` (else ``name``), then the resource's name after a dash.
    * description: ``content``, else the metric, value and threshold.
    * labels: the ``resources`` (a list of ``{"key", "value"}`` or an object), then
      ``service``, ``dimension``, ``regionID``, ``metricName``, ``alarmRuleID``.
    * time: ``triggerTime`` starts it, ``recoverTime`` ends it (Unix seconds or milliseconds).
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
    ("Urgent", Severity.CRITICAL),
    ("Warning", Severity.WARNING),
    ("Normal", Severity.INFO),
)
# The console's (Chinese) words and the API's numbers for the same three levels.
LEVEL_ALIASES = {
    "紧急": "Urgent",
    "警示": "Warning",
    "普通": "Normal",
    "1": "Urgent",
    "2": "Warning",
    "3": "Normal",
}
_RESOLVED = frozenset({"1", "recovered", "resolved", "ok", "恢复", "已恢复"})
_FIRING = frozenset({"0", "alarm", "firing", "告警", "未恢复"})
_LABEL_FIELDS = ("service", "dimension", "regionID", "metricName", "alarmRuleID")


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a callback (see the module docstring)."""
    body = require_object(payload, None)
    fields = {
        key: _text(value) for key, value in body.items() if not isinstance(value, dict | list)
    }
    kind = _kind(fields)
    resources = _resources(body.get("resources"))
    raw_severity = first_nonblank(fields.get("alarmLevel", ""), fields.get("level", ""))
    level = LEVEL_ALIASES.get(raw_severity, raw_severity)
    return [
        AlertEvent(
            alert_key=_key(fields, resources),
            kind=kind,
            title=truncate(_title(fields, resources), MAX_TITLE_CHARS),
            severity=severity_from_table(level, SEVERITY_TABLE),
            raw_severity=raw_severity,
            description=truncate(_description(fields), MAX_DESCRIPTION_CHARS),
            labels=merge_extra_labels(
                resources, {key: fields[key] for key in _LABEL_FIELDS if fields.get(key)}
            ),
            starts_at=parse_epoch_time(body.get("triggerTime"), field="triggerTime"),
            ends_at=(
                parse_epoch_time(body.get("recoverTime"), field="recoverTime")
                if kind == EventKind.RESOLVED
                else None
            ),
        )
    ]


def recognises(payload: Any) -> bool:
    """CTyun's callback: ``alarmRuleID`` with an ``issueID`` or ``triggerTime``."""
    return (
        isinstance(payload, dict)
        and "alarmRuleID" in payload
        and ("issueID" in payload or "triggerTime" in payload)
    )


def _text(value: Any) -> str:
    return "" if value is None else to_text(value).strip()


def _kind(fields: dict[str, str]) -> EventKind:
    status = fields.get("status", "")
    if status.lower() in _RESOLVED:
        return EventKind.RESOLVED
    if not status or status.lower() in _FIRING:
        return EventKind.FIRING
    raise PayloadError(
        f"status must be 0 (alarm) or 1 (recovered), not {truncate(status, 40)!r}",
        field="status",
    )


def _resources(raw: Any) -> dict[str, str]:
    if raw is None or isinstance(raw, dict):
        return clean_labels(raw, field="resources", lenient=True)
    if not isinstance(raw, list):
        raise PayloadError(
            f"resources must be a list of key/value objects, not {json_type(raw)}",
            field="resources",
        )
    pairs = {}
    for index, item in enumerate(raw):
        entry = require_object(item, at("resources", index))
        if not _text(entry.get("key")):
            raise PayloadError(
                f"{at('resources', index)}.key is required", field=at("resources", index)
            )
        pairs[_text(entry["key"])] = entry.get("value")
    return clean_labels(pairs, field="resources", lenient=True)


def _key(fields: dict[str, str], resources: dict[str, str]) -> str:
    if fields.get("issueID"):
        return fields["issueID"]
    if not fields.get("alarmRuleID"):
        raise PayloadError("issueID is required (or alarmRuleID)", field="issueID")
    return stable_key("ctyun", fields["alarmRuleID"], resources)


def _title(fields: dict[str, str], resources: dict[str, str]) -> str:
    rule = first_nonblank(fields.get("alarmRuleName", ""), fields.get("name", ""), "CTyun alarm")
    resource = first_nonblank(
        resources.get("name", ""), resources.get("instancename", ""), fields.get("resourceName", "")
    )
    return f"{rule} - {resource}" if resource else rule


def _description(fields: dict[str, str]) -> str:
    if fields.get("content"):
        return fields["content"]
    metric, value = fields.get("metricName", ""), fields.get("value", "")
    if not (metric and value):
        return ""
    threshold = fields.get("threshold", "")
    return f"{metric}: {value}" + (f" (threshold {threshold})" if threshold else "")
