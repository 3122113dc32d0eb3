"""AWS CloudWatch alarms delivered by an Amazon SNS topic (``sns.py`` reads the envelope), and
any other message on the same topic.

CloudWatch alarm (the ``Message`` is JSON with ``AlarmName`` and ``NewStateValue``; with raw
message delivery on it is the whole body)
    * ``alert_key``: ``AlarmArn`` (required): ``ALARM``, ``INSUFFICIENT_DATA`` and ``OK`` of one
      alarm are one alert; a renamed threshold or description does not split it.
    * ``kind``: ``NewStateValue`` ``OK`` resolves; ``ALARM`` and ``INSUFFICIENT_DATA`` fire;
      anything else is a ``PayloadError``.
    * ``severity``: alarms have none, so warning (:data:`SEVERITY_TABLE`), unless the
      ``AlarmDescription`` says ``flashduty_severity: critical`` (or ``oncall_severity``;
      critical / warning / info, ``:`` or ``=``, any case), the knowledge base's convention.
    * ``title``: ``AlarmName``; ``description``: ``NewStateReason``, then ``AlarmDescription``.
    * ``labels``: ``alarm_arn``, ``aws_account_id``, ``region`` (the ARN's), ``new_state_value``,
      ``old_state_value``; single-metric alarms ``trigger_metric_name``,
      ``trigger_namespace``, ``trigger_statistic``, ``trigger_threshold``,
      ``trigger_dimensions_<name>`` (``resource`` = the ``InstanceId`` dimension); metric math
      alarms ``trigger_expression_<id>`` / ``trigger_metric_<id>`` (``namespace/name``) per
      query; composite alarms ``alarm_rule`` and ``triggering_children``.
    * ``links``: the alarm in the CloudWatch console.
    * ``starts_at`` / ``ends_at``: ``StateChangeTime``.

Cost Anomaly Detection (the ``Message`` is JSON with ``anomalyId``)
    ``alert_key`` ``cost-anomaly:<anomalyId>``: later notifications of one anomaly merge; a
    warning that never resolves by itself (AWS sends nothing when an anomaly ends). Title "Cost
    anomaly: <dimensionalValue>"; labels ``account_id``, ``monitor_name``, ``total_impact``,
    ``root_cause_services``; link ``anomalyDetailsLink``.

Any other message (plain text, other JSON: AWS Budgets, ...)
    One warning alert that never resolves by itself, ``alert_key`` ``sns:<MessageId>`` (an SNS
    retry of the same message merges), title the ``Subject`` or the message's first line,
    description the message.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from integrations.sources.aws_cloudwatch import sns
from integrations.sources.common import (
    at,
    bounded_alert_key,
    clean_labels,
    first_nonblank,
    get_list,
    get_str,
    merge_extra_labels,
    optional_link,
    optional_object,
    parse_time,
    require_object,
    to_text,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    Link,
    PayloadError,
    Severity,
)

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("ALARM", Severity.WARNING),
    ("INSUFFICIENT_DATA", Severity.WARNING),
    ("flashduty_severity: critical", Severity.CRITICAL),
    ("flashduty_severity: warning", Severity.WARNING),
    ("flashduty_severity: info", Severity.INFO),
)
_STATES = {
    "ALARM": EventKind.FIRING,
    "INSUFFICIENT_DATA": EventKind.FIRING,
    "OK": EventKind.RESOLVED,
}
_SEVERITY_MARK = re.compile(
    r"(?:flashduty|oncall)_severity\s*[:=]\s*(critical|warning|info)\b", re.IGNORECASE
)
_ALARM_MARKERS = ("AlarmName", "NewStateValue")


def is_alarm(message: Any) -> bool:
    return isinstance(message, dict) and all(key in message for key in _ALARM_MARKERS)


def recognises(payload: Any) -> bool:
    """An SNS envelope whose message is not an EventBridge event, or a raw alarm."""
    if sns.is_envelope(payload):
        message = sns.message_json(payload)
        return not (isinstance(message, dict) and "detail-type" in message)
    return is_alarm(payload)


def parse(payload: Any) -> list[AlertEvent]:
    if is_alarm(payload):  # raw message delivery: the alarm without its envelope
        return [alarm_event(payload, field=None)]
    if sns.is_envelope(payload) and payload["Type"] != sns.NOTIFICATION:
        return []  # a subscription control message, answered by the handshake
    note = sns.notification(payload)
    message = sns.message_json(payload)
    if is_alarm(message):
        return [alarm_event(message, field="Message")]
    if isinstance(message, dict) and message.get("anomalyId"):
        return [cost_anomaly_event(message, note)]
    return [other_message_event(note)]


def cost_anomaly_event(anomaly: dict[str, Any], note: sns.Notification) -> AlertEvent:
    """One Cost Anomaly Detection notification (individual alerts, through SNS)."""
    anomaly_id = to_text(anomaly["anomalyId"]).strip()
    dimension = to_text(anomaly.get("dimensionalValue") or anomaly.get("dimensionValue") or "")
    impact = anomaly.get("impact") if isinstance(anomaly.get("impact"), dict) else {}
    causes = anomaly.get("rootCauses") if isinstance(anomaly.get("rootCauses"), list) else []
    services = {
        to_text(c.get("service")) for c in causes if isinstance(c, dict) and c.get("service")
    }
    own = {
        "account_id": to_text(anomaly.get("accountId") or ""),
        "monitor_name": to_text(anomaly.get("monitorName") or ""),
        "total_impact": to_text(impact.get("totalImpact") or ""),
        "root_cause_services": ", ".join(sorted(services)),
    }
    return AlertEvent(
        alert_key=bounded_alert_key(f"cost-anomaly:{anomaly_id}"),
        kind=EventKind.FIRING,
        title=truncate(
            f"Cost anomaly: {dimension}" if dimension else note.subject or "Cost anomaly",
            MAX_TITLE_CHARS,
        ),
        severity=Severity.WARNING,
        description=truncate(note.subject, MAX_DESCRIPTION_CHARS),
        labels=clean_labels({k: v for k, v in own.items() if v}, field="labels", lenient=True),
        links=optional_link(anomaly.get("anomalyDetailsLink"), "Cost anomaly"),
    )


def other_message_event(note: sns.Notification) -> AlertEvent:
    """A message the console has no reader for: one warning alert per SNS message."""
    first_line = next((line for line in note.message.splitlines() if line.strip()), "")
    title = first_nonblank(note.subject, first_line, "Amazon SNS message")
    labels = {"topic_arn": note.topic_arn} if note.topic_arn else {}
    return AlertEvent(
        alert_key=bounded_alert_key(f"sns:{note.message_id}"),
        kind=EventKind.FIRING,
        title=truncate(title.strip(), MAX_TITLE_CHARS),
        severity=Severity.WARNING,
        description=truncate(note.message, MAX_DESCRIPTION_CHARS),
        labels=clean_labels(labels, field="labels", lenient=True),
        starts_at=parse_time(note.timestamp or None, field="Timestamp"),
    )


def alarm_event(alarm: Any, *, field: str | None) -> AlertEvent:
    """The event of one CloudWatch alarm state change (``field``: where it sits, for errors)."""
    alarm = require_object(alarm, field)
    arn = get_str(alarm, "AlarmArn", field=at(field, "AlarmArn"), required=True).strip()
    raw_state = get_str(alarm, "NewStateValue", field=at(field, "NewStateValue"), required=True)
    state = raw_state.strip().upper()
    if state not in _STATES:
        raise PayloadError(
            "NewStateValue must be ALARM, INSUFFICIENT_DATA or OK, "
            f"not {truncate(raw_state, 40)!r}",
            field=at(field, "NewStateValue"),
        )
    description = get_str(alarm, "AlarmDescription", field=at(field, "AlarmDescription"))
    severity, raw_severity = alarm_severity(description, state)
    changed = parse_time(_time(alarm.get("StateChangeTime")), field=at(field, "StateChangeTime"))
    kind = _STATES[state]
    name = get_str(alarm, "AlarmName", field=at(field, "AlarmName")).strip()
    reason = get_str(alarm, "NewStateReason", field=at(field, "NewStateReason")).strip()
    return AlertEvent(
        alert_key=bounded_alert_key(arn),
        kind=kind,
        title=truncate(name or arn, MAX_TITLE_CHARS),
        severity=severity,
        raw_severity=raw_severity,
        description=truncate(
            "\n\n".join(t for t in (reason, description.strip()) if t), MAX_DESCRIPTION_CHARS
        ),
        labels=_alarm_labels(alarm, arn, field),
        links=_console_link(arn, name),
        starts_at=changed if kind == EventKind.FIRING else None,
        ends_at=changed if kind == EventKind.RESOLVED else None,
    )


def alarm_severity(description: str, state: str) -> tuple[Severity, str]:
    """An alarm's severity and the word it came from: the description's
    ``flashduty_severity`` mark, else warning for the state (``raw`` is then the state)."""
    mark = _SEVERITY_MARK.search(description)
    if mark:
        word = mark.group(1).lower()
        return Severity(word), f"flashduty_severity: {word}"
    return Severity.WARNING, state


def _time(value: Any) -> Any:
    # CloudWatch writes "2026-12-03T09:15:42.123+0000": an offset without a colon.
    if isinstance(value, str) and re.search(r"[+-]\d{4}$", value):
        return f"{value[:-2]}:{value[-2:]}"
    return value


def _arn_parts(arn: str) -> list[str]:
    # arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>
    parts = arn.split(":", 6)
    return parts if len(parts) == 7 else []


def _console_link(arn: str, name: str) -> tuple[Link, ...]:
    parts = _arn_parts(arn)
    if not parts or not name:
        return ()
    partition, region = parts[1], parts[3]
    domain = "console.amazonaws.cn" if partition == "aws-cn" else "console.aws.amazon.com"
    href = (
        f"https://{region}.{domain}/cloudwatch/home?region={region}"
        f"#alarmsV2:alarm/{quote(name, safe='')}"
    )
    return (Link(href=href, text="CloudWatch alarm"),)


def _alarm_labels(alarm: dict[str, Any], arn: str, field: str | None) -> dict[str, str]:
    parts = _arn_parts(arn)
    own = {
        "alarm_arn": arn,
        "aws_account_id": to_text(alarm.get("AWSAccountId") or (parts[4] if parts else "")),
        "region": parts[3] if parts else to_text(alarm.get("Region") or ""),
        "new_state_value": to_text(alarm.get("NewStateValue") or ""),
        "old_state_value": to_text(alarm.get("OldStateValue") or ""),
        "alarm_rule": to_text(alarm.get("AlarmRule") or ""),
        "triggering_children": _children(alarm, field),
    }
    labels = clean_labels({k: v for k, v in own.items() if v}, field="labels", lenient=True)
    trigger = optional_object(alarm, "Trigger", field=at(field, "Trigger"))
    return merge_extra_labels(labels, _trigger_labels(trigger, at(field, "Trigger")))


def _children(alarm: dict[str, Any], field: str | None) -> str:
    # A composite alarm names the child alarms that made it fire.
    children = get_list(alarm, "TriggeringChildren", field=at(field, "TriggeringChildren"))
    arns = [to_text(child.get("Arn")) for child in children if isinstance(child, dict)]
    return ", ".join(arn for arn in arns if arn)


def _trigger_labels(trigger: dict[str, Any], field: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for key, label in (
        ("MetricName", "trigger_metric_name"),
        ("Namespace", "trigger_namespace"),
        ("Statistic", "trigger_statistic"),
        ("Threshold", "trigger_threshold"),
        ("ComparisonOperator", "trigger_comparison"),
    ):
        if trigger.get(key) not in (None, ""):
            labels[label] = to_text(trigger[key])
    labels.update(_dimension_labels(trigger.get("Dimensions"), at(field, "Dimensions")))
    for index, item in enumerate(get_list(trigger, "Metrics", field=at(field, "Metrics"))):
        labels.update(_query_labels(item, at(at(field, "Metrics"), index)))
    return labels


def _dimension_labels(dimensions: Any, field: str) -> dict[str, str]:
    labels = {}
    for index, item in enumerate(dimensions or []):
        entry = require_object(item, at(field, index))
        # CloudWatch writes single-metric dimensions as {"name", "value"}, metric math
        # dimensions as {"Name", "Value"}: both are read.
        name = to_text(entry.get("name") or entry.get("Name") or "")
        value = to_text(entry.get("value") or entry.get("Value") or "")
        if name:
            labels[f"trigger_dimensions_{name}"] = value
            if name == "InstanceId":
                labels["resource"] = value
    return labels


def _query_labels(item: Any, field: str) -> dict[str, str]:
    query = require_object(item, field)
    query_id = to_text(query.get("Id") or "")
    labels = {}
    if query.get("Expression"):
        labels[f"trigger_expression_{query_id}"] = to_text(query["Expression"])
    metric = optional_object(
        optional_object(query, "MetricStat", field=at(field, "MetricStat")),
        "Metric",
        field=at(at(field, "MetricStat"), "Metric"),
    )
    if metric:
        namespace, name = metric.get("Namespace") or "", metric.get("MetricName") or ""
        labels[f"trigger_metric_{query_id}"] = f"{to_text(namespace)}/{to_text(name)}"
        labels.update(
            _dimension_labels(
                metric.get("Dimensions"), at(at(at(field, "MetricStat"), "Metric"), "Dimensions")
            )
        )
    return labels
