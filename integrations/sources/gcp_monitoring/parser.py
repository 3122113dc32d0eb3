"""Google Cloud Monitoring alerting policies sent by a *Webhook* notification channel (schema
``version`` "1.2"): one ``incident`` object per request, with ``incident_id``, ``state``
(``open`` / ``closed``), ``severity`` (the policy's: Critical, Error, Warning or "No
severity"), ``summary``, ``url``, ``policy_name``, ``condition_name``, ``started_at`` /
``ended_at`` (Unix seconds), ``resource`` (``type`` and ``labels``),
``resource_display_name``, ``metric`` (``type``, ``displayName``, ``labels``),
``observed_value``, ``threshold_value``, ``metadata`` (``system_labels``, ``user_labels``),
``policy_user_labels`` and ``documentation`` (``content``, ``subject``, ``links``).

* ``alert_key``: ``gcp:<incident_id>`` (required): the open and closed notifications of one
  incident carry the same id.
* ``kind``: ``state`` ``closed`` resolves, ``open`` fires (any case); others are a
  ``PayloadError``.
* ``severity``: through :data:`SEVERITY_TABLE` (Critical critical; Error and Warning warning;
  No severity, or none, info).
* ``title``: ``documentation.subject``, else ``policy_name`` with ``condition_name``, else the
  ``summary``; ``description``: ``summary``, then ``documentation.content``.
* ``labels``: ``policy_name``, ``check`` (the condition), ``resource_type``,
  ``resource_name`` (display name), ``metric_type``, ``observed_value``, ``threshold_value``,
  then the policy's user labels, the resource's, the metric's and the metadata labels, each
  never overwriting one already set.
* ``links``: ``url`` ("Incident"), then the documentation's links.
* ``starts_at`` / ``ends_at``: ``started_at`` / ``ended_at``.

``version`` "test" is what *Test connection* sends (:func:`is_test_connection`): answered
without storing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrations.sources.common import (
    at,
    bounded_alert_key,
    clean_labels,
    first_nonblank,
    get_list,
    get_str,
    json_type,
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
    Link,
    PayloadError,
    Severity,
)

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("Critical", Severity.CRITICAL),
    ("Error", Severity.WARNING),
    ("Warning", Severity.WARNING),
    ("No severity", Severity.INFO),
)
_SEVERITIES = {word.lower(): severity for word, severity in SEVERITY_TABLE}
_STATES = {"open": EventKind.FIRING, "closed": EventKind.RESOLVED}
INCIDENT = "incident"


def recognises(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get(INCIDENT), dict)
        and "incident_id" in payload[INCIDENT]
    )


def is_test_connection(payload: Any) -> bool:
    return recognises(payload) and payload.get("version") == "test"


def parse(payload: Any) -> list[AlertEvent]:
    body = require_object(payload, None)
    incident = require_object(body.get(INCIDENT), INCIDENT)
    incident_id = _text(incident, "incident_id", required=True)
    raw_state = _text(incident, "state", required=True)
    if raw_state.lower() not in _STATES:
        raise PayloadError(
            f"incident.state must be 'open' or 'closed', not {truncate(raw_state, 40)!r}",
            field=at(INCIDENT, "state"),
        )
    raw_severity = _text(incident, "severity")
    docs = optional_object(incident, "documentation", field=at(INCIDENT, "documentation"))
    summary = _text(incident, "summary")
    return [
        AlertEvent(
            alert_key=bounded_alert_key(f"gcp:{incident_id}"),
            kind=_STATES[raw_state.lower()],
            title=truncate(_title(incident, docs, summary), MAX_TITLE_CHARS),
            severity=_SEVERITIES.get(raw_severity.lower(), Severity.INFO),
            raw_severity=raw_severity,
            description=truncate(
                "\n\n".join(t for t in (summary, _doc_text(docs, "content")) if t),
                MAX_DESCRIPTION_CHARS,
            ),
            labels=_labels(incident),
            links=optional_link(_text(incident, "url"), "Incident") + _doc_links(docs),
            starts_at=_epoch(incident, "started_at"),
            ends_at=_epoch(incident, "ended_at"),
        )
    ]


def _text(incident: dict[str, Any], key: str, *, required: bool = False) -> str:
    return get_str(incident, key, field=at(INCIDENT, key), required=required).strip()


def _doc_text(docs: dict[str, Any], key: str) -> str:
    return get_str(docs, key, field=at(at(INCIDENT, "documentation"), key)).strip()


def _title(incident: dict[str, Any], docs: dict[str, Any], summary: str) -> str:
    policy, condition = _text(incident, "policy_name"), _text(incident, "condition_name")
    named = f"{policy}: {condition}" if policy and condition else policy or condition
    return first_nonblank(_doc_text(docs, "subject"), named, summary, "Google Cloud incident")


def _epoch(incident: dict[str, Any], key: str) -> datetime | None:
    value = incident.get(key)
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        field = at(INCIDENT, key)
        raise PayloadError(f"{field} must be Unix seconds, not {json_type(value)}", field=field)
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(
            f"incident.{key} is not a usable time", field=at(INCIDENT, key)
        ) from None


def _labels(incident: dict[str, Any]) -> dict[str, str]:
    resource = optional_object(incident, "resource", field=at(INCIDENT, "resource"))
    metric = optional_object(incident, "metric", field=at(INCIDENT, "metric"))
    own = {
        "policy_name": _text(incident, "policy_name"),
        "check": _text(incident, "condition_name"),
        "resource_type": to_text(resource.get("type") or ""),
        "resource_name": _text(incident, "resource_display_name"),
        "metric_type": to_text(metric.get("type") or ""),
        "observed_value": _text(incident, "observed_value"),
        "threshold_value": _text(incident, "threshold_value"),
    }
    labels = clean_labels({k: v for k, v in own.items() if v}, field="labels", lenient=True)
    metadata = optional_object(incident, "metadata", field=at(INCIDENT, "metadata"))
    for extra, where in (
        (incident.get("policy_user_labels"), at(INCIDENT, "policy_user_labels")),
        (resource.get("labels"), at(at(INCIDENT, "resource"), "labels")),
        (metric.get("labels"), at(at(INCIDENT, "metric"), "labels")),
        (metadata.get("user_labels"), at(at(INCIDENT, "metadata"), "user_labels")),
        (metadata.get("system_labels"), at(at(INCIDENT, "metadata"), "system_labels")),
    ):
        labels = merge_extra_labels(labels, clean_labels(extra, field=where, lenient=True))
    return labels


def _doc_links(docs: dict[str, Any]) -> tuple[Link, ...]:
    where = at(at(INCIDENT, "documentation"), "links")
    links: tuple[Link, ...] = ()
    for index, item in enumerate(get_list(docs, "links", field=where)):
        entry = require_object(item, at(where, index))
        text = get_str(entry, "displayName", field=at(at(where, index), "displayName"))
        links += optional_link(entry.get("url"), text.strip() or "Documentation")
    return links
