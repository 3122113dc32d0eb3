"""The responder's channels (``/channels/``): the channels they belong to, how many incidents
each has open, and (``/channels/<id>/``) one channel's open incidents, people and escalation
rules at a glance. Read-only: configuration stays in the admin, linked for staff.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from oncall.changes import channel_changes
from oncall.incident_list import (
    IncidentFilterForm,
    incident_list,
    incident_row,
    state_conditions,
)
from oncall.models import Channel, EscalationLevel, EscalationRule, Incident
from oncall.noise.maintenance import announced
from oncall.permissions import channel_member, visible_channels
from oncall.platforms import prefetch_rules, rule_facts

OPEN_INCIDENTS_SHOWN = 20
RECENT_CHANGES_SHOWN = 5


def _open_counts(channels: QuerySet[Channel]) -> dict[int, dict[str, int]]:
    """Per channel id: its triggered, claimed and snoozed incidents (one grouped query)."""
    conditions = state_conditions(timezone.now())
    rows = (
        Incident.objects.filter(channel__in=channels.values("pk"))
        .exclude(conditions["closed"])
        .order_by()
        .values("channel_id")
        .annotate(
            **{
                name: Count("pk", filter=conditions[name])
                for name in ("triggered", "claimed", "snoozed")
            }
        )
    )
    return {row.pop("channel_id"): row for row in rows}


@login_required
@require_GET
def channel_index(request: HttpRequest) -> HttpResponse:
    channels = visible_channels(request.user)
    counts = _open_counts(channels)
    empty = {"triggered": 0, "claimed": 0, "snoozed": 0}
    rows = []
    for channel in channels.order_by("name"):
        row = counts.get(channel.pk, empty)
        rows.append({"channel": channel, **row, "open": sum(row.values())})
    return render(request, "oncall/channel_list.html", {"rows": rows})


@login_required
@require_GET
def channel_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    channel = get_object_or_404(visible_channels(request.user), public_id=public_id)
    now = timezone.now()
    # The incident list's own query, order and counts, for this channel's open incidents.
    listed = incident_list(
        IncidentFilterForm({"channel": str(channel.public_id)}, request.user), now
    )
    levels = EscalationLevel.objects.prefetch_related("users", "schedules").order_by(
        "position", "pk"
    )
    rules = list(
        prefetch_rules(
            EscalationRule.objects.filter(channel=channel)
            .prefetch_related(Prefetch("levels", queryset=levels))
            .order_by("position", "pk")
        )
    )
    facts = rule_facts(rules)
    for rule in rules:
        rule.platform_facts = facts[rule.pk]
    user_model = get_user_model()
    people = (
        user_model.objects.filter(channel_member(channel.pk), is_active=True)
        .distinct()
        .order_by(user_model.USERNAME_FIELD)
    )
    context = {
        "channel": channel,
        "rows": [
            incident_row(incident, now) for incident in listed.incidents[:OPEN_INCIDENTS_SHOWN]
        ],
        "counts": listed.counts,
        "rules": rules,
        "people": people,
        "teams": channel.teams.order_by("name"),
        "recent_changes": channel_changes([channel.pk])[:RECENT_CHANGES_SHOWN],
        # Noise reduction: maintenance windows running or planned (``oncall.noise``).
        "maintenance_windows": list(announced(channel, now)),
    }
    return render(request, "oncall/channel_detail.html", context)
