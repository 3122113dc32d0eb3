"""Which template an incident's notifications use, and rendering that never loses one.

The incident's escalation rule may name a template; else its channel's; else the built-in
default of each medium. A custom template that fails when a notification is sent (an error, a
time-out, output past the limit) is replaced by the built-in default for that notification,
and the failure is recorded: on the template (last error, when, which incident, a count), once
on the incident's timeline (per template and incident, so a card refreshed twenty times says
it once), and in the ``oncall_template_failures`` counter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from oncall import metrics, timeline
from oncall.escalation_rules import rule_of
from oncall.models import EscalationRule, Incident, NotificationTemplate, TimelineEntry
from oncall.notify import context as context_module
from oncall.notify.engine import Medium, TemplateFailure, render
from oncall.notify.functions import functions
from oncall.timeline import Actor
from oncall.timeline_messages import phrase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    text: str
    # The custom template that failed (the built-in default was rendered instead), and why.
    failed: NotificationTemplate | None = None
    reason: str = ""


def template_for(incident: Incident) -> NotificationTemplate | None:
    """The rule's template, else the channel's, else None (the built-in defaults). Reads
    nothing more for an incident of a channel and rule without one."""
    rule = _rule(incident)
    if rule is not None and rule.notification_template_id:
        return rule.notification_template
    if incident.channel.notification_template_id:
        return incident.channel.notification_template
    return None


def _rule(incident: Incident) -> EscalationRule | None:
    """The incident's rule: the one it was read with, else its channel's kept copy for the
    channel's ``escalation_version`` (``oncall.escalation_rules``: no query while the rules
    stay as they are; every card render asks), kept on the incident for the next question."""
    if incident.escalation_rule_id is None:
        return None
    if not Incident.escalation_rule.is_cached(incident):
        incident.escalation_rule = rule_of(incident.channel, incident.escalation_rule_id)
    return incident.escalation_rule


def time_zone_for(incident: Incident) -> tzinfo:
    """The escalation rule's time zone (the one its days and hours are in), else the
    console's."""
    rule = _rule(incident)
    try:
        return ZoneInfo(rule.timezone if rule is not None else settings.TIME_ZONE)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def variables(
    incident: Incident,
    medium: Medium,
    *,
    alerts: list | None = None,
    first: Any = None,
    now: datetime | None = None,
    upload: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The context one render sees: the incident's variables and the functions."""
    data = context_module.incident_context(incident, alerts, first=first)
    tz = time_zone_for(incident)
    return {**data, **functions(tz=tz, now=now or timezone.now(), upload=upload)}


def render_for(
    incident: Incident,
    medium: Medium,
    *,
    alerts: list | None = None,
    first: Any = None,
    now: datetime | None = None,
    upload: Callable[[str], str] | None = None,
    record: bool = True,
) -> Rendered:
    """The incident's notification text for ``medium``, from its template or the default.
    ``record=False``: a failure is not recorded again (a second pass of the same render, once
    its images are uploaded)."""
    template = template_for(incident)
    data = variables(incident, medium, alerts=alerts, first=first, now=now, upload=upload)
    body = template.bodies.get(medium.name) if template is not None else None
    if body:
        try:
            # Past the medium's limit is a failure (the default is sent); within it, the
            # platform fits the text to its message, cutting visibly.
            return Rendered(render(body, data, medium, cut=False))
        except TemplateFailure as failure:
            if record:
                record_failure(template, incident, medium, str(failure))
            return Rendered(render(medium.default, data, medium), template, str(failure))
    return Rendered(render(medium.default, data, medium))


def record_failure(
    template: NotificationTemplate, incident: Incident, medium: Medium, reason: str
) -> None:
    """Say, once per template and incident, that the default was sent instead, and why."""
    metrics.template_failed(medium.name)
    logger.warning(
        "template %s failed for incident %s (%s): %s",
        template.pk,
        incident.pk,
        medium.name,
        reason,
    )
    with transaction.atomic():
        NotificationTemplate.objects.filter(pk=template.pk).update(
            last_error=f"{medium.label}: {reason}"[:2000],
            last_error_at=timezone.now(),
            last_error_incident=incident,
            error_count=F("error_count") + 1,
        )
        already = TimelineEntry.objects.filter(
            incident=incident,
            kind=TimelineEntry.Kind.TEMPLATE_FAILED,
            data__template=str(template.public_id),
        ).exists()
        if not already:
            # Built like every entry (``timeline.build``), saved without announcing a change:
            # the announcement would refresh every card, which would render this again.
            timeline.build(
                incident,
                TimelineEntry.Kind.TEMPLATE_FAILED,
                Actor.system(),
                phrase("template_failed", template=repr(template.name), reason=reason),
                data={"template": str(template.public_id), "medium": medium.name},
            ).save()
