"""Tencent Cloud Monitor alarm callbacks (metric, event and Prometheus alarms), posted by a
notification template's callback URL.

One callback is one event:

* ``alert_key``: ``tencent_cm:<policyId>:`` and a digest of the alarm type, region, metric or
  event name and the object's ``dimensions``, so each object of a policy is one alert and its
  repeats merge.
* ``kind`` (the knowledge base's rule): an ``event`` alarm resolves when ``recoverTime`` is not
  ``0``; every other alarm resolves when ``alarmStatus`` is ``0`` and fires when it is ``1``
  (numbers or strings); another ``alarmStatus`` is a ``PayloadError``.
* ``severity``: ``alarmLevel`` ``Remind`` info, ``Warn`` warning, ``Serious`` critical; when it
  is missing or unknown, a ``metric`` alarm is a warning and any other type critical.
* ``title``: the metric condition (``CPU utilization > 90%``) or the event's name, then
  ``on <object>`` (``objName``, else ``unInstanceId``, else ``objId``); else the policy name.
* ``description``: the policy, the current value, the first occurrence and the duration.
* ``labels``: the object's ``dimensions`` (``objDetail``'s entries too, flattened), then
  ``region``, ``namespace``, ``policyId``, ``policyType``, ``alarmType`` in free slots.
* ``starts_at``: ``firstOccurTime``, Tencent Cloud's wall-clock time (China Standard Time).
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from integrations.sources.common import (
    get_str,
    merge_extra_labels,
    optional_object,
    parse_local_time,
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

CHINA_TIME = timezone(timedelta(hours=8), "CST")
LEVELS = {"remind": Severity.INFO, "warn": Severity.WARNING, "serious": Severity.CRITICAL}


def recognises(payload: Any) -> bool:
    """A callback: a ``sessionId`` beside an ``alarmPolicyInfo`` object."""
    return (
        isinstance(payload, dict)
        and "sessionId" in payload
        and isinstance(payload.get("alarmPolicyInfo"), dict)
    )


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one Cloud Monitor alarm callback (see the module docstring)."""
    body = require_object(payload, None)
    policy = require_object(body.get("alarmPolicyInfo"), "alarmPolicyInfo")
    policy_id = get_str(policy, "policyId", field="alarmPolicyInfo.policyId", required=True)
    conditions = optional_object(policy, "conditions", field="alarmPolicyInfo.conditions")
    target = optional_object(body, "alarmObjInfo", field="alarmObjInfo")
    dimensions = optional_object(target, "dimensions", field="alarmObjInfo.dimensions")
    alarm_type = get_str(body, "alarmType", field="alarmType").strip().lower()
    level = get_str(body, "alarmLevel", field="alarmLevel").strip()
    default = Severity.WARNING if alarm_type == "metric" else Severity.CRITICAL
    identity = stable_key(
        alarm_type,
        target.get("region"),
        conditions.get("metricName") or conditions.get("eventName"),
        dimensions,
    )
    return [
        AlertEvent(
            alert_key=f"tencent_cm:{policy_id.strip()}:{identity}",
            kind=_kind(body, alarm_type),
            title=truncate(_title(policy, conditions, dimensions), MAX_TITLE_CHARS),
            severity=severity_from_table(level, LEVELS, default),
            raw_severity=level,
            description=truncate(_description(body, policy, conditions), MAX_DESCRIPTION_CHARS),
            labels=_labels(body, policy, target, dimensions),
            starts_at=parse_local_time(
                body.get("firstOccurTime"), field="firstOccurTime", tz=CHINA_TIME
            ),
        )
    ]


def _kind(body: dict[str, Any], alarm_type: str) -> EventKind:
    if alarm_type == "event":
        recover = to_text(body.get("recoverTime", "0")).strip().strip('"')
        return EventKind.FIRING if recover in ("", "0", "null") else EventKind.RESOLVED
    status = to_text(body.get("alarmStatus")).strip().strip('"')
    if status == "1":
        return EventKind.FIRING
    if status == "0":
        return EventKind.RESOLVED
    raise PayloadError(
        f"alarmStatus must be 1 (alarm) or 0 (resolved), not {truncate(status, 40)}",
        field="alarmStatus",
    )


def _title(policy: dict[str, Any], conditions: dict[str, Any], dimensions: dict[str, Any]) -> str:
    condition = _condition_text(conditions)
    target = next(
        (
            to_text(dimensions[key])
            for key in ("objName", "unInstanceId", "objId")
            if dimensions.get(key) not in (None, "")
        ),
        "",
    )
    if condition:
        return f"{condition} on {target}" if target else condition
    return to_text(policy.get("policyName") or "Tencent Cloud Monitor alarm")


def _condition_text(conditions: dict[str, Any]) -> str:
    name = to_text(
        conditions.get("metricShowName")
        or conditions.get("metricName")
        or conditions.get("eventShowName")
        or conditions.get("eventName")
        or ""
    )
    if name and conditions.get("calcType") and conditions.get("calcValue") is not None:
        unit = to_text(conditions.get("unit") or "")
        return f"{name} {to_text(conditions['calcType'])} {to_text(conditions['calcValue'])}{unit}"
    return name


def _description(body: dict[str, Any], policy: dict[str, Any], conditions: dict[str, Any]) -> str:
    lines = []
    if policy.get("policyName"):
        kind = policy.get("policyTypeCName")
        name = to_text(policy["policyName"])
        lines.append(f"Policy: {name} ({to_text(kind)})" if kind else f"Policy: {name}")
    if conditions.get("currentValue") not in (None, ""):
        unit = to_text(conditions.get("unit") or "")
        lines.append(f"Current value: {to_text(conditions['currentValue'])}{unit}")
    if body.get("firstOccurTime"):
        lines.append(f"First occurred: {to_text(body['firstOccurTime'])}")
    if body.get("durationTime") not in (None, ""):
        lines.append(f"Duration: {to_text(body['durationTime'])} s")
    return "\n".join(lines)


def _labels(
    body: dict[str, Any],
    policy: dict[str, Any],
    target: dict[str, Any],
    dimensions: dict[str, Any],
) -> dict[str, str]:
    flat: dict[str, Any] = {}
    for key, value in dimensions.items():
        if key == "objDetail" and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    labels = merge_extra_labels(
        {}, {key: to_text(value) for key, value in flat.items() if value not in (None, "")}
    )
    extra = {
        "region": target.get("region"),
        "namespace": target.get("namespace"),
        "policyId": policy.get("policyId"),
        "policyType": policy.get("policyType"),
        "alarmType": body.get("alarmType"),
    }
    return merge_extra_labels(
        labels, {key: to_text(value) for key, value in extra.items() if value not in (None, "")}
    )
