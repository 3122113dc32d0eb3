"""Sentry's integration-platform webhooks, sent by an *internal integration* that is an alert
rule action and subscribes to *issue* webhooks. The body is ``{"action", "actor", "data",
"installation"}``; the ``Sentry-Hook-Resource`` header says which resource it is, and the shape
of ``data`` says the same (read first, so that a body re-posted without the header still
parses).

Issue alert (``event_alert``; ``data.event`` and ``data.triggered_rule``)
    ``alert_key`` ``sentry:issue:<event.issue_id>`` (required), fires as a warning (the
    knowledge base: "triggered" is a warning); title the event's ``title``; description the
    ``culprit`` and the rule that fired; labels ``project``, ``level``, ``rule``,
    ``environment``, ``release`` and the event's ``tags``; link ``web_url``.
Metric alert (``metric_alert``; ``data.metric_alert``)
    ``alert_key`` ``sentry:metric:<metric_alert.id>`` (required: the incident); ``action``
    ``critical`` fires critical, ``warning`` fires warning, ``resolved`` resolves; title
    ``description_title``; description ``description_text``; labels ``alert_rule``,
    ``aggregate``, ``query``, ``projects``; link ``web_url``.
Issue (``issue``; ``data.issue``)
    ``resolved`` resolves ``sentry:issue:<issue.id>`` (the alert an issue alert opened); every
    other action (created, assigned, archived, unresolved) is understood and gives no event, as
    do the other resources (installation, error, comment). A body that is none of these is a
    ``PayloadError`` naming ``data``.

An unknown ``action`` of a known resource is a ``PayloadError``.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    bounded_alert_key,
    clean_labels,
    get_list,
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

# The knowledge base's table: Sentry's action -> severity ("resolved" resolves).
SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("critical", Severity.CRITICAL),
    ("warning", Severity.WARNING),
    ("triggered", Severity.WARNING),
)
_SEVERITIES = dict(SEVERITY_TABLE)
EVENT_ALERT, METRIC_ALERT, ISSUE = "event_alert", "metric_alert", "issue"
# The integration's other webhooks: understood, nothing to page about.
IGNORED_RESOURCES = {"installation", "error", "comment"}


def resource_of(payload: Any, header: str = "") -> str:
    """Which Sentry resource a body is: by its ``data``, else by the header."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, dict):
        if "triggered_rule" in data or "event" in data:
            return EVENT_ALERT
        if "metric_alert" in data:
            return METRIC_ALERT
        if "issue" in data:
            return ISSUE
    return header.strip().lower()


def recognises(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and "action" in payload
        and resource_of(payload) in (EVENT_ALERT, METRIC_ALERT, ISSUE)
    )


def parse(payload: Any, resource: str = "") -> list[AlertEvent]:
    body = require_object(payload, None)
    action = get_str(body, "action", field="action", required=True).strip().lower()
    data = require_object(body.get("data"), "data")
    kind = resource_of(body, resource)
    if kind == EVENT_ALERT:
        return [_issue_alert(data, action)]
    if kind == METRIC_ALERT:
        return [_metric_alert(data, action)]
    if kind == ISSUE:
        return _issue(data, action)
    if kind in IGNORED_RESOURCES:
        return []  # nothing to page about
    raise PayloadError(
        "data holds no event (an issue alert), metric_alert or issue, and the "
        "Sentry-Hook-Resource header names no other Sentry resource",
        field="data",
    )


def _check_action(action: str, allowed: tuple[str, ...]) -> None:
    if action not in allowed:
        raise PayloadError(
            f"action must be one of {', '.join(allowed)}, not {truncate(action, 40)!r}",
            field="action",
        )


def _issue_alert(data: dict[str, Any], action: str) -> AlertEvent:
    _check_action(action, ("triggered",))
    event = require_object(data.get("event"), "data.event")
    issue_id = _required_id(event, "issue_id", "data.event.issue_id")
    rule = get_str(data, "triggered_rule", field="data.triggered_rule").strip()
    title = get_str(event, "title", field="data.event.title").strip() or "Sentry issue"
    culprit = get_str(event, "culprit", field="data.event.culprit").strip()
    own = {
        "project": to_text(event.get("project") or ""),
        "level": to_text(event.get("level") or ""),
        "rule": rule,
        "environment": to_text(event.get("environment") or ""),
        "release": to_text(event.get("release") or ""),
    }
    labels = clean_labels({k: v for k, v in own.items() if v}, field="labels", lenient=True)
    return AlertEvent(
        alert_key=bounded_alert_key(f"sentry:issue:{issue_id}"),
        kind=EventKind.FIRING,
        title=truncate(title, MAX_TITLE_CHARS),
        severity=_SEVERITIES[action],
        raw_severity=action,
        description=truncate(
            "\n".join(t for t in (culprit, f"Alert rule: {rule}" if rule else "") if t),
            MAX_DESCRIPTION_CHARS,
        ),
        labels=merge_extra_labels(labels, _tags(event)),
        links=optional_link(event.get("web_url"), "Sentry issue"),
    )


def _tags(event: dict[str, Any]) -> dict[str, str]:
    # Sentry sends tags as [[key, value], ...].
    tags = {}
    for item in get_list(event, "tags", field="data.event.tags"):
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            tags[item[0]] = to_text(item[1])
    return tags


def _metric_alert(data: dict[str, Any], action: str) -> AlertEvent:
    _check_action(action, ("critical", "warning", "resolved"))
    incident = require_object(data.get("metric_alert"), "data.metric_alert")
    incident_id = _required_id(incident, "id", "data.metric_alert.id")
    rule = optional_object(incident, "alert_rule", field="data.metric_alert.alert_rule")
    title = (
        get_str(data, "description_title", field="data.description_title").strip()
        or to_text(incident.get("title") or "")
        or "Sentry metric alert"
    )
    own = {
        "alert_rule": to_text(rule.get("name") or ""),
        "aggregate": to_text(rule.get("aggregate") or ""),
        "query": to_text(rule.get("query") or ""),
        "projects": ", ".join(to_text(p) for p in rule.get("projects") or []),
    }
    resolved = action == "resolved"
    return AlertEvent(
        alert_key=bounded_alert_key(f"sentry:metric:{incident_id}"),
        kind=EventKind.RESOLVED if resolved else EventKind.FIRING,
        title=truncate(title, MAX_TITLE_CHARS),
        severity=Severity.WARNING if resolved else _SEVERITIES[action],
        raw_severity=action,
        description=truncate(
            get_str(data, "description_text", field="data.description_text"),
            MAX_DESCRIPTION_CHARS,
        ),
        labels=clean_labels({k: v for k, v in own.items() if v}, field="labels", lenient=True),
        links=optional_link(data.get("web_url"), "Sentry alert"),
    )


def _issue(data: dict[str, Any], action: str) -> list[AlertEvent]:
    if action != "resolved":
        return []  # created, assigned, archived, unresolved: the alert rule pages, not these
    issue = require_object(data.get("issue"), "data.issue")
    issue_id = _required_id(issue, "id", "data.issue.id")
    title = get_str(issue, "title", field="data.issue.title").strip() or "Sentry issue"
    return [
        AlertEvent(
            alert_key=bounded_alert_key(f"sentry:issue:{issue_id}"),
            kind=EventKind.RESOLVED,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=Severity.WARNING,
            raw_severity="resolved",
            links=optional_link(issue.get("web_url") or issue.get("permalink"), "Sentry issue"),
        )
    ]


def _required_id(obj: dict[str, Any], key: str, field: str) -> str:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise PayloadError(f"{field} is required to identify the alert", field=field)
    return str(value).strip()
