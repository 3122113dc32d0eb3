"""Huawei Cloud Eye (CES) alarms, as Cloud Eye's HTTP(S) notification objects deliver them: an
SMN HTTP(S) subscription (the envelope is read by :mod:`.smn`) whose message is the JSON of a
notification content template with channel HTTP/HTTPS and data format JSON::

    {"version": "v1", "data": {"AlarmRuleName": ..., "ResourceId": ..., "IsAlarm": true,
     "AlarmLevel": "Major", "MetricName": ..., "CurrentData": ..., ...}}

A body without the envelope is read as the message itself. Older notifications carried the same
variables under ``template_variable`` beside ``alarm_id``, ``alarm_status``, ``time``,
``namespace``, ``metric_name``, ``dimension`` and ``sms_content``; those are read too.

Field mapping (``v`` is ``data``, else ``template_variable``)
    * kind: ``v.IsAlarm`` false resolves, true fires; without it, ``alarm_status`` ``ok``
      resolves and ``alarm`` / ``insufficient_data`` fire.
    * alert_key: :func:`stable_key` of the rule (``alarm_id`` when sent, else
      ``v.AlarmRuleName``; one of them is required), the resource (``v.ResourceId``, else
      ``v.ResourceName``, else ``dimension``) and the metric (``v.MetricName`` /
      ``metric_name``).
    * severity: ``v.AlarmLevel`` through the knowledge base's table (``Critical`` and ``Major``
      critical, ``Minor`` warning, ``Info`` info), in English or in the Chinese console's words
      (紧急, 重要, 次要, 提示); else ``alarm_level`` 1 to 4 read the same way.
    * title: ``v.AlarmRuleName`` (else ``alarm_name``), then ``v.ResourceName`` after a dash.
    * description: ``sms_content`` when sent, else the metric and current value
      (``v.MetricName``, ``v.CurrentData``) and the condition (``v.Filter``,
      ``v.ComparisonOperator``, ``v.Value``, ``v.Unit``, ``v.Count``) or ``v.AlarmRule``.
    * labels: ``v.Namespace``, ``DimensionName``, ``ResourceName``, ``ResourceId``,
      ``MetricName``, ``AlarmRuleName``, ``Region``, ``RegionId``, ``PrivateIp``, ``PublicIp``,
      ``EpName``, ``AccountName``, then ``namespace``, ``metric_name``, ``dimension``.
    * links: ``v.Link`` ("Cloud Eye") when sent.
    * time: ``time`` (Unix milliseconds), else ``v.AlarmTime`` (``2024/08/05 14:45:16
      GMT+08:00``; a time in another form is left out rather than refused).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integrations.sources.common import (
    first_nonblank,
    json_type,
    merge_extra_labels,
    optional_link,
    optional_object,
    parse_epoch_time,
    severity_from_table,
    to_text,
    truncate,
)
from integrations.sources.huawei_ces import smn
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
    ("Critical", Severity.CRITICAL),
    ("Major", Severity.CRITICAL),
    ("Minor", Severity.WARNING),
    ("Info", Severity.INFO),
)
# The Chinese console's level names, and Cloud Eye's API numbers (1 critical ... 4 info).
LEVEL_ALIASES = {
    "紧急": "Critical",
    "重要": "Major",
    "次要": "Minor",
    "提示": "Info",
    "1": "Critical",
    "2": "Major",
    "3": "Minor",
    "4": "Info",
}
_STATUSES = {
    "alarm": EventKind.FIRING,
    "insufficient_data": EventKind.FIRING,
    "ok": EventKind.RESOLVED,
}
_LABELS = (
    "Namespace",
    "DimensionName",
    "ResourceName",
    "ResourceId",
    "MetricName",
    "AlarmRuleName",
    "Region",
    "RegionId",
    "PrivateIp",
    "PublicIp",
    "EpName",
    "AccountName",
)
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S GMT%z", "%Y/%m/%d%H:%M:%SGMT%z")


def parse(payload: Any) -> list[AlertEvent]:
    """The alarm of one notification (see the module docstring)."""
    message, _ = smn.message_of(payload)
    if not isinstance(message, dict):
        raise PayloadError(
            f"message must be Cloud Eye's JSON alarm, not {json_type(message)}", field="message"
        )
    variables = _variables(message)
    values = {key: _text(value) for key, value in variables.items()}
    rule = first_nonblank(_text(message.get("alarm_id")), values.get("AlarmRuleName", ""))
    if not rule:
        raise PayloadError("data.AlarmRuleName is required", field="data.AlarmRuleName")
    resource = first_nonblank(
        values.get("ResourceId", ""),
        values.get("ResourceName", ""),
        _text(message.get("dimension")),
    )
    metric = first_nonblank(values.get("MetricName", ""), _text(message.get("metric_name")))
    raw_severity = first_nonblank(values.get("AlarmLevel", ""), _text(message.get("alarm_level")))
    return [
        AlertEvent(
            alert_key=stable_key("huawei_ces", rule, resource, metric),
            kind=_kind(message, variables),
            title=truncate(_title(message, values), MAX_TITLE_CHARS),
            severity=severity_from_table(
                LEVEL_ALIASES.get(raw_severity, raw_severity), SEVERITY_TABLE
            ),
            raw_severity=raw_severity,
            description=truncate(_description(message, values, metric), MAX_DESCRIPTION_CHARS),
            labels=_labels(message, values),
            links=optional_link(variables.get("Link"), "Cloud Eye"),
            starts_at=_time(message, values),
        )
    ]


def recognises(payload: Any) -> bool:
    """An SMN notification (or a bare body) carrying a Cloud Eye alarm."""
    message = smn.inner_object(payload)
    if message is None:
        return False
    data = message.get("data")
    # The older shape names Cloud Eye's metric namespace (SYS.ECS, ...): OceanBase's OCP also
    # posts alarm_id and alarm_status, never a namespace.
    return (isinstance(data, dict) and "AlarmRuleName" in data and "IsAlarm" in data) or (
        "alarm_id" in message
        and "namespace" in message
        and ("template_variable" in message or "alarm_status" in message)
    )


def _text(value: Any) -> str:
    return "" if value is None else to_text(value).strip()


def _variables(message: dict[str, Any]) -> dict[str, Any]:
    if "data" in message:
        return optional_object(message, "data", field="data")
    return optional_object(message, "template_variable", field="template_variable")


def _kind(message: dict[str, Any], variables: dict[str, Any]) -> EventKind:
    is_alarm = variables.get("IsAlarm")
    if isinstance(is_alarm, bool):
        return EventKind.FIRING if is_alarm else EventKind.RESOLVED
    if isinstance(is_alarm, str) and is_alarm.strip().lower() in ("true", "false"):
        return EventKind.FIRING if is_alarm.strip().lower() == "true" else EventKind.RESOLVED
    status = _text(message.get("alarm_status"))
    if not status:
        return EventKind.FIRING
    try:
        return _STATUSES[status.lower()]
    except KeyError:
        raise PayloadError(
            f"alarm_status must be alarm, ok or insufficient_data, not {truncate(status, 40)!r}",
            field="alarm_status",
        ) from None


def _title(message: dict[str, Any], values: dict[str, str]) -> str:
    name = first_nonblank(
        values.get("AlarmRuleName", ""), _text(message.get("alarm_name")), "Cloud Eye alarm"
    )
    resource = values.get("ResourceName", "")
    return f"{name} - {resource}" if resource else name


def _description(message: dict[str, Any], values: dict[str, str], metric: str) -> str:
    sms = _text(message.get("sms_content"))
    if sms:
        return sms
    lines = [f"{metric}: {values['CurrentData']}"] if values.get("CurrentData") else []
    condition = _condition(values)
    if condition:
        lines.append(f"Condition: {condition}")
    elif values.get("AlarmRule"):
        lines.append(f"Rule: {values['AlarmRule']}")
    return "\n".join(lines)


def _condition(values: dict[str, str]) -> str:
    # Cloud Eye's own preview shows ">=" as "u003e=": a JSON escape that lost its backslash.
    operator = values.get("ComparisonOperator", "").replace("u003e", ">").replace("u003c", "<")
    threshold = values.get("Value", "")
    if not (operator and threshold):
        return ""
    unit = values.get("Unit", "")
    text = " ".join(part for part in (values.get("Filter", ""), operator, threshold) if part)
    text += unit if unit and not threshold.endswith(unit) else ""
    count = values.get("Count", "")
    return f"{text}, {count} time(s) in a row" if count else text


def _labels(message: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    labels = {key: values[key] for key in _LABELS if values.get(key)}
    extra = {key: _text(message.get(key)) for key in ("namespace", "metric_name", "dimension")}
    return merge_extra_labels(labels, {key: value for key, value in extra.items() if value})


def _time(message: dict[str, Any], values: dict[str, str]) -> datetime | None:
    if message.get("time") not in (None, ""):
        return parse_epoch_time(message.get("time"), field="time")
    text = values.get("AlarmTime", "")
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None
