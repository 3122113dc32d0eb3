"""Baidu AI Cloud Cloud Monitor (BCM) alarm callbacks: the "callback URL" of an alarm policy.
BCM posts one JSON object per alarm state change (triggered, recovered).

Field mapping
    * kind: ``type`` ``ALARM`` and ``INSUFFICIENT_DATA`` fire, ``OK`` resolves; anything else
      is a ``PayloadError``.
    * alert_key: :func:`stable_key` of ``serviceName``, ``policyName`` (required), ``region``
      and ``resource.identifiers`` (the instance), so that each instance of a policy is an
      alert and its recovery finds it.
    * severity: ``level`` through the knowledge base's table in BCM's API words (``CRITICAL``
      "severe" and ``MAJOR`` "important" critical, ``WARNING`` warning, ``NOTICE`` info); the
      console's words (Severe, Important, Warning, Notice) are read as the same levels.
    * title: ``policyName``, then the instance (its name, else its first identifier).
    * description: ``content``.
    * labels: the ``resource.identifiers``, then ``serviceName``, ``region``,
      ``resource.type``, ``metric``, ``policyName`` and the scalar ``resource.properties``.
    * time: ``startTime`` (ISO 8601) starts it, ``endTime`` ends a recovered one.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_labels,
    first_nonblank,
    get_str,
    merge_extra_labels,
    optional_object,
    parse_time,
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
    ("CRITICAL", Severity.CRITICAL),
    ("MAJOR", Severity.CRITICAL),
    ("WARNING", Severity.WARNING),
    ("NOTICE", Severity.INFO),
)
# The console's (and the knowledge base's) names of the same levels.
CONSOLE_LEVELS = {"severe": "CRITICAL", "important": "MAJOR", "notice": "NOTICE"}
_TYPES = {
    "ALARM": EventKind.FIRING,
    "INSUFFICIENT_DATA": EventKind.FIRING,
    "OK": EventKind.RESOLVED,
}


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a callback (see the module docstring)."""
    body = require_object(payload, None)
    kind = _kind(body)
    policy = get_str(body, "policyName", field="policyName", required=True).strip()
    service = get_str(body, "serviceName", field="serviceName").strip()
    region = get_str(body, "region", field="region").strip()
    resource = optional_object(body, "resource", field="resource")
    identifiers = clean_labels(
        resource.get("identifiers"), field="resource.identifiers", lenient=True
    )
    raw_severity = get_str(body, "level", field="level").strip()
    level = CONSOLE_LEVELS.get(raw_severity.lower(), raw_severity)
    return [
        AlertEvent(
            alert_key=stable_key("baidu_bcm", service, policy, region, identifiers),
            kind=kind,
            title=truncate(_title(policy, resource, identifiers), MAX_TITLE_CHARS),
            severity=severity_from_table(level, SEVERITY_TABLE),
            raw_severity=raw_severity,
            description=truncate(
                get_str(body, "content", field="content").strip(), MAX_DESCRIPTION_CHARS
            ),
            labels=_labels(body, resource, identifiers, service=service, region=region),
            starts_at=parse_time(body.get("startTime"), field="startTime"),
            ends_at=(
                parse_time(body.get("endTime"), field="endTime")
                if kind == EventKind.RESOLVED
                else None
            ),
        )
    ]


def recognises(payload: Any) -> bool:
    """BCM's callback: ``policyName`` and ``serviceName`` with a ``type`` or ``level``."""
    return (
        isinstance(payload, dict)
        and "policyName" in payload
        and "serviceName" in payload
        and ("type" in payload or "level" in payload)
    )


def _kind(body: dict[str, Any]) -> EventKind:
    state = get_str(body, "type", field="type", required=True)
    try:
        return _TYPES[state.strip().upper()]
    except KeyError:
        raise PayloadError(
            f"type must be ALARM, OK or INSUFFICIENT_DATA, not {truncate(state, 40)!r}",
            field="type",
        ) from None


def _title(policy: str, resource: dict[str, Any], identifiers: dict[str, str]) -> str:
    properties = resource.get("properties")
    name = properties.get("instanceName", "") if isinstance(properties, dict) else ""
    instance = first_nonblank(to_text(name or ""), *identifiers.values()).strip()
    return f"{policy} - {instance}" if instance else policy


def _labels(
    body: dict[str, Any],
    resource: dict[str, Any],
    identifiers: dict[str, str],
    *,
    service: str,
    region: str,
) -> dict[str, str]:
    extra = {
        "serviceName": service,
        "region": region,
        "resourceType": to_text(resource.get("type") or ""),
        "metric": to_text(body.get("metric") or ""),
        "policyName": to_text(body.get("policyName") or ""),
    }
    properties = resource.get("properties")
    if isinstance(properties, dict):
        extra |= {
            key: to_text(value)
            for key, value in properties.items()
            if isinstance(value, str | int | float | bool) and key not in extra
        }
    return merge_extra_labels(identifiers, {k: v.strip() for k, v in extra.items() if v.strip()})
