"""AppDynamics policy actions sent through the HTTP request template that the source's setup
guide ships (:data:`PAYLOAD_TEMPLATE`, the knowledge base's field names). AppDynamics fills each
``${...}`` variable with text, so every value arrives as a string.

* ``alert_key``: ``appdynamics:incident:<incident_id>`` (``${latestEvent.incident.id}``: the
  health-rule violation, shared by its open, continue, upgrade and close events); for events
  without an incident (an application crash, a deployment) ``appdynamics:event:<details.
  event_id>``, one alert each. One of the two is required.
* ``kind``: ``details.event_type`` naming a close or a cancel (``HEALTH_RULE_CLOSE_CRITICAL``,
  ``POLICY_CANCELED_WARNING``, ...: AppDynamics' ``_CLOSE_`` / ``_CANCELED_`` event types)
  resolves; every other event type fires.
* ``severity``: ``details.severity`` through :data:`SEVERITY_TABLE` (ERROR critical, WARN
  warning, INFO info); others are warning.
* ``title``: ``details.event_name`` (the event's display name), else ``policy_name``;
  ``description``: ``message``.
* ``labels``: ``policy_name``, ``application_name``, ``health_rule_name``, ``node_name``,
  ``event_type``, ``event_time``, then ``custom_variables`` (the user's own, if any).
* ``links``: ``link`` (``${latestEvent.deepLink}``, "AppDynamics").
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    at,
    bounded_alert_key,
    clean_labels,
    get_str,
    merge_extra_labels,
    optional_link,
    optional_object,
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
    ("ERROR", Severity.CRITICAL),
    ("WARN", Severity.WARNING),
    ("INFO", Severity.INFO),
)
_SEVERITIES = dict(SEVERITY_TABLE)
_RESOLVING_MARKERS = ("_CLOSE_", "_CANCELED_")
_DETAIL_LABELS = ("health_rule_name", "node_name", "event_type", "event_time")

PAYLOAD_TEMPLATE = """{
  "policy_name": "${policy.name}",
  "message": "${latestEvent.eventMessage}",
  "application_name": "${latestEvent.application.name}",
  "link": "${latestEvent.deepLink}",
  "incident_id": "${latestEvent.incident.id}",
  "details": {
    "event_id": "${latestEvent.id}",
    "event_name": "${latestEvent.displayName}",
    "event_time": "${latestEvent.eventTime}",
    "event_type": "${latestEvent.eventType}",
    "health_rule_name": "${latestEvent.healthRule.name}",
    "node_name": "${latestEvent.node.name}",
    "severity": "${latestEvent.severity}"
  }
}"""


def recognises(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and "policy_name" in payload
        and isinstance(payload.get("details"), dict)
        and "event_type" in payload["details"]
    )


def parse(payload: Any) -> list[AlertEvent]:
    body = require_object(payload, None)
    details = optional_object(body, "details", field="details")
    event_type = _detail(details, "event_type").upper()
    raw_severity = _detail(details, "severity")
    policy = get_str(body, "policy_name", field="policy_name").strip()
    title = _detail(details, "event_name") or policy or "AppDynamics event"
    resolving = any(marker in event_type for marker in _RESOLVING_MARKERS)
    return [
        AlertEvent(
            alert_key=bounded_alert_key(_key(body, details)),
            kind=EventKind.RESOLVED if resolving else EventKind.FIRING,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=_SEVERITIES.get(raw_severity.upper(), Severity.WARNING),
            raw_severity=raw_severity,
            description=truncate(
                get_str(body, "message", field="message").strip(), MAX_DESCRIPTION_CHARS
            ),
            labels=_labels(body, details, policy),
            links=optional_link(get_str(body, "link", field="link"), "AppDynamics"),
        )
    ]


def _detail(details: dict[str, Any], key: str) -> str:
    return get_str(details, key, field=at("details", key)).strip()


def _key(body: dict[str, Any], details: dict[str, Any]) -> str:
    incident = get_str(body, "incident_id", field="incident_id").strip()
    if incident:
        return f"appdynamics:incident:{incident}"
    event_id = _detail(details, "event_id")
    if event_id:
        return f"appdynamics:event:{event_id}"
    raise PayloadError(
        "incident_id (or details.event_id) is required to identify the alert",
        field="incident_id",
    )


def _labels(body: dict[str, Any], details: dict[str, Any], policy: str) -> dict[str, str]:
    values = {
        "policy_name": policy,
        "application_name": get_str(body, "application_name", field="application_name").strip(),
        **{key: _detail(details, key) for key in _DETAIL_LABELS},
    }
    labels = clean_labels({k: v for k, v in values.items() if v}, field="labels", lenient=True)
    custom = optional_object(body, "custom_variables", field="custom_variables")
    return merge_extra_labels(labels, {key: to_text(value) for key, value in custom.items()})
