"""The incident as templates see it: the knowledge base's variable names and types.

Times are Unix seconds (``StartTime``; ``date`` and ``ago`` format them), severities are
``Critical`` / ``Warning`` / ``Info`` (and ``Ok`` for a recovered status), ``Labels`` are the
first alert's labels as strings, ``Alerts`` the incident's first :data:`MAX_ALERTS` alerts
(``AlertCnt`` counts them all). ``root`` is the whole mapping, for the functions that take
Go's ``.`` (``joinAlertLabels(root, "resource", ", ")``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from oncall.links import incident_url
from oncall.models import Alert, Incident

#: Enough for any card; an incident of 5,000 alerts need not be copied into every render.
MAX_ALERTS = 100

_PROGRESS = {
    Incident.Status.TRIGGERED: "Triggered",
    Incident.Status.ACKNOWLEDGED: "Processing",
    Incident.Status.CLOSED: "Closed",
}

#: Every variable and its meaning, for the editor's help and the README (names as the
#: knowledge base's).
VARIABLES: dict[str, str | Promise] = {
    "ID": gettext_lazy("incident id (a UUID)"),
    "Num": gettext_lazy("incident number"),
    "Title": gettext_lazy("incident title"),
    "Description": gettext_lazy("the first alert's description"),
    "DetailUrl": gettext_lazy("the incident's page"),
    "IncidentSeverity": gettext_lazy("Critical / Warning / Info"),
    "IncidentStatus": gettext_lazy("Critical / Warning / Info, or Ok once closed"),
    "Progress": gettext_lazy("Triggered / Processing / Closed"),
    "StartTime": gettext_lazy("when it was triggered (Unix seconds)"),
    "LastTime": gettext_lazy("its latest alert event (Unix seconds)"),
    "EndTime": gettext_lazy("when it recovered (Unix seconds), 0 if it has not"),
    "SnoozedBefore": gettext_lazy("snoozed until (Unix seconds), 0 if not snoozed"),
    "AckTime": gettext_lazy("first claimed (Unix seconds), 0 if never"),
    "CloseTime": gettext_lazy("closed (Unix seconds), 0 if open"),
    "Creator": gettext_lazy(
        "who opened it by hand: person_id, person_name, email (empty for alerts)"
    ),
    "Closer": gettext_lazy(
        "who closed it: person_id, person_name, email (empty when it recovered)"
    ),
    "AssignedTo": gettext_lazy(
        "assignment: Type, EscalateRuleID, EscalateRuleName, LayerIdx, PersonIDs"
    ),
    "Responders": gettext_lazy("PersonID, PersonName, Email, AssignedAt, AcknowledgedAt of each"),
    "ChannelID": gettext_lazy("channel id"),
    "ChannelName": gettext_lazy("channel name"),
    "GroupMethod": gettext_lazy("n (one incident per alert) or p (grouped by labels)"),
    "Labels": gettext_lazy("the first alert's labels (a missing one is empty)"),
    "AlertCnt": gettext_lazy("number of alerts"),
    "Alerts": gettext_lazy(
        "the alerts: Title, Description, AlertSeverity, AlertStatus, StartTime, "
        "LastTime, EndTime, Labels"
    ),
    "Images": gettext_lazy("the first alert's images: Src, Alt, Href"),
    "FireType": gettext_lazy("fire (first notification) or refire (a repeat)"),
    "IsFlapping": gettext_lazy(
        "whether it is flapping now (one of its alerts keeps triggering and recovering)"
    ),
    "Impact": gettext_lazy("impact (after closing)"),
    "RootCause": gettext_lazy("root cause (after closing)"),
    "Resolution": gettext_lazy("resolution (after closing)"),
    "root": gettext_lazy("all of the above, for the functions that take Go's `.`"),
}


class LazyAlerts(Sequence[dict[str, Any]]):
    """The incident's first alerts as template values, read from the database only when a
    template uses them (most cards never do: they show the first alert, which the card has)."""

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self._items: list[dict[str, Any]] | None = None

    def _loaded(self) -> list[dict[str, Any]]:
        if self._items is None:
            if self.incident.pk is None:
                self._items = []
            else:
                rows = self.incident.alerts.order_by("first_seen", "id")[:MAX_ALERTS]
                self._items = [_alert(alert) for alert in rows]
        return self._items

    def __getitem__(self, index: Any) -> Any:
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._loaded())


def incident_context(
    incident: Incident,
    alerts: Sequence[Alert] | None = None,
    *,
    first: Alert | None = None,
    fire_type: str = "fire",
) -> dict[str, Any]:
    """The variables for ``incident``. ``alerts``: all of its alerts, if the caller has them;
    else ``first`` (the alert that opened it, if the caller has it) and the rest read when a
    template asks for them."""
    shown: Sequence[dict[str, Any]]
    if alerts is not None:
        ordered = sorted(alerts, key=lambda alert: (alert.first_seen, alert.pk or 0))
        first = ordered[0] if ordered else None
        shown = [_alert(alert) for alert in ordered[:MAX_ALERTS]]
    else:
        shown = LazyAlerts(incident)
        if first is None and incident.pk is not None:
            first = incident.alerts.order_by("first_seen", "id").first()
    context: dict[str, Any] = {
        "ID": str(incident.public_id),
        "Num": str(incident.number),
        "Title": incident.title,
        "Description": first.description if first else "",
        "DetailUrl": incident_url(incident),
        "IncidentSeverity": template_severity(incident.severity),
        "IncidentStatus": "Ok"
        if incident.status == Incident.Status.CLOSED
        else template_severity(incident.severity),
        "Progress": _PROGRESS.get(incident.status, incident.status),
        "StartTime": _seconds(incident.created_at),
        "LastTime": _seconds(incident.last_alert_at or incident.created_at),
        "EndTime": _seconds(incident.closed_at),
        "SnoozedBefore": _seconds(incident.snoozed_until),
        "AckTime": _seconds(incident.first_claimed_at),
        "CloseTime": _seconds(incident.closed_at),
        "Creator": _person(incident.created_by),
        "Closer": _person(incident.closed_by),
        "AssignedTo": _assignment(incident),
        "Responders": _responders(incident),
        "ChannelID": incident.channel_id,
        "ChannelName": incident.channel.name,
        "GroupMethod": "p" if incident.channel.group_by_labels else "n",
        "Labels": _labels(first.labels) if first else {},
        "AlertCnt": incident.alert_count or (len(alerts) if alerts is not None else 0),
        "Alerts": shown,
        "Images": _images(first.images) if first else [],
        "FireType": fire_type,
        "IsFlapping": incident.is_flapping,
        "Impact": "",
        "RootCause": "",
        "Resolution": "",
    }
    context["root"] = context
    return context


def template_severity(value: str) -> str:
    """``Critical`` / ``Warning`` / ``Info``, as the knowledge base names them, in whatever
    language the console speaks: templates compare and show this stable value (a severity's
    label is translated)."""
    return str(value).capitalize()


def _seconds(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment else 0


def _person(user: Any) -> dict[str, Any]:
    if user is None:
        return {}
    name = user.get_full_name() or user.get_username()
    return {"person_id": user.pk, "person_name": name, "email": user.email or ""}


def _assignment(incident: Incident) -> dict[str, Any]:
    rule = incident.escalation_rule
    return {
        "Type": "assign" if incident.assigned_to_id else "escalate",
        "EscalateRuleID": str(rule.public_id) if rule else "",
        "EscalateRuleName": rule.name if rule else "",
        "LayerIdx": max((incident.escalation_level or 1) - 1, 0),
        "PersonIDs": [incident.assigned_to_id] if incident.assigned_to_id else [],
    }


def _responders(incident: Incident) -> list[dict[str, Any]]:
    people = []
    if incident.assigned_to is not None:
        people.append((incident.assigned_to, incident.assigned_at))
    if incident.claimed_by is not None and incident.claimed_by_id != incident.assigned_to_id:
        people.append((incident.claimed_by, incident.claimed_at))
    return [
        {
            "PersonID": person.pk,
            "PersonName": person.get_full_name() or person.get_username(),
            "Email": person.email or "",
            "AssignedAt": _seconds(at or incident.created_at),
            "AcknowledgedAt": _seconds(incident.claimed_at)
            if person.pk == incident.claimed_by_id
            else 0,
        }
        for person, at in people
    ]


def _labels(labels: Any) -> dict[str, str]:
    if not isinstance(labels, dict):
        return {}
    return {
        str(key): value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for key, value in labels.items()
    }


def _alert(alert: Alert) -> dict[str, Any]:
    status = "Ok" if alert.status == Alert.Status.RESOLVED else template_severity(alert.severity)
    return {
        "Title": alert.title,
        "Description": alert.description,
        "AlertSeverity": template_severity(alert.severity),
        "AlertStatus": status,
        "StartTime": _seconds(alert.started),
        "LastTime": _seconds(alert.last_seen),
        "EndTime": _seconds(alert.resolved_at),
        "Labels": _labels(alert.labels),
    }


def _images(images: Any) -> list[dict[str, str]]:
    if not isinstance(images, list):
        return []
    return [
        {"Src": str(i.get("src", "")), "Alt": str(i.get("alt", "")), "Href": str(i.get("href", ""))}
        for i in images
        if isinstance(i, dict)
    ]
