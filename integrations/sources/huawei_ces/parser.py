"""Huawei Cloud Eye (CES) alarms, as SMN delivers them to an HTTP(S) subscription (the
envelope is read by :mod:`.smn`; a body without the envelope is read as the message itself).
The message is Cloud Eye's JSON alarm notification.

Field mapping (of the message)
    * kind: ``alarm_status`` ``ok`` resolves, ``alarm`` and ``insufficient_data`` fire (without
      ``alarm_status``, ``template_variable.IsAlarm`` false resolves).
    * alert_key: :func:`stable_key` of ``alarm_id`` (the rule, required) and the resource
      (``template_variable.ResourceId``, else ``dimension``).
    * severity: ``template_variable.AlarmLevel`` through the knowledge base's table
      (``Critical`` and ``Major`` critical, ``Minor`` warning, ``Info`` info); else
      ``alarm_level`` 1 to 4 (critical, major, minor, informational), read the same way.
    * title: ``template_variable.AlarmRuleName`` (else ``alarm_name``), then the
      ``ResourceName`` after a dash.
    * description: ``sms_content`` when Cloud Eye filled it, else the metric, current value and
      rule (``MetricName``, ``CurrentData``, ``AlarmRule``).
    * labels: ``namespace``, ``metric_name``, ``dimension``, then ``Region``,
      ``ResourceName``, ``ResourceId``, ``PrivateIp``, ``PublicIp``, ``DimensionName``,
      ``EpName``, ``AccountName`` of ``template_variable`` when set.
    * links: ``template_variable.Link`` ("Cloud Eye").
    * time: ``time`` (Unix milliseconds).
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    first_nonblank,
    json_type,
    merge_extra_labels,
    optional_link,
    optional_object,
    parse_epoch_time,
    table_severity,
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
# Cloud Eye's API numbers its levels: 1 critical, 2 major, 3 minor, 4 informational.
_LEVEL_NUMBERS = {"1": "Critical", "2": "Major", "3": "Minor", "4": "Info"}
_STATUSES = {
    "alarm": EventKind.FIRING,
    "insufficient_data": EventKind.FIRING,
    "ok": EventKind.RESOLVED,
}
_TEMPLATE_LABELS = (
    "Region",
    "ResourceName",
    "ResourceId",
    "PrivateIp",
    "PublicIp",
    "DimensionName",
    "EpName",
    "AccountName",
)


def parse(payload: Any) -> list[AlertEvent]:
    """The alarm of one SMN notification (see the module docstring)."""
    message, _ = smn.message_of(payload)
    if not isinstance(message, dict):
        raise PayloadError(
            f"message must be Cloud Eye's JSON alarm, not {json_type(message)}", field="message"
        )
    template = optional_object(message, "template_variable", field="template_variable")
    values = {key: _text(value) for key, value in template.items()}
    alarm_id = _text(message.get("alarm_id"))
    if not alarm_id:
        raise PayloadError("alarm_id is required", field="alarm_id")
    resource = first_nonblank(values.get("ResourceId", ""), _text(message.get("dimension")))
    raw_severity = _raw_severity(message, values)
    return [
        AlertEvent(
            alert_key=stable_key("huawei_ces", alarm_id, resource),
            kind=_kind(message, template),
            title=truncate(_title(message, values), MAX_TITLE_CHARS),
            severity=table_severity(raw_severity, SEVERITY_TABLE),
            raw_severity=raw_severity,
            description=truncate(_description(message, values), MAX_DESCRIPTION_CHARS),
            labels=_labels(message, values),
            links=optional_link(template.get("Link"), "Cloud Eye"),
            starts_at=parse_epoch_time(message.get("time"), field="time"),
        )
    ]


def recognises(payload: Any) -> bool:
    """An SMN notification (or a bare body) carrying a Cloud Eye alarm."""
    message = smn.inner_object(payload)
    return (
        message is not None
        and "alarm_id" in message
        and ("template_variable" in message or "alarm_status" in message)
    )


def _text(value: Any) -> str:
    return "" if value is None else to_text(value).strip()


def _kind(message: dict[str, Any], template: dict[str, Any]) -> EventKind:
    status = _text(message.get("alarm_status"))
    if not status:
        return EventKind.RESOLVED if template.get("IsAlarm") is False else EventKind.FIRING
    try:
        return _STATUSES[status.lower()]
    except KeyError:
        raise PayloadError(
            f"alarm_status must be alarm, ok or insufficient_data, not {truncate(status, 40)!r}",
            field="alarm_status",
        ) from None


def _raw_severity(message: dict[str, Any], values: dict[str, str]) -> str:
    if values.get("AlarmLevel"):
        return values["AlarmLevel"]
    number = _text(message.get("alarm_level"))
    return _LEVEL_NUMBERS.get(number, number)


def _title(message: dict[str, Any], values: dict[str, str]) -> str:
    name = first_nonblank(
        values.get("AlarmRuleName", ""), _text(message.get("alarm_name")), "Cloud Eye alarm"
    )
    resource = values.get("ResourceName", "")
    return f"{name} - {resource}" if resource else name


def _description(message: dict[str, Any], values: dict[str, str]) -> str:
    sms = _text(message.get("sms_content"))
    if sms:
        return sms
    metric = first_nonblank(values.get("MetricName", ""), _text(message.get("metric_name")))
    lines = [f"{metric}: {values['CurrentData']}"] if values.get("CurrentData") else []
    if values.get("AlarmRule"):
        lines.append(f"Rule: {values['AlarmRule']}")
    return "\n".join(lines)


def _labels(message: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    top = {key: _text(message.get(key)) for key in ("namespace", "metric_name", "dimension")}
    extra = {key: values.get(key, "") for key in _TEMPLATE_LABELS}
    labels = merge_extra_labels({k: v for k, v in top.items() if v}, {})
    return merge_extra_labels(labels, {key: value for key, value in extra.items() if value})
