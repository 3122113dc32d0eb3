"""The body of a custom action that sends "the incident as JSON": the knowledge base's custom
action event (``event_type`` ``i_custom``, ``event_id``, ``event_time`` in milliseconds,
``event_detail``, ``person``, ``incident``), field names as the knowledge base's.

The incident is made from the notification templates' variables (``oncall.notify.context``),
which already hold its values as the knowledge base names them (severities ``Critical`` /
``Warning`` / ``Info``, progress ``Triggered`` / ``Processing`` / ``Closed``, Unix seconds with
0 for none), under snake_case names here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from oncall.models import Alert, CustomAction, Incident
from oncall.notify.context import incident_context
from oncall.timeline import person_fields

EVENT_TYPE = "i_custom"
# The incident's first alerts, as many as the notification templates see.
_ALERT_FIELDS = {
    "Title": "title",
    "Description": "description",
    "AlertSeverity": "alert_severity",
    "AlertStatus": "alert_status",
    "StartTime": "start_time",
    "LastTime": "last_time",
    "EndTime": "end_time",
    "Labels": "labels",
}


def body(
    action: CustomAction,
    incident: Incident,
    user: Any,
    message_id: str,
    at: datetime,
    alerts: list[Alert] | None = None,
) -> str:
    """The event as JSON text (the bytes that are signed and sent); ``alerts``: the
    incident's, when the caller has them (the sample incident's)."""
    event = {
        "event_id": message_id,
        "event_type": EVENT_TYPE,
        "event_time": int(at.timestamp() * 1000),
        "event_detail": {
            "integration_id": str(action.public_id),
            "integration_name": action.name,
        },
        "person": _person(user),
        "incident": incident_fields(incident, alerts),
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    fields = person_fields(user)
    return {"person_id": fields["id"], "person_name": fields["name"], "email": user.email or ""}


def incident_fields(incident: Incident, alerts: list[Alert] | None = None) -> dict[str, Any]:
    known = incident_context(incident, alerts)
    return {
        "incident_id": known["ID"],
        "num": known["Num"],
        "title": known["Title"],
        "description": known["Description"],
        "incident_severity": known["IncidentSeverity"],
        "incident_status": known["IncidentStatus"],
        "progress": known["Progress"],
        "created_at": known["StartTime"],
        "updated_at": int(incident.updated_at.timestamp()) if incident.updated_at else 0,
        "start_time": known["StartTime"],
        "last_time": known["LastTime"],
        "end_time": known["EndTime"],
        "ack_time": known["AckTime"],
        "close_time": known["CloseTime"],
        "snoozed_before": known["SnoozedBefore"],
        "labels": known["Labels"],
        "creator": known["Creator"] or None,
        "closer": known["Closer"] or None,
        "responders": [
            {
                "person_id": person["PersonID"],
                "person_name": person["PersonName"],
                "email": person["Email"],
                "assigned_at": person["AssignedAt"],
                "acknowledged_at": person["AcknowledgedAt"],
            }
            for person in known["Responders"]
        ],
        "channel_id": str(incident.channel.public_id),
        "channel_name": known["ChannelName"],
        "detail_url": known["DetailUrl"],
        "group_method": known["GroupMethod"],
        "alert_cnt": known["AlertCnt"],
        "alerts": [
            {name: alert[key] for key, name in _ALERT_FIELDS.items()} for alert in known["Alerts"]
        ],
        "images": [
            {"src": image["Src"], "alt": image["Alt"], "href": image["Href"]}
            for image in known["Images"]
        ],
    }
