"""The JSON body of a webhook event: what receivers parse (README: Outbound webhooks, and the
``WebhookEventBody`` component of the API schema).

Field names are the knowledge base's (Flashduty's incident and alert webhooks: ``event_id``,
``event_type``, ``event_time`` in milliseconds, ``incident_id``, ``incident_severity``,
``progress``, ``start_time``, ``alert_key``, ``event_cnt``, times in Unix seconds with 0 for
none, ...); ``sequence``, ``number``, ``claimer`` and ``alerts`` are the console's own. Values
are the console's (severities ``critical`` / ``warning`` / ``info``, progress ``triggered`` /
``acknowledged`` / ``closed``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from oncall.links import incident_url
from oncall.models import Alert, Incident

# An incident event lists the incident's most recent alerts, up to this many (``alert_cnt``
# counts them all): an incident of a thousand alerts must not make every event a megabyte.
MAX_ALERTS = 50


def seconds(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment else 0


def milliseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "person_id": user.pk,
        "person_name": user.get_full_name() or user.get_username(),
        "email": user.email,
    }


def incident_body(incident: Incident, alerts: list[Alert] | None) -> dict[str, Any]:
    """The incident as an event shows it; ``alerts`` None leaves the list out (alert events)."""
    body: dict[str, Any] = {
        "incident_id": str(incident.public_id),
        "number": incident.number,
        "title": incident.title,
        "incident_severity": incident.severity,
        "progress": incident.status,
        "channel_id": str(incident.channel.public_id),
        "channel_name": incident.channel.name,
        "detail_url": incident_url(incident),
        "created_at": seconds(incident.created_at),
        "updated_at": seconds(incident.updated_at),
        "start_time": seconds(incident.created_at),
        "last_time": seconds(incident.last_alert_at),
        "ack_time": seconds(incident.first_claimed_at),
        "close_time": seconds(incident.closed_at),
        "snoozed_before": seconds(incident.snoozed_until),
        "claimer": person(incident.claimed_by),
        "acknowledged_by_source": incident.acknowledged_by_source,
        "closer": person(incident.closed_by),
        "creator": person(incident.created_by),
        "assignee": person(incident.assigned_to),
        "merged_into": str(incident.merged_into.public_id) if incident.merged_into_id else None,
        "alert_cnt": incident.alert_count,
    }
    if alerts is not None:
        body["labels"] = alerts[-1].labels if alerts else {}
        body["alerts"] = [alert_body(alert) for alert in alerts]
    return body


def alert_body(alert: Alert) -> dict[str, Any]:
    source = alert.source
    return {
        "alert_id": str(alert.public_id),
        "alert_key": alert.alert_key,
        "title": alert.title,
        "description": alert.description,
        "alert_severity": alert.severity,
        "alert_status": alert.status,
        "labels": alert.labels,
        "start_time": seconds(alert.first_seen),
        "last_time": seconds(alert.last_seen),
        "end_time": seconds(alert.resolved_at),
        "event_cnt": alert.event_count,
        "data_source_id": str(source.public_id) if source else None,
        "data_source_name": source.name if source else "",
        "data_source_type": source.kind if source else "",
    }


def event_body(
    *,
    event_id: str,
    event_type: str,
    at: datetime,
    sequence: int,
    incident: Incident,
    alerts: list[Alert] | None,
    alert: Alert | None = None,
    actor: Any = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event's body: ``alert`` for alert events (and the incident without its alert list),
    the incident with its latest ``alerts`` for incident events."""
    body: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": milliseconds(at),
        "sequence": sequence,
        "person": person(actor),
        "incident": incident_body(incident, alerts),
    }
    if alert is not None:
        body["alert"] = alert_body(alert)
    if detail:
        body["detail"] = detail
    return body


def test_body(event_id: str, at: datetime, endpoint_name: str) -> dict[str, Any]:
    """What "send a test event" sends: no incident, and a message saying what it is."""
    return {
        "event_id": event_id,
        "event_type": "test",
        "event_time": milliseconds(at),
        "sequence": 0,
        "person": None,
        "message": f"A test event for the webhook endpoint “{endpoint_name}”.",
    }


def encode(body: dict[str, Any]) -> str:
    """The body's JSON text, sent as it is on every attempt (and signed per attempt)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
