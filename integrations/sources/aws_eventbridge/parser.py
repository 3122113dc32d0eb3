"""Amazon EventBridge events, posted by an API destination (the event itself) or relayed by an
SNS topic (the event as the envelope's ``Message``; ``aws_cloudwatch.sns`` reads it and answers
the subscription handshake). An event: ``version``, ``id``, ``detail-type``, ``source``,
``account``, ``time``, ``region``, ``resources``, ``detail``.

Identity and recovery per source (the knowledge base's table):

=============================  ==========================================  =====================
``detail-type``                ``alert_key``                               resolves when
=============================  ==========================================  =====================
CloudWatch Alarm State Change  ``resources[0]`` (the alarm ARN)            ``state.value`` OK
GuardDuty Finding              account, region, ``detail.id``              never
Security Hub Findings - ...    ``ProductArn`` + ``Id``, one per finding    ``Workflow.Status``
                                                                           RESOLVED/SUPPRESSED,
                                                                           ``RecordState``
                                                                           ARCHIVED
AWS Health Event               ``eventArn`` + affected account             ``statusCode`` closed
Inspector2 Finding             ``findingArn``                              ``status`` CLOSED or
                                                                           SUPPRESSED
Config Rules Compliance Change account, region, rule, resource type and id ``complianceType``
                                                                           COMPLIANT or
                                                                           NOT_APPLICABLE
DevOps Guru ...                account, region, ``insightId``              ``DevOps Guru Insight
                                                                           Closed``
any other                      the event ``id``                            never
=============================  ==========================================  =====================

A missing identity field is a ``PayloadError`` naming it.

* ``severity``: warning for every event (EventBridge has no common severity); a CloudWatch
  alarm's ``configuration.description`` may say ``flashduty_severity: critical`` as in the
  ``aws_cloudwatch`` kind. The source's own severity is kept as a label (``guardduty_severity``,
  ``severity_label``, ``inspector_severity``, ``event_type_category``, ``compliance_type``,
  ``insight_severity``) and as ``raw_severity``.
* ``title``: the readable summary (alarm name, finding title, health event type, ...), else
  ``source::detail-type``; ``description``: the summary, then the state reason or finding
  description.
* ``labels``: ``source``, ``region``, ``account``, ``check`` (``detail-type``), ``resources``,
  ``summary``, the per-source fields above, and ``detail`` (the detail as JSON, cut to fit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from django.utils.translation import gettext_lazy as _

from integrations.sources.aws_cloudwatch import sns
from integrations.sources.aws_cloudwatch.parser import SEVERITY_TABLE as ALARM_SEVERITIES
from integrations.sources.aws_cloudwatch.parser import alarm_severity
from integrations.sources.common import (
    at,
    bounded_alert_key,
    clean_labels,
    first_nonblank,
    get_list,
    get_str,
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
    PayloadError,
    Severity,
)

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    (_("any event"), Severity.WARNING),
    *((raw, severity) for raw, severity in ALARM_SEVERITIES if raw.startswith("flashduty")),
)
_EVENT_MARKERS = ("detail-type", "source", "detail")
# CloudTrail, RDS, ECS and EC2 events' readable fields, in the knowledge base's order.
_SUMMARY_PAIRS = (
    ("eventSource", "eventName"),
    ("SourceIdentifier", "Message"),
    ("group", "stoppedReason"),
    ("instance-id", "state"),
)


class Finding(NamedTuple):
    """What one source-specific reader makes of an event (or of one of its findings)."""

    key: str
    resolved: bool
    summary: str
    details: str = ""
    severity_label: tuple[str, str] = ("", "")  # (label name, the source's own severity)
    extra: tuple[tuple[str, str], ...] = ()
    severity: Severity = Severity.WARNING
    raw_severity: str | None = None  # when it is not the severity label's value


def is_event(payload: Any) -> bool:
    return isinstance(payload, dict) and all(key in payload for key in _EVENT_MARKERS)


def recognises(payload: Any) -> bool:
    if sns.is_envelope(payload):
        return is_event(sns.message_json(payload))
    return is_event(payload)


def parse(payload: Any) -> list[AlertEvent]:
    if sns.is_envelope(payload):
        if payload["Type"] != sns.NOTIFICATION:
            return []  # a subscription control message, answered by the handshake
        sns.notification(payload)  # checks the envelope's fields
        event, field = sns.message_json(payload), "Message"
        if not is_event(event):
            raise PayloadError(
                "Message is not an EventBridge event (it has no detail-type, source and "
                "detail); relay whole events, with no input transformer",
                field="Message",
            )
    else:
        event, field = payload, None
    return events_of(require_object(event, field), field)


def events_of(event: dict[str, Any], field: str | None) -> list[AlertEvent]:
    detail_type = get_str(event, "detail-type", field=at(field, "detail-type"), required=True)
    detail = require_object(event.get("detail"), at(field, "detail"))
    reader = _READERS.get(detail_type.strip()) or (
        _devops_guru if detail_type.startswith("DevOps Guru") else _other
    )
    common = _Common(event, field, detail_type.strip(), detail)
    return [_event(common, finding) for finding in reader(common)]


class _Common(NamedTuple):
    """One event, where it sits in the body (for error paths) and readers for its fields."""

    event: dict[str, Any]
    field: str | None
    detail_type: str
    detail: dict[str, Any]

    def text(self, key: str) -> str:
        return get_str(self.event, key, field=at(self.field, key)).strip()

    def detail_text(self, key: str, *, required: bool = False) -> str:
        if required:
            return _required(self.detail, key, at(at(self.field, "detail"), key))
        value = self.detail.get(key)
        return "" if isinstance(value, dict | list) else to_text(value or "").strip()

    def resources(self) -> list[Any]:
        return get_list(self.event, "resources", field=at(self.field, "resources"))


def _required(obj: dict[str, Any], key: str, field: str) -> str:
    value = obj.get(key)
    if value in (None, "") or isinstance(value, dict | list):
        raise PayloadError(f"{field} is required to identify the alert", field=field)
    return to_text(value).strip()


def _event(common: _Common, finding: Finding) -> AlertEvent:
    event = common.event
    source = common.text("source")
    label_name, label_severity = finding.severity_label
    raw_severity = label_severity if finding.raw_severity is None else finding.raw_severity
    labels = {
        "source": source,
        "region": common.text("region"),
        "account": common.text("account"),
        "check": common.detail_type,
        "resources": ", ".join(to_text(r) for r in common.resources()),
        "summary": finding.summary,
        **({label_name: label_severity} if label_name else {}),
        **dict(finding.extra),
        "detail": json.dumps(common.detail, ensure_ascii=False, sort_keys=True),
    }
    time = parse_time(event.get("time"), field=at(common.field, "time"))
    return AlertEvent(
        alert_key=bounded_alert_key(finding.key),
        kind=EventKind.RESOLVED if finding.resolved else EventKind.FIRING,
        title=truncate(
            first_nonblank(finding.summary, f"{source}::{common.detail_type}"), MAX_TITLE_CHARS
        ),
        severity=finding.severity,
        raw_severity=raw_severity,
        description=truncate(
            "\n\n".join(t for t in (finding.summary, finding.details) if t), MAX_DESCRIPTION_CHARS
        ),
        labels=clean_labels({k: v for k, v in labels.items() if v}, field="labels", lenient=True),
        starts_at=None if finding.resolved else time,
        ends_at=time if finding.resolved else None,
    )


def _scoped(common: _Common, *parts: str) -> str:
    return ":".join((common.text("account"), common.text("region"), *parts))


# --- One reader per source --------------------------------------------------------------------


def _cloudwatch_alarm(common: _Common) -> list[Finding]:
    resources = common.resources()
    if not resources or not isinstance(resources[0], str) or not resources[0].strip():
        field = at(at(common.field, "resources"), 0)
        raise PayloadError(f"{field} (the alarm ARN) is required", field=field)
    state = optional_object(common.detail, "state", field=at(common.field, "detail.state"))
    config = optional_object(
        common.detail, "configuration", field=at(common.field, "detail.configuration")
    )
    value = to_text(state.get("value") or "").upper()
    severity, raw = alarm_severity(to_text(config.get("description") or ""), value)
    return [
        Finding(
            key=resources[0].strip(),
            resolved=value == "OK",
            summary=common.detail_text("alarmName"),
            details=to_text(state.get("reason") or ""),
            severity_label=("state_value", value),
            severity=severity,
            raw_severity=raw,
        )
    ]


def _guardduty(common: _Common) -> list[Finding]:
    finding_id = common.detail_text("id", required=True)
    return [
        Finding(
            key=f"guardduty:{_scoped(common, finding_id)}",
            resolved=False,  # GuardDuty sends nothing when a finding is archived
            summary=common.detail_text("title"),
            details=common.detail_text("description"),
            severity_label=("guardduty_severity", common.detail_text("severity")),
            extra=(("finding_id", finding_id), ("finding_type", common.detail_text("type"))),
        )
    ]


def _security_hub(common: _Common) -> list[Finding]:
    where = at(at(common.field, "detail"), "findings")
    findings = get_list(common.detail, "findings", field=where)
    if not findings:
        raise PayloadError(f"{where} must hold at least one finding", field=where)
    readings = []
    for index, item in enumerate(findings):
        finding = require_object(item, at(where, index))
        product = _required(finding, "ProductArn", at(at(where, index), "ProductArn"))
        finding_id = _required(finding, "Id", at(at(where, index), "Id"))
        workflow = finding.get("Workflow") if isinstance(finding.get("Workflow"), dict) else {}
        severity = finding.get("Severity") if isinstance(finding.get("Severity"), dict) else {}
        readings.append(
            Finding(
                key=f"securityhub:{product}:{finding_id}",
                resolved=to_text(workflow.get("Status") or "") in ("RESOLVED", "SUPPRESSED")
                or finding.get("RecordState") == "ARCHIVED",
                summary=to_text(finding.get("Title") or ""),
                details=to_text(finding.get("Description") or ""),
                severity_label=("severity_label", to_text(severity.get("Label") or "")),
                extra=(("finding_id", finding_id),),
            )
        )
    return readings


def _health(common: _Common) -> list[Finding]:
    event_arn = common.detail_text("eventArn", required=True)
    affected = common.detail_text("affectedAccount") or common.text("account")
    descriptions = common.detail.get("eventDescription")
    details = ""
    if isinstance(descriptions, list) and descriptions and isinstance(descriptions[0], dict):
        details = to_text(descriptions[0].get("latestDescription") or "")
    return [
        Finding(
            key=f"health:{event_arn}:{affected}",
            resolved=common.detail_text("statusCode").lower() == "closed",
            summary=common.detail_text("eventTypeCode"),
            details=details,
            severity_label=("event_type_category", common.detail_text("eventTypeCategory")),
            extra=(("event_arn", event_arn), ("service", common.detail_text("service"))),
        )
    ]


def _inspector(common: _Common) -> list[Finding]:
    finding_arn = common.detail_text("findingArn", required=True)
    return [
        Finding(
            key=f"inspector:{finding_arn}",
            resolved=common.detail_text("status").upper() in ("CLOSED", "SUPPRESSED"),
            summary=common.detail_text("title"),
            details=common.detail_text("description"),
            severity_label=("inspector_severity", common.detail_text("severity")),
            extra=(("finding_arn", finding_arn),),
        )
    ]


def _config(common: _Common) -> list[Finding]:
    rule = common.detail_text("configRuleName", required=True)
    resource_type = common.detail_text("resourceType", required=True)
    resource_id = common.detail_text("resourceId", required=True)
    result = optional_object(
        common.detail, "newEvaluationResult", field=at(common.field, "detail.newEvaluationResult")
    )
    compliance = to_text(result.get("complianceType") or "")
    return [
        Finding(
            key=f"config:{_scoped(common, rule, resource_type, resource_id)}",
            resolved=compliance in ("COMPLIANT", "NOT_APPLICABLE"),
            summary=f"{rule}: {resource_type} {resource_id} is {compliance or 'evaluated'}",
            severity_label=("compliance_type", compliance),
            extra=(("config_rule_name", rule), ("resource", resource_id)),
        )
    ]


def _devops_guru(common: _Common) -> list[Finding]:
    insight = common.detail_text("insightId", required=True)
    return [
        Finding(
            key=f"devopsguru:{_scoped(common, insight)}",
            resolved=common.detail_type == "DevOps Guru Insight Closed",
            summary=common.detail_text("insightDescription") or common.detail_type,
            severity_label=("insight_severity", common.detail_text("insightSeverity")),
            extra=(("insight_id", insight),),
        )
    ]


def _other(common: _Common) -> list[Finding]:
    event_id = _required(common.event, "id", at(common.field, "id"))
    return [Finding(key=f"eventbridge:{event_id}", resolved=False, summary=_summary(common))]


def _summary(common: _Common) -> str:
    d = common.detail
    for first, second in _SUMMARY_PAIRS:
        if d.get(first) and d.get(second):
            return f"{to_text(d[first])} {to_text(d[second])}"
    return ""


_READERS: dict[str, Callable[[_Common], list[Finding]]] = {
    "CloudWatch Alarm State Change": _cloudwatch_alarm,
    "GuardDuty Finding": _guardduty,
    "Security Hub Findings - Imported": _security_hub,
    "Security Hub Findings - Custom Action": _security_hub,
    "AWS Health Event": _health,
    "Inspector2 Finding": _inspector,
    "Config Rules Compliance Change": _config,
}
