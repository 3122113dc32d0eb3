"""Which escalation rule escalates an incident: its channel's first enabled rule, by position,
whose conditions hold."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from oncall.matchers import subject_of
from oncall.models import EscalationRule, Incident


def rule_for(incident: Incident, at: datetime | None = None) -> EscalationRule | None:
    """The rule that escalates ``incident`` at ``at`` (default: now); None when none matches.

    Matchers see the incident's first alert, as routing saw it when it arrived, except for the
    severity, which is the incident's (its worst alert's): ``severity`` matchers and the
    rule's severities then agree.
    """
    at = at or timezone.now()
    subject = incident_subject(incident)
    rules = EscalationRule.objects.filter(channel_id=incident.channel_id, enabled=True).order_by(
        "position", "id"
    )
    return next((rule for rule in rules if rule.matches(incident.severity, subject, at)), None)


def incident_subject(incident: Incident) -> dict[str, str]:
    """The mapping an escalation rule's matchers look values up in (see ``subject_of``)."""
    first = incident.alerts.order_by("first_seen", "id").first()
    if first is None:  # not possible through ingestion; an incident is born with its alert
        return subject_of(
            title=incident.title,
            description="",
            severity=incident.severity,
            alert_key="",
            labels={},
        )
    return subject_of(
        title=first.title,
        description=first.description,
        severity=incident.severity,
        alert_key=first.alert_key,
        labels=first.labels,
    )
