"""Volcengine Cloud Monitor metric alarms (``Type`` ``Metric``), posted to a general callback
URL chosen in an alarm policy's alert channels.

One callback lists the resources of one policy in four arrays; each resource is one event:

* ``Resources`` and ``NoDataResources`` fire; ``RecoveredResources`` and
  ``NoDataRecoveredResources`` resolve.
* ``alert_key``: ``volc_cm:<RuleId>:<resource Id>``, with ``:nodata`` for the no-data arrays
  (a no-data alarm and a threshold alarm of one resource are different problems).
* ``severity``: ``Level`` ``critical`` critical, ``warning`` warning, ``notice`` info
  (case-insensitive; the knowledge base's table); an unknown level is a warning.
* ``title``: ``RuleName`` and the resource's ``Name`` (else ``Id``), "No data: " in front for
  the no-data arrays.
* ``description``: ``RuleCondition``, then one ``name = value unit`` line per entry of the
  resource's ``Metrics`` (``NoDataMetrics`` for no-data alarms).
* ``labels``: ``Namespace``, ``SubNamespace``, ``RuleId``, ``AccountId``, the resource's
  ``Region``, ``Id`` (``resource_id``) and ``Name`` (``resource_name``), then the resource's
  ``Dimensions`` when it has them (an object, or a list of ``Name`` / ``Value`` pairs).
* ``starts_at``: the resource's ``FirstAlertTime`` (Unix seconds).

A callback with none of the four arrays filled is a ``PayloadError``.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    at,
    get_list,
    get_str,
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
)

LEVELS = {"critical": Severity.CRITICAL, "warning": Severity.WARNING, "notice": Severity.INFO}
# (array, kind, no-data?)
RESOURCE_ARRAYS = (
    ("Resources", EventKind.FIRING, False),
    ("NoDataResources", EventKind.FIRING, True),
    ("RecoveredResources", EventKind.RESOLVED, False),
    ("NoDataRecoveredResources", EventKind.RESOLVED, True),
)


def recognises(payload: Any) -> bool:
    """A metric-alarm callback: ``Type`` ``Metric`` with a ``RuleId``."""
    return isinstance(payload, dict) and payload.get("Type") == "Metric" and "RuleId" in payload


def parse(payload: Any) -> list[AlertEvent]:
    """One event per resource of a metric-alarm callback (see the module docstring)."""
    body = require_object(payload, None)
    rule_id = get_str(body, "RuleId", field="RuleId", required=True).strip()
    events = []
    for array, kind, no_data in RESOURCE_ARRAYS:
        for index, item in enumerate(get_list(body, array, field=array)):
            field = at(array, index)
            resource = require_object(item, field)
            events.append(_event(body, rule_id, resource, field=field, kind=kind, no_data=no_data))
    if not events:
        raise PayloadError(
            "the callback lists no resource in Resources, RecoveredResources, NoDataResources "
            "or NoDataRecoveredResources",
            field="Resources",
        )
    return events


def _event(
    body: dict[str, Any],
    rule_id: str,
    resource: dict[str, Any],
    *,
    field: str,
    kind: EventKind,
    no_data: bool,
) -> AlertEvent:
    resource_id = _text(resource, "Id", field=at(field, "Id"), required=True)
    name = _text(resource, "Name", field=at(field, "Name")) or resource_id
    rule = get_str(body, "RuleName", field="RuleName").strip() or "Volcengine alarm"
    level = get_str(body, "Level", field="Level").strip()
    title = f"{'No data: ' if no_data else ''}{rule} on {name}"
    return AlertEvent(
        alert_key=f"volc_cm:{rule_id}:{resource_id}{':nodata' if no_data else ''}",
        kind=kind,
        title=truncate(title, MAX_TITLE_CHARS),
        severity=severity_from_table(level, LEVELS),
        raw_severity=level,
        description=truncate(
            _description(body, resource, field=field, no_data=no_data), MAX_DESCRIPTION_CHARS
        ),
        labels=_labels(body, resource, resource_id, name),
        starts_at=parse_epoch_time(
            resource.get("FirstAlertTime"), field=at(field, "FirstAlertTime")
        ),
    )


def _text(obj: dict[str, Any], key: str, *, field: str, required: bool = False) -> str:
    """A string or a number (Volcengine ids are sometimes numbers) as stripped text."""
    value = obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return to_text(value)
    return get_str(obj, key, field=field, required=required).strip()


def _description(
    body: dict[str, Any], resource: dict[str, Any], *, field: str, no_data: bool
) -> str:
    lines = [get_str(body, "RuleCondition", field="RuleCondition").strip()]
    key = "NoDataMetrics" if no_data else "Metrics"
    for index, item in enumerate(get_list(resource, key, field=at(field, key))):
        metric = require_object(item, at(at(field, key), index))
        name = to_text(metric.get("Name") or metric.get("MetricName") or "value")
        value = metric.get("Value", metric.get("CurrentValue"))
        unit = to_text(metric.get("Unit") or "")
        lines.append(f"{name} = {to_text(value)}{' ' + unit if unit else ''}")
    return "\n".join(line for line in lines if line)


def _labels(
    body: dict[str, Any], resource: dict[str, Any], resource_id: str, name: str
) -> dict[str, str]:
    labels = {
        key: to_text(value)
        for key, value in (
            ("Namespace", body.get("Namespace")),
            ("SubNamespace", body.get("SubNamespace")),
            ("RuleId", body.get("RuleId")),
            ("AccountId", body.get("AccountId")),
            ("Region", resource.get("Region")),
            ("resource_id", resource_id),
            ("resource_name", name),
        )
        if value not in (None, "")
    }
    return merge_extra_labels(labels, _dimensions(resource.get("Dimensions")))


def _dimensions(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {key: to_text(value) for key, value in raw.items() if value is not None}
    if isinstance(raw, list):
        pairs = (item for item in raw if isinstance(item, dict) and item.get("Name"))
        return {to_text(item["Name"]): to_text(item.get("Value", "")) for item in pairs}
    return {}
