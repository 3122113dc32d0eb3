"""Volcengine Cloud Monitor event alarms (``Type`` ``Event``), posted to a general callback
URL chosen in an Event Center rule's delivery channels.

One callback is one cloud-product event, matched by one or more event rules:

* ``alert_key``: ``volc_event:`` and a digest of ``Source``, ``EventType`` and the resource
  (``Details.subject``, else ``Details.volcresourcename``, else the ``Region``), so repeats of
  one event type on one resource merge (each delivery has a new ``Id``).
* ``kind``: firing. Volcengine sends no recovery for an event; the alert is closed by hand or
  by the channel's auto-close.
* ``severity``: the most urgent ``Level`` of the matching ``Rules`` (``critical`` critical,
  ``warning`` warning, ``notice`` info, case-insensitive; the knowledge base's table); without
  rules or with an unknown level, warning.
* ``title``: ``Description`` (or ``DescriptionCN``), else ``EventType``, then ``on <resource>``.
* ``description``: the matching rules' names, then ``Details.data``'s entries, one per line.
* ``labels``: ``Source``, ``EventType``, ``Region``, ``ProjectName``, ``AccountId``, the
  resource, and the rule ids (comma-joined) in free slots.
* ``starts_at``: ``HappenedAt`` (Unix seconds).

``Details`` may arrive as an object or as a JSON string (the documentation says both).
"""

from __future__ import annotations

import json
from typing import Any

from integrations.sources.common import (
    at,
    first_nonblank,
    get_list,
    get_str,
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

LEVELS = {"critical": Severity.CRITICAL, "warning": Severity.WARNING, "notice": Severity.INFO}


def recognises(payload: Any) -> bool:
    """An event-alarm callback: ``Type`` ``Event`` with an ``EventType``."""
    return isinstance(payload, dict) and payload.get("Type") == "Event" and "EventType" in payload


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one event-alarm callback (see the module docstring)."""
    body = require_object(payload, None)
    source = get_str(body, "Source", field="Source", required=True).strip()
    event_type = get_str(body, "EventType", field="EventType", required=True).strip()
    details = _details(body.get("Details"))
    resource = _resource(body, details)
    rules = [
        require_object(item, at("Rules", index))
        for index, item in enumerate(get_list(body, "Rules", field="Rules"))
    ]
    severity, raw_severity = _most_urgent_level(rules)
    what = first_nonblank(
        get_str(body, "Description", field="Description"),
        get_str(body, "DescriptionCN", field="DescriptionCN"),
        event_type,
    ).strip()
    return [
        AlertEvent(
            alert_key=f"volc_event:{stable_key(source, event_type, resource)}",
            kind=EventKind.FIRING,
            title=truncate(f"{what} on {resource}" if resource else what, MAX_TITLE_CHARS),
            severity=severity,
            raw_severity=raw_severity,
            description=truncate(_description(rules, details), MAX_DESCRIPTION_CHARS),
            labels=_labels(body, source, event_type, resource, rules),
            starts_at=parse_epoch_time(body.get("HappenedAt"), field="HappenedAt"),
        )
    ]


def _most_urgent_level(rules: list[dict[str, Any]]) -> tuple[Severity, str]:
    """The most urgent severity among the rules' levels, with the level that gave it."""
    levels = [
        (severity_from_table(level, LEVELS), level)
        for index, rule in enumerate(rules)
        if (level := get_str(rule, "Level", field=at(at("Rules", index), "Level")).strip())
    ]
    return min(levels, key=lambda pair: pair[0].rank, default=(Severity.WARNING, ""))


def _details(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise PayloadError("Details is a string but not JSON", field="Details") from None
    if not isinstance(raw, dict):
        raise PayloadError(f"Details must be an object, not {json_type(raw)}", field="Details")
    return raw


def _resource(body: dict[str, Any], details: dict[str, Any]) -> str:
    for value in (details.get("subject"), details.get("volcresourcename"), body.get("Region")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _description(rules: list[dict[str, Any]], details: dict[str, Any]) -> str:
    names = [to_text(rule["RuleName"]) for rule in rules if rule.get("RuleName")]
    lines = [f"Rules: {', '.join(names)}"] if names else []
    data = details.get("data")
    if isinstance(data, dict):
        lines.extend(f"{key}: {to_text(value)}" for key, value in data.items())
    return "\n".join(lines)


def _labels(
    body: dict[str, Any], source: str, event_type: str, resource: str, rules: list[dict[str, Any]]
) -> dict[str, str]:
    labels = {"Source": source, "EventType": event_type}
    extra = {
        "Region": to_text(body.get("Region") or ""),
        "ProjectName": to_text(body.get("ProjectName") or ""),
        "AccountId": to_text(body.get("AccountId") or ""),
        "resource": resource,
        "RuleIds": ",".join(to_text(rule["RuleId"]) for rule in rules if rule.get("RuleId")),
    }
    return merge_extra_labels(labels, {key: value for key, value in extra.items() if value})
