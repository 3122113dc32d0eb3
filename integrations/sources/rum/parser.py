"""Real user monitoring Issue alerts, in the shape this console defines for them.

Flashduty RUM turns error events into *Issues* and alerts on them: a new Issue, an update of an
open Issue after 24 hours, a reopened Issue (a regression), a priority upgrade, and a closing
event when the Issue is closed. Flashduty delivers those inside its own product, so there is no
published webhook body: this kind reads one JSON object per Issue event with the fields below
(for a RUM tool or relay that can post them).

* ``alert_key``: ``issue.id``. Required.
* ``kind``: ``event`` ``issue.closed`` (or ``issue.status`` ``closed``) resolves; ``issue.new``,
  ``issue.updated``, ``issue.reopened``, ``issue.priority_upgraded`` fire; any other event is a
  ``PayloadError``.
* ``severity``: ``issue.priority`` by the knowledge base's grading (P0 critical, P1 warning, P2
  info); without one, its default rules: a crash is critical, an Issue first seen more than 7
  days before it was last seen is info, anything else warning.
* ``title``: ``issue.title``, else ``issue.message``, else "RUM issue". ``description``:
  ``issue.message``, then how many errors and sessions it has.
* ``labels``: ``application`` (``application.name``), ``env``, ``service``, ``version``,
  ``issue_type`` and ``priority``, those that are set.
* ``links``: ``issue.url`` ("Issue"). ``starts_at``: ``issue.first_seen``; ``ends_at``: ``time``
  of a closing event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from integrations.sources.common import (
    clean_labels,
    get_str,
    json_type,
    optional_link,
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
)

SEVERITY_TABLE = (
    ("P0", Severity.CRITICAL),
    ("P1", Severity.WARNING),
    ("P2", Severity.INFO),
)
_EVENTS = {
    "issue.new": EventKind.FIRING,
    "issue.updated": EventKind.FIRING,
    "issue.reopened": EventKind.FIRING,
    "issue.priority_upgraded": EventKind.FIRING,
    "issue.closed": EventKind.RESOLVED,
}
_OLD_ISSUE = timedelta(days=7)


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of an Issue alert (see the module docstring)."""
    body = require_object(payload, None)
    issue = require_object(body.get("issue"), "issue")
    issue_id = _text(issue, "id", field="issue.id", required=True)
    kind = _kind(body, issue)
    priority = _text(issue, "priority", field="issue.priority").upper()
    message = get_str(issue, "message", field="issue.message").strip()
    title = get_str(issue, "title", field="issue.title").strip() or message or "RUM issue"
    first_seen = parse_time(issue.get("first_seen"), field="issue.first_seen")
    return [
        AlertEvent(
            alert_key=issue_id,
            kind=kind,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=_severity(issue, priority, first_seen),
            raw_severity=priority,
            description=truncate(_description(issue, message), MAX_DESCRIPTION_CHARS),
            labels=_labels(body, issue, priority),
            links=optional_link(issue.get("url"), "Issue"),
            starts_at=first_seen,
            ends_at=(
                parse_time(body.get("time"), field="time") if kind == EventKind.RESOLVED else None
            ),
        )
    ]


def recognises(payload: Any) -> bool:
    """An Issue event: ``event`` starting with ``issue.`` and an ``issue`` object."""
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("issue"), dict)
        and str(payload.get("event", "")).startswith("issue.")
    )


def _text(obj: dict[str, Any], key: str, *, field: str, required: bool = False) -> str:
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return get_str(obj, key, field=field, required=required).strip()


def _kind(body: dict[str, Any], issue: dict[str, Any]) -> EventKind:
    event = get_str(body, "event", field="event", required=True).strip().lower()
    if event not in _EVENTS:
        raise PayloadError(
            f"event must be one of {', '.join(_EVENTS)}, not {truncate(event, 40)!r}",
            field="event",
        )
    if get_str(issue, "status", field="issue.status").strip().lower() == "closed":
        return EventKind.RESOLVED
    return _EVENTS[event]


def _severity(issue: dict[str, Any], priority: str, first_seen: Any) -> Severity:
    if priority:
        return severity_from_table(priority, SEVERITY_TABLE)
    if get_str(issue, "type", field="issue.type").strip().lower() == "crash":
        return Severity.CRITICAL
    last_seen = parse_time(issue.get("last_seen"), field="issue.last_seen")
    if first_seen and last_seen and last_seen - first_seen > _OLD_ISSUE:
        return Severity.INFO
    return Severity.WARNING


def _description(issue: dict[str, Any], message: str) -> str:
    counts = []
    for key, noun in (("count", "error(s)"), ("sessions", "session(s)")):
        value = issue.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            field = f"issue.{key}"
            raise PayloadError(f"{field} must be a number, not {json_type(value)}", field=field)
        counts.append(f"{value} {noun}")
    return "\n".join(part for part in (message, ", ".join(counts)) if part)


def _labels(body: dict[str, Any], issue: dict[str, Any], priority: str) -> dict[str, str]:
    application = optional_object(body, "application", field="application")
    labels = {
        "application": get_str(application, "name", field="application.name"),
        "env": get_str(body, "env", field="env"),
        "service": get_str(body, "service", field="service"),
        "version": to_text(body["version"]) if body.get("version") is not None else "",
        "issue_type": get_str(issue, "type", field="issue.type"),
        "priority": priority,
    }
    kept = {key: value.strip() for key, value in labels.items() if value.strip()}
    return clean_labels(kept, field="labels", lenient=True)
