"""Azure Monitor alerts posted by an action group's *Webhook* action with the **common alert
schema** on: ``schemaId`` ``azureMonitorCommonAlertSchema`` and ``data`` with ``essentials``
(the same for every alert type), ``alertContext`` (the signal's own fields) and
``customProperties``.

* ``alert_key``: ``essentials.alertId`` (required): the fired and resolved notifications of
  one alert share it. (An activity log alert is fired once per event, each its own alert.)
* ``kind``: ``monitorCondition`` ``Resolved`` resolves, ``Fired`` fires; anything else is a
  ``PayloadError``.
* ``severity``: ``essentials.severity`` through :data:`SEVERITY_TABLE` (Sev0 critical, Sev1 and
  Sev2 warning, Sev3 and Sev4 info); others are warning.
* ``title``: ``alertRule`` on the target resource's name (the last segment of
  ``alertTargetIDs[0]``, else ``configurationItems[0]``); only the rule when there is none.
* ``description``: ``essentials.description``, then the metric conditions as ``metric operator
  threshold (value)`` lines.
* ``labels``: ``alert_rule``, ``signal_type``, ``monitoring_service``, ``monitor_condition``,
  ``resource_id``, and ``subscription_id``, ``resource_group``, ``resource_name`` parsed from
  it; ``metric_name`` and each dimension of metric conditions; ``search_query`` of log
  alerts; then ``customProperties``, none overwriting one already set.
* ``links``: ``investigationLink`` ("Azure portal"); a log alert's ``linkToSearchResultsUI``
  ("Search results").
* ``starts_at`` / ``ends_at``: ``firedDateTime`` / ``resolvedDateTime``.

Service Health and Resource Health (activity log alerts, which Azure fires anew at every
update and never resolves) are keyed and resolved as the knowledge base says:
``azure:servicehealth:<subscription>:<trackingId>``, resolved at the ``stage`` Resolved, RCA,
Complete or Canceled; ``azure:resourcehealth:<resource id, lower case>``, resolved when
``currentHealthStatus`` is Available or the activity's ``status`` Resolved. Their properties
become labels (``tracking_id``, ``stage``, ``incident_type``, ``impacted_services``,
``impacted_regions``; ``current_health_status``, ``previous_health_status``,
``health_event_type``, ``health_event_cause``).

A payload without the common schema is refused with a 400 asking to enable it (field
``schemaId``): Azure's older per-signal shapes are not read.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from integrations.sources.common import (
    at,
    bounded_alert_key,
    clean_labels,
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

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("Sev0", Severity.CRITICAL),
    ("Sev1", Severity.WARNING),
    ("Sev2", Severity.WARNING),
    ("Sev3", Severity.INFO),
    ("Sev4", Severity.INFO),
)
_SEVERITIES = {raw.lower(): severity for raw, severity in SEVERITY_TABLE}
_CONDITIONS = {"fired": EventKind.FIRING, "resolved": EventKind.RESOLVED}
ESSENTIALS = "data.essentials"
# Service Health notification stages after which the event is over.
_HEALTH_DONE = {"resolved", "rca", "complete", "canceled"}


def recognises(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("schemaId") == COMMON_SCHEMA


def parse(payload: Any) -> list[AlertEvent]:
    body = require_object(payload, None)
    if body.get("schemaId") != COMMON_SCHEMA:
        raise PayloadError(
            f"schemaId must be {COMMON_SCHEMA!r}: enable the common alert schema on the "
            "action group's webhook action",
            field="schemaId",
        )
    data = require_object(body.get("data"), "data")
    essentials = require_object(data.get("essentials"), ESSENTIALS)
    context = optional_object(data, "alertContext", field="data.alertContext")
    alert_id = _text(essentials, "alertId", required=True)
    raw_condition = _text(essentials, "monitorCondition", required=True)
    if raw_condition.lower() not in _CONDITIONS:
        raise PayloadError(
            f"{ESSENTIALS}.monitorCondition must be Fired or Resolved, "
            f"not {truncate(raw_condition, 40)!r}",
            field=at(ESSENTIALS, "monitorCondition"),
        )
    raw_severity = _text(essentials, "severity")
    resource_id = _target(essentials)
    health = _health(essentials, context, resource_id)
    return [
        AlertEvent(
            alert_key=bounded_alert_key(health.key if health else alert_id),
            kind=health.kind if health else _CONDITIONS[raw_condition.lower()],
            title=truncate(_title(essentials, resource_id), MAX_TITLE_CHARS),
            severity=_SEVERITIES.get(raw_severity.lower(), Severity.WARNING),
            raw_severity=raw_severity,
            description=truncate(_description(essentials, context), MAX_DESCRIPTION_CHARS),
            labels=merge_extra_labels(
                health.labels, _labels(essentials, context, data, resource_id)
            )
            if health
            else _labels(essentials, context, data, resource_id),
            links=optional_link(essentials.get("investigationLink"), "Azure portal")
            + _search_link(context),
            starts_at=parse_time(
                essentials.get("firedDateTime"), field=at(ESSENTIALS, "firedDateTime")
            ),
            ends_at=parse_time(
                essentials.get("resolvedDateTime"), field=at(ESSENTIALS, "resolvedDateTime")
            ),
        )
    ]


class _Health(NamedTuple):
    key: str
    kind: EventKind
    labels: dict[str, str]


def _health(
    essentials: dict[str, Any], context: dict[str, Any], resource_id: str
) -> _Health | None:
    """Service Health and Resource Health alerts: activity log alerts, which Azure fires anew
    (a new ``alertId``) at every update and never "resolves"; the knowledge base keys them by
    the event and reads recovery from the event itself."""
    service = _text(essentials, "monitoringService")
    properties = context.get("properties") if isinstance(context.get("properties"), dict) else {}
    read = {key: to_text(value) for key, value in properties.items() if value is not None}
    if service == "ServiceHealth" and read.get("trackingId"):
        subscription = _resource_parts(resource_id).get("subscription_id", resource_id)
        stage = read.get("stage", "")
        labels = {
            "tracking_id": read["trackingId"],
            "stage": stage,
            "incident_type": read.get("incidentType", ""),
            "impacted_services": read.get("service", ""),
            "impacted_regions": read.get("region", ""),
        }
        return _Health(
            key=f"azure:servicehealth:{subscription}:{read['trackingId']}",
            kind=EventKind.RESOLVED if stage.lower() in _HEALTH_DONE else EventKind.FIRING,
            labels={k: v for k, v in labels.items() if v},
        )
    if service == "Resource Health" and resource_id:
        status = read.get("currentHealthStatus", "")
        resolved = status == "Available" or to_text(context.get("status") or "") == "Resolved"
        labels = {
            "current_health_status": status,
            "previous_health_status": read.get("previousHealthStatus", ""),
            "health_event_type": read.get("type", ""),
            "health_event_cause": read.get("cause", ""),
        }
        return _Health(
            key=f"azure:resourcehealth:{resource_id.lower()}",
            kind=EventKind.RESOLVED if resolved else EventKind.FIRING,
            labels={k: v for k, v in labels.items() if v},
        )
    return None


def _text(essentials: dict[str, Any], key: str, *, required: bool = False) -> str:
    return get_str(essentials, key, field=at(ESSENTIALS, key), required=required).strip()


def _target(essentials: dict[str, Any]) -> str:
    targets = get_list(essentials, "alertTargetIDs", field=at(ESSENTIALS, "alertTargetIDs"))
    return to_text(targets[0]).strip() if targets and targets[0] else ""


def _resource_parts(resource_id: str) -> dict[str, str]:
    # /subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/<name>
    segments = [segment for segment in resource_id.split("/") if segment]
    parts = {}
    for index, segment in enumerate(segments[:-1]):
        if segment.lower() == "subscriptions":
            parts["subscription_id"] = segments[index + 1]
        elif segment.lower() == "resourcegroups":
            parts["resource_group"] = segments[index + 1]
    if len(segments) > 2 and "providers" in (s.lower() for s in segments):
        parts["resource_name"] = segments[-1]
    return parts


def _title(essentials: dict[str, Any], resource_id: str) -> str:
    rule = _text(essentials, "alertRule") or "Azure Monitor alert"
    items = get_list(essentials, "configurationItems", field=at(ESSENTIALS, "configurationItems"))
    name = _resource_parts(resource_id).get("resource_name") or (
        to_text(items[0]) if items and items[0] else ""
    )
    return f"{rule} on {name}" if name else rule


def _conditions(context: dict[str, Any]) -> list[dict[str, Any]]:
    condition = context.get("condition")
    all_of = condition.get("allOf") if isinstance(condition, dict) else None
    return [item for item in all_of or [] if isinstance(item, dict)]


def _search_link(context: dict[str, Any]) -> tuple[Link, ...]:
    # A log search alert links its query's results from its condition.
    for condition in _conditions(context):
        link = optional_link(condition.get("linkToSearchResultsUI"), "Search results")
        if link:
            return link
    return ()


def _description(essentials: dict[str, Any], context: dict[str, Any]) -> str:
    lines = [_text(essentials, "description")]
    for condition in _conditions(context):
        metric = to_text(condition.get("metricName") or condition.get("searchQuery") or "")
        if metric:
            operator = to_text(condition.get("operator") or "")
            threshold = to_text(condition.get("threshold") or "")
            value = condition.get("metricValue")
            lines.append(
                " ".join(p for p in (metric, operator, threshold) if p)
                + (f" ({to_text(value)})" if value is not None else "")
            )
    return "\n".join(line for line in lines if line)


def _labels(
    essentials: dict[str, Any], context: dict[str, Any], data: dict[str, Any], resource_id: str
) -> dict[str, str]:
    own = {
        "alert_rule": _text(essentials, "alertRule"),
        "signal_type": _text(essentials, "signalType"),
        "monitoring_service": _text(essentials, "monitoringService"),
        "monitor_condition": _text(essentials, "monitorCondition"),
        "resource_id": resource_id,
        **_resource_parts(resource_id),
    }
    for condition in _conditions(context):
        if condition.get("metricName"):
            own.setdefault("metric_name", to_text(condition["metricName"]))
        if condition.get("searchQuery"):
            own.setdefault("search_query", to_text(condition["searchQuery"]))
        for dimension in condition.get("dimensions") or []:
            if isinstance(dimension, dict) and dimension.get("name"):
                own.setdefault(to_text(dimension["name"]), to_text(dimension.get("value") or ""))
    labels = clean_labels({k: v for k, v in own.items() if v}, field="labels", lenient=True)
    custom = clean_labels(data.get("customProperties"), field="data.customProperties", lenient=True)
    return merge_extra_labels(labels, custom)
