"""The body of a custom action that sends "the incident as JSON": the knowledge base's custom
action event (``event_type`` ``i_custom``, ``event_id``, ``event_time`` in milliseconds,
``event_detail``, ``person``, ``incident``). The incident is the one webhook events carry
(``oncall.webhooks.payload.incident_body``): a receiver of both reads one shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oncall.models import Alert, CustomAction, Incident
from oncall.webhooks import payload

EVENT_TYPE = "i_custom"


def body(
    action: CustomAction,
    incident: Incident,
    user: Any,
    message_id: str,
    at: datetime,
    alerts: list[Alert] | None = None,
) -> str:
    """The event as JSON text (the bytes that are signed and sent); ``alerts``: the
    incident's, when the caller has them (the sample incident's), else its latest are read."""
    if alerts is None:
        alerts = payload.latest_alerts({incident.pk}).get(incident.pk, [])
    event = {
        "event_id": message_id,
        "event_type": EVENT_TYPE,
        "event_time": payload.milliseconds(at),
        "event_detail": {
            "integration_id": str(action.public_id),
            "integration_name": action.name,
        },
        "person": payload.person(user),
        "incident": payload.incident_body(incident, alerts),
    }
    return payload.encode(event)
